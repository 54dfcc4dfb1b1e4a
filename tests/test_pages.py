"""The Gradio pages mounted after start-up (web/late_pages.py): until they are, "/" and
"/insights" say "starting" and reload themselves while the API answers; then the page
itself is served. Mounting is held on an event, so each state is seen for sure."""
from __future__ import annotations

import threading

import httpx
import pytest
from servers import asgi_server, eventually

pytestmark = pytest.mark.slow  # imports gradio


def _app_with_late_pages(mount):
    from fastapi import FastAPI

    from assistant.web.late_pages import LatePages

    app = FastAPI()

    @app.get("/api/ping")
    def ping():
        return {"pong": True}

    return app, LatePages(app, mount)


def test_the_pages_say_starting_until_mounted_while_the_api_answers():
    import gradio as gr

    release = threading.Event()

    def mount(app) -> None:
        release.wait(120)
        with gr.Blocks() as demo:
            gr.Markdown("Mounted after start-up")
        gr.mount_gradio_app(app, demo, path="/", ssr_mode=False)

    app, late = _app_with_late_pages(mount)
    with asgi_server(app) as base:
        for path in ("/", "/insights"):
            starting = httpx.get(base + path)
            assert starting.status_code == 503 and starting.headers["retry-after"] == "1"
            assert '<meta http-equiv="refresh"' in starting.text and "reloads by itself" in starting.text
        assert httpx.get(base + "/api/ping").json() == {"pong": True}
        assert late.state == "loading"

        release.set()
        assert eventually(lambda: late.state != "loading", timeout=120)
        assert late.state == "ready"
        page = httpx.get(base + "/")
        assert page.status_code == 200 and "Mounted after start-up" in page.text


def test_pages_that_fail_to_load_leave_the_starting_page_and_the_api_serving():
    def mount(app) -> None:
        raise RuntimeError("gradio is broken here")

    app, late = _app_with_late_pages(mount)
    with asgi_server(app) as base:
        assert eventually(lambda: late.state != "loading", timeout=60)
        assert late.state == "failed"
        assert httpx.get(base + "/").status_code == 503
        assert httpx.get(base + "/api/ping").json() == {"pong": True}
