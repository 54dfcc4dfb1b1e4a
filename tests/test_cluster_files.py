"""The files a deployment copies: deploy/compose.yaml is what the local cluster's settings
generate (no drift between what is checked here and what is deployed there), and the
nginx configurations generated from deploy/nginx.conf are valid to nginx itself."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from servers import PROJECT, free_port, missing

from deploy import cluster, compose, processes, proxy, topology

# nginx variables that would put a reader's address or question in a log line
IDENTIFYING = ("$remote_addr", "$binary_remote_addr", "$http_x_forwarded_for", "$proxy_add_x_forwarded_for",
               "$request ", "$request_uri", "$args", "$query_string", "$arg_", "$http_referer", "$realip_remote_addr")


def test_the_compose_file_is_the_one_the_cluster_settings_generate():
    shipped = (PROJECT / "deploy" / "compose.yaml").read_text()
    assert shipped == compose.render(), "regenerate: python -m deploy.cluster compose > deploy/compose.yaml"


def test_compose_replicas_run_with_the_local_clusters_settings_and_the_tested_proxy_recipe():
    services = yaml.safe_load((PROJECT / "deploy" / "compose.yaml").read_text())
    local = topology.replica_settings("postgresql://x", "redis://x", "/x", "127.0.0.1")
    for name in topology.REPLICAS:
        replica = services["services"][f"replica-{name}"]
        assert replica["command"] == ["assistant", "serve", "--replica"]
        assert set(local) <= set(replica["environment"])
        assert replica["environment"]["ASSISTANT_TRUSTED_PROXIES"] == \
            services["services"]["nginx"]["networks"]["default"]["ipv4_address"]  # nginx's own address, no other
    nginx = services["configs"]["assistant"]["content"].replace("$$", "$")
    assert nginx == proxy.site([f"replica-{name}:7860" for name in topology.REPLICAS])


@pytest.mark.skipif(not Path(cluster.NGINX).exists(), reason=missing("nginx", "nginx"))
def test_nginx_accepts_the_local_clusters_configuration(tmp_path):
    (tmp_path / "assistant.conf").write_text(proxy.local_site(["127.0.0.1:7861", "127.0.0.1:7862"], 8080, tmp_path))
    (tmp_path / "nginx.conf").write_text(proxy.main_config(tmp_path, tmp_path / "assistant.conf"))
    done = subprocess.run([cluster.NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    site = (tmp_path / "assistant.conf").read_text()
    assert site.count("server 127.0.0.1:7861;") == 2 and "ssl" not in site and "hash $remote_addr consistent;" in site


def test_the_nginx_recipe_logs_neither_the_readers_address_nor_the_question():
    recipe = (PROJECT / "deploy" / "nginx.conf").read_text()
    formats = re.findall(r"^log_format (\w+) '([^']*)';", recipe, re.MULTILINE)
    assert [name for name, _ in formats] == ["article_assistant"]
    assert not [variable for variable in IDENTIFYING if variable in formats[0][1] + " "]
    servers = recipe.split("\nserver {")[1:]
    assert len(servers) == 2
    for server in servers:  # each server logs in that format, and fails quietly (nginx's error lines name both)
        assert "    access_log /var/log/nginx/access.log article_assistant;\n" in server
        assert "    error_log /var/log/nginx/error.log crit;\n" in server


@pytest.mark.skipif(not Path(cluster.NGINX).exists(), reason=missing("nginx", "nginx"))
def test_a_question_through_the_local_clusters_nginx_leaves_no_question_and_no_address_in_its_logs(tmp_path):
    # the cluster's own way of starting nginx, in front of a replica that is down (nginx answers 502)
    local = cluster.LocalCluster(root=tmp_path, corpus=tmp_path, proxy_port=free_port(), postgres_port=0,
                                 redis_port=0, token="t", replicas={"a": cluster.Replica(free_port())})
    local.start_proxy()
    try:
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.3.9"), timeout=30) as reader:
            answered = reader.get(f"{local.url}/api/ask", params={"q": "is my zentrafol rash contagious"})
    finally:
        processes.stop(local.proxy_pid())
    assert answered.status_code == 502
    access = (tmp_path / "nginx" / "access.log").read_text()
    assert " GET /api/ask 502 " in access
    for log in ("access.log", "error.log"):
        text = (tmp_path / "nginx" / log).read_text()
        assert "zentrafol" not in text and "127.0.3.9" not in text, log
        assert (tmp_path / "nginx" / log).stat().st_mode & 0o777 == 0o600


def test_compose_redis_needs_a_password_that_is_on_no_command_line():
    services = yaml.safe_load((PROJECT / "deploy" / "compose.yaml").read_text())["services"]
    redis = services["redis"]
    assert redis["environment"] == {"REDIS_PASSWORD": "${REDIS_PASSWORD:?}"}
    assert redis["command"][:2] == ["sh", "-c"] and redis["command"][2].startswith("exec redis-server - ")
    assert "\nrequirepass $$REDIS_PASSWORD\n" in redis["command"][2]  # the configuration on its standard input
    assert "--requirepass" not in " ".join(redis["command"])
    for name in topology.REPLICAS:
        assert services[f"replica-{name}"]["environment"]["ASSISTANT_RATE_LIMIT_STORAGE"] == \
            "redis://:${REDIS_PASSWORD}@redis:6379/0"
