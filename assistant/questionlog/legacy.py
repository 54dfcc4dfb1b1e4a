"""The feedback.jsonl of the days before the question log: its thumbs moved into the log
once, then the file renamed to feedback.jsonl.imported. Its text is cleaned as live input
is (printable, masked); a line that can't be read is skipped."""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from pathlib import Path

from assistant.questionlog.feedback import MAX_COMMENT_CHARS
from assistant.questionlog.privacy import masked
from assistant.questionlog.store import timestamp
from assistant.text.cleaning import printable

log = logging.getLogger("assistant.questionlog")


def import_legacy(store, source: Path | None) -> None:
    """Move thumbs from the old feedback.jsonl (`source`) into the log `store` (ids derived from each
    line, so an import interrupted before the rename is not repeated)."""
    if source is None or not source.is_file():
        return
    rows = []
    for line in source.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
            moment = datetime.fromisoformat(entry["time"])
            helpful, ids = int(bool(entry["helpful"])), [str(i) for i in entry.get("passage_ids") or []]
            # cleaned as live input is: a NUL or a lone surrogate from the old file must not reach the store
            question, comment = masked(printable(entry["question"])[:1000]), masked(printable(entry.get("comment") or ""))
            rows.append((uuid.uuid5(uuid.NAMESPACE_URL, line).hex, timestamp(moment), question, int(bool(ids)), json.dumps(ids),
                         None, "chat", helpful, comment[:MAX_COMMENT_CHARS], timestamp(moment)))
        except (ValueError, KeyError, TypeError):
            continue
    store.import_rows(rows)
    source.rename(source.with_name(source.name + ".imported"))
    log.info("question log: imported %d feedback entries from %s", len(rows), source)
