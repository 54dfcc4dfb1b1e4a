"""The files a deployment copies: deploy/compose.yaml is what the local cluster's settings
generate (no drift between what is checked here and what is deployed there), and the
nginx configurations generated from deploy/nginx.conf are valid to nginx itself."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from servers import PROJECT, missing

from deploy import cluster, compose, proxy, topology


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
    (tmp_path / "assistant.conf").write_text(proxy.local_site(["127.0.0.1:7861", "127.0.0.1:7862"], 8080))
    (tmp_path / "nginx.conf").write_text(proxy.main_config(tmp_path, tmp_path / "assistant.conf"))
    done = subprocess.run([cluster.NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    site = (tmp_path / "assistant.conf").read_text()
    assert site.count("server 127.0.0.1:7861;") == 2 and "ssl" not in site and "hash $remote_addr consistent;" in site
