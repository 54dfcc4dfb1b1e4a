"""An extractive question-answering assistant over blog articles.

`from assistant import Assistant` is cheap: the model, torch and FAISS load only
when an Assistant is loaded.
"""
from __future__ import annotations

__all__ = ["Assistant", "Answer", "Citation", "Settings"]


def __getattr__(name: str):
    if name == "Assistant":
        from assistant.engine.assistant import Assistant

        return Assistant
    if name in ("Answer", "Citation"):
        from assistant import records

        return getattr(records, name)
    if name == "Settings":
        from assistant.settings import Settings

        return Settings
    raise AttributeError(name)
