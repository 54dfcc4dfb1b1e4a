"""Reader feedback (thumbs up/down) -> an append-only JSONL file. Stores the question,
the verdict and the cited passage ids with a timestamp; never who gave it (no IP,
cookie or user id). A failure to write is logged and swallowed: feedback must
never break the chat.
"""
from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)
_lock = threading.Lock()


def record(path: Path, question: str, helpful: bool, passage_ids: list[str], comment: str = "") -> bool:
    entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "question": question[:1000],
             "helpful": helpful, "passage_ids": passage_ids, "comment": comment[:500]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _lock, open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return True
    except OSError as exc:
        log.warning("feedback not recorded: %s", exc)
        return False
