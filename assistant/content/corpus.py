"""The corpus folder -> Documents: finds article files, reads their metadata, picks
the format loader. Knows nothing about passages, vectors or indexes.

Metadata: Markdown front matter (`title`, `url`), or for any file a sidecar
`NAME.meta.json` beside `NAME.txt|md|html` with `title`, `url`, `updated`.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import urlsplit

from assistant.content.passages import slugify
from assistant.errors import CorpusError
from assistant.records import Document, Parsed

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")


def article_files(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist; set --corpus or ASSISTANT_CORPUS_DIR")
    return sorted(
        p for p in corpus_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def _sidecar(path: Path) -> Path:
    return path.with_name(path.stem + ".meta.json")


def fingerprint(corpus_dir: Path) -> str:
    """A hash of every article file and sidecar: equal fingerprints mean nothing changed."""
    digest = hashlib.sha256()
    for path in article_files(corpus_dir):
        for part in (path, _sidecar(path)):
            if part.is_file():
                digest.update(str(part.relative_to(corpus_dir)).encode())
                digest.update(hashlib.sha256(part.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _parse(path: Path, raw: str) -> Parsed:
    suffix = path.suffix.lower()
    if suffix == ".txt":
        from assistant.content.plaintext import parse_text

        return parse_text(raw)
    from assistant.content.markup import parse_html, parse_markdown

    return parse_markdown(raw) if suffix in (".md", ".markdown") else parse_html(raw)


def _metadata(path: Path) -> dict:
    sidecar = _sidecar(path)
    if not sidecar.is_file():
        return {}
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{sidecar}: not valid JSON ({exc})") from None
    return meta if isinstance(meta, dict) else {}


def source_url(url: str, path: Path) -> str:
    """An article's URL as given, once it is absolute http(s) with a host: citations link
    to it, so "//evil.example", "javascript:…" or a path would send readers elsewhere.
    "" (no URL) is fine: citations then link to the article page the server serves."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host or url != url.strip() \
            or any(c.isspace() or c == "\\" or ord(c) < 0x20 for c in url):
        raise CorpusError(f"{path}: url {url[:100]!r} is not an absolute http(s) URL with a host "
                          "(like https://blog.example/post); fix it or remove it")
    return url


def load_document(path: Path, corpus_dir: Path) -> Document | None:
    """One article file as a Document; None for a file that is not text (binary, empty)."""
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        return None
    raw = data.decode("utf-8-sig", errors="replace")
    parsed = _parse(path, raw)
    if not parsed.blocks:
        return None
    meta = _metadata(path)
    relative = path.relative_to(corpus_dir).with_suffix("")
    return Document(
        slug=slugify("-".join(relative.parts)),
        source=str(path.relative_to(corpus_dir)),
        title=str(meta.get("title") or parsed.title or relative.name),
        url=source_url(str(meta.get("url") or parsed.url or ""), path),
        text=parsed.text,
        blocks=parsed.blocks,
    )


def load_corpus(corpus_dir: Path) -> tuple[list[Document], list[str]]:
    """All documents in the folder, and the files skipped as unreadable or empty."""
    documents, skipped = [], []
    for path in article_files(corpus_dir):
        doc = load_document(path, corpus_dir)
        if doc is None:
            skipped.append(str(path.relative_to(corpus_dir)))
        else:
            documents.append(doc)
    if not documents:
        raise CorpusError(f"no articles in {corpus_dir}: add .txt, .md or .html files")
    return documents, skipped
