"""The web app: FastAPI routers, the Gradio chat and dashboard pages, the widget, hardening and
start-up. Handlers translate HTTP to engine calls and back; no retrieval lives here."""
