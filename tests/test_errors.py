"""Every error the app answers has one shape, {"error", "code"}, and the CORS grant of a
success for an allowed origin: checked on harden() around a tiny app under a real
uvicorn on loopback (no model needed), where a handler can be made to fail."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import httpx
import pytest
from servers import PROJECT, asgi_server

from assistant.settings import Settings

BLOG = "https://blog.example"


@pytest.fixture(scope="module")
def base():
    from fastapi import FastAPI, HTTPException

    from assistant.http.error_bodies import error_response, install
    from assistant.web.hardening import harden

    app = FastAPI()
    install(app)

    @app.get("/boom")
    def boom():
        raise RuntimeError("a bug with a secret path /srv/secret in its message")

    @app.get("/gone")
    def gone():
        raise HTTPException(404, "no such thing")

    @app.get("/busy")
    def busy():
        return error_response(503, "The index is being rebuilt; try again in a moment.")

    def fails(request):
        raise KeyError(999)  # as Gradio's own app does for an unknown event

    from starlette.applications import Starlette
    from starlette.routing import Route

    app.mount("/sub", Starlette(routes=[Route("/fails", fails)]))  # answers a plain-text 500, then re-raises

    with asgi_server(harden(app, Settings(allowed_origins=(BLOG,)))) as url:
        yield url


def test_an_unexpected_exception_is_a_500_in_our_shape_with_cors_and_no_detail(base, caplog):
    with caplog.at_level(logging.ERROR, logger="assistant.web"):
        response = httpx.get(f"{base}/boom", headers={"Origin": BLOG})
    assert response.status_code == 500
    assert response.json() == {"error": "Something went wrong on our side; please try again.", "code": "internal"}
    assert response.headers["access-control-allow-origin"] == BLOG
    assert "secret" not in response.text
    assert [r.getMessage() for r in caplog.records] == ["unhandled error on GET /boom"]  # the traceback is logged, once


def test_a_mounted_apps_plain_500_is_replaced_by_ours_and_logged_once(base, caplog):
    with caplog.at_level(logging.ERROR):
        response = httpx.get(f"{base}/sub/fails", headers={"Origin": BLOG})
    assert response.status_code == 500 and response.json()["code"] == "internal"
    assert response.headers["access-control-allow-origin"] == BLOG
    assert [r.getMessage() for r in caplog.records if r.exc_info] == ["unhandled error on GET /sub/fails"]


@pytest.mark.parametrize(("path", "status", "code"), [("/gone", 404, "not_found"), ("/busy", 503, "unavailable")])
def test_other_errors_carry_the_same_shape_and_cors(base, path, status, code):
    response = httpx.get(base + path, headers={"Origin": BLOG})
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.headers["access-control-allow-origin"] == BLOG


def test_another_origin_gets_the_error_without_a_grant(base):
    response = httpx.get(f"{base}/boom", headers={"Origin": "https://evil.example"})
    assert response.status_code == 500 and "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(("setting", "value"), [("ASSISTANT_TRUSTED_PROXIES", "my-proxy"),
                                                ("ASSISTANT_FEEDBACK_RATE_LIMIT", "lots"),
                                                ("ASSISTANT_RATE_LIMIT", "30/fortnight"),
                                                ("ASSISTANT_RATE_LIMIT_STORAGE", "ftp://limits.example")])
def test_a_mistyped_limit_stops_the_server_with_one_line(setting, value, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")} | {
        setting: value, "ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, str(PROJECT / "app.py")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().startswith(f"error: {setting}: ") and "\n" not in done.stderr.strip()
