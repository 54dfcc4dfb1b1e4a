"""nginx configurations generated from the tested recipe, deploy/nginx.conf: the same
file with its one upstream server replaced by the replicas, for the local cluster (plain
HTTP on loopback) and for the compose file (TLS as shipped). Each replacement checks its
text is in the recipe, so a changed recipe fails here rather than generating nonsense."""
from __future__ import annotations

from pathlib import Path

RECIPE = Path(__file__).with_name("nginx.conf")
SERVER = "    server 127.0.0.1:7860;\n"
ACCESS_LOG = "/var/log/nginx/access.log"
ERROR_LOG = "/var/log/nginx/error.log"


def site(replicas: list[str], recipe: str | None = None) -> str:
    """The recipe with every upstream (the API's and the sticky pages') naming `replicas` (host:port)."""
    recipe = recipe if recipe is not None else RECIPE.read_text()
    servers = "".join(f"    server {replica};\n" for replica in replicas)
    return _replaced(recipe, {SERVER: servers})


def local_site(replicas: list[str], port: int, logs: Path) -> str:
    """The recipe on plain HTTP at 127.0.0.1:`port` (no TLS, no redirect from port 80), with
    an X-Served-By header naming the replica that answered, so the cluster check (and you,
    with curl -i) can see the load spread and the fail-over; its logs (as the recipe keeps
    them: no address, no query string) in the folder `logs`."""
    recipe = _replaced(site(replicas), {f"access_log {ACCESS_LOG} ": f"access_log {logs / 'access.log'} ",
                                        f"error_log {ERROR_LOG} ": f"error_log {logs / 'error.log'} "})
    redirect = recipe[recipe.index("server {\n    listen 80;"):recipe.index("server {\n    listen 443 ssl;")]
    return _replaced(recipe, {
        redirect: "",
        "listen 443 ssl;": f"listen 127.0.0.1:{port};",
        "    ssl_certificate     /etc/letsencrypt/live/assistant.example.org/fullchain.pem;\n": "",
        "    ssl_certificate_key /etc/letsencrypt/live/assistant.example.org/privkey.pem;\n": "",
        "    location / {": "    add_header X-Served-By $upstream_addr always;\n\n    location / {",
    })


def main_config(root: Path, site_file: Path) -> str:
    """A whole nginx.conf that runs unprivileged paths under `root` and includes `site_file`
    (whose server logs in the recipe's format; nothing else is logged per request)."""
    temp = "".join(f"    {kind}_temp_path {root / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"worker_processes 2;\npid {root / 'nginx.pid'};\nerror_log {root / 'error.log'};\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{\n    access_log off;\n{temp}    include {site_file};\n}}\n")


def _replaced(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        if old not in text:
            raise ValueError(f"deploy/nginx.conf no longer contains {old.strip()!r}: update deploy/proxy.py")
        text = text.replace(old, new)
    return text
