"""The Gradio pages mounted on the app: the owner's dashboard at /insights (mounted first)
and the chat at "/", each queued with Gradio's extras we don't use turned off."""
from __future__ import annotations

from assistant.settings import Settings

# nothing of Gradio's that we don't use
CLOSED = {"ssr_mode": False, "footer_links": [], "run_history": False, "enable_monitoring": False,
          "mcp_server": False, "pwa": False, "max_file_size": 1}
# The system's sans-serif, as the widget uses: the default theme's Source Sans Pro ships only
# weights 400 and 600, so a bold heading mixed it with a synthesised fallback ("Ask" with
# an "A" of another font, docs/ui-*.png before 2026-12-06).
FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif")
MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")


def mount_pages(app, settings: Settings, live, questions, counters, pages: dict) -> None:
    """Mount both pages on `app` and note them in `pages` (mount -> Blocks), the dict the
    hardening's GradioEvents reads."""
    import gradio as gr

    theme = gr.themes.Default(font=FONTS, font_mono=MONO)  # plain names: no web font is loaded
    from assistant.web.chat import CSS as CHAT_CSS
    from assistant.web.chat import HEAD as CHAT_HEAD
    from assistant.web.chat import chat_ui
    from assistant.web.dashboard import CSS as INSIGHTS_CSS
    from assistant.web.dashboard import insights_ui

    dashboard = insights_ui(settings, lambda texts: live.current.embedder.encode(texts), questions,
                            lambda: live.current.index.passages)
    dashboard.queue(max_size=16, api_open=False, default_concurrency_limit=1)
    gr.mount_gradio_app(app, dashboard, path="/insights", css=INSIGHTS_CSS, theme=theme, **CLOSED)  # before "/"
    demo = chat_ui(live, settings, questions, counters)
    demo.queue(max_size=64, api_open=False, default_concurrency_limit=4)
    gr.mount_gradio_app(app, demo, path="/", css=CHAT_CSS, head=CHAT_HEAD, theme=theme, **CLOSED)
    pages.update({"/": demo, "/insights": dashboard})
