"""One frozen Settings record: flags fall back to ASSISTANT_* variables, which fall
back to defaults that work from a checkout (the project's corpus/ and index/)."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from .embed import DEFAULT_MODEL

PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = PROJECT_DIR / "corpus"
    index_dir: Path = PROJECT_DIR / "index"
    model: str = DEFAULT_MODEL
    top_k: int = 3
    max_question_chars: int = 1000
    host: str = "127.0.0.1"
    port: int = 7860

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Defaults, then ASSISTANT_* environment variables, then non-None overrides."""
        env = os.environ
        settings = cls()
        from_env = {
            "corpus_dir": Path(env["ASSISTANT_CORPUS_DIR"]) if env.get("ASSISTANT_CORPUS_DIR") else None,
            "index_dir": Path(env["ASSISTANT_INDEX_DIR"]) if env.get("ASSISTANT_INDEX_DIR") else None,
            "model": env.get("ASSISTANT_MODEL") or None,
            "host": env.get("ASSISTANT_HOST") or None,
            "port": int(env["ASSISTANT_PORT"]) if env.get("ASSISTANT_PORT", "").isdigit() else None,
        }
        chosen = {k: v for k, v in {**from_env, **overrides}.items() if v is not None}
        for key in ("corpus_dir", "index_dir"):
            if key in chosen:
                chosen[key] = Path(chosen[key])
        return replace(settings, **chosen)
