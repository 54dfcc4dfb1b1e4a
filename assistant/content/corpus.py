"""The corpus folder -> Documents: finds article files, reads their metadata, picks
the format loader. Knows nothing about passages, vectors or indexes.

Metadata: Markdown front matter (`title`, `url`), or for any file a sidecar
`NAME.meta.json` beside `NAME.txt|md|html` with `title`, `url`, `updated`; the sidecar
wins. Either may keep a post out until it is public (`draft`, `published`, `date`: see
publishing.py), and so may front matter that is not valid YAML, since it might say
`draft: true`.
"""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from assistant.content.passages import slugify
from assistant.content.publishing import publication_date, withheld
from assistant.errors import CorpusError
from assistant.records import Document, Parsed, Skipped

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MARKDOWN = (".md", ".markdown")
# Part of every fingerprint: an index built before drafts and scheduled posts were left out
# (with them in it) no longer matches, so the next build takes them out.
_RULES = b"drafts and scheduled posts withheld"


def article_files(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist; set --corpus or ASSISTANT_CORPUS_DIR")
    return sorted(
        p for p in corpus_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def _sidecar(path: Path) -> Path:
    return path.with_name(path.stem + ".meta.json")


def fingerprint(corpus_dir: Path, now: datetime | None = None) -> str:
    """A hash of every article file and sidecar, and of which posts still wait for their
    date: equal fingerprints mean nothing changed, and a scheduled post coming due is a change."""
    now = now or datetime.now(UTC)
    digest = hashlib.sha256(_RULES)
    for path in article_files(corpus_dir):
        contents = {}
        for part in (path, _sidecar(path)):
            if part.is_file():
                contents[part] = part.read_bytes()
                digest.update(str(part.relative_to(corpus_dir)).encode())
                digest.update(hashlib.sha256(contents[part]).digest())
        due = _date_of(path, contents)
        if due is not None and due > now:
            digest.update(b"scheduled")
    return digest.hexdigest()[:16]


def _date_of(path: Path, contents: dict[Path, bytes]) -> datetime | None:
    """A post's `date`, read from the bytes at hand; only files that mention one are parsed,
    and a file the loader would reject counts as undated here (the loader says why)."""
    meta: dict = {}
    data = contents.get(path, b"")
    if path.suffix.lower() in MARKDOWN and data.lstrip(b"\xef\xbb\xbf").startswith(b"---") and b"date" in data:
        from assistant.content.markup import split_front_matter

        meta.update(split_front_matter(data.decode("utf-8-sig", errors="replace"))[0].values)
    sidecar = contents.get(_sidecar(path), b"")
    if b"date" in sidecar:
        try:
            values = json.loads(sidecar)
        except ValueError:
            values = None
        meta.update(values if isinstance(values, dict) else {})
    return publication_date(meta)


def _parse(path: Path, raw: str) -> Parsed:
    suffix = path.suffix.lower()
    if suffix == ".txt":
        from assistant.content.plaintext import parse_text

        return parse_text(raw)
    from assistant.content.markup import parse_html, parse_markdown

    return parse_markdown(raw) if suffix in MARKDOWN else parse_html(raw)


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


def web_url(url: str, base: str = "") -> str:
    """`url` resolved against the page it was found on (`base`), if that is a URL source_url
    accepts; "" for anything else (javascript:, data:, a path with no page to resolve it on)."""
    url = url.strip()
    if not url:
        return ""
    try:
        return source_url(urljoin(base, url) if base else url, Path("-"))
    except (CorpusError, ValueError):
        return ""


def read_article(path: Path, corpus_dir: Path, now: datetime) -> Document | Skipped:
    """One article file as a Document, or why it is left out: not text (binary, empty), not
    public yet at `now`, front matter that can't be read (it might have said `draft: true`),
    or a URL citations can't link to."""
    source = str(path.relative_to(corpus_dir))
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        return Skipped(source, "unreadable", "not a readable article")
    raw = data.decode("utf-8-sig", errors="replace")
    parsed = _parse(path, raw)
    if parsed.front_matter.problem:
        return Skipped(source, "front matter", f"{parsed.front_matter.problem}; skipped, as it might say "
                       "draft: true (fix it to publish the post)", parsed.front_matter.line)
    meta = {**parsed.front_matter.values, **_metadata(path)}
    unpublished = withheld(meta, now, source)
    if unpublished:
        return unpublished
    if not parsed.blocks:
        return Skipped(source, "unreadable", "not a readable article")
    try:
        url = source_url(str(meta.get("url") or parsed.url or ""), Path(source))
    except CorpusError as exc:  # one bad article is left out, not every build stopped
        return Skipped(source, "url", f"{str(exc).removeprefix(f'{source}: ')}; skipped until then")
    relative = path.relative_to(corpus_dir).with_suffix("")
    return Document(
        slug=slugify("-".join(relative.parts)),
        source=source,
        title=str(meta.get("title") or parsed.title or relative.name),
        url=url,
        text=parsed.text,
        blocks=parsed.blocks,
    )


def load_document(path: Path, corpus_dir: Path, now: datetime | None = None) -> Document | None:
    """One article file as a Document; None for a file the corpus leaves out (see read_article)."""
    article = read_article(path, corpus_dir, now or datetime.now(UTC))
    return article if isinstance(article, Document) else None


def load_corpus(corpus_dir: Path, now: datetime | None = None) -> tuple[list[Document], list[Skipped]]:
    """All public documents in the folder at `now` (default: now), and the files left out, with why."""
    now = now or datetime.now(UTC)
    documents, skipped = [], []
    for path in article_files(corpus_dir):
        article = read_article(path, corpus_dir, now)
        (documents if isinstance(article, Document) else skipped).append(article)
    if not documents:
        why = "; ".join(f"{s.source}: {s.detail}" for s in skipped[:3]) + ("; …" if len(skipped) > 3 else "")
        raise CorpusError(f"no articles in {corpus_dir} to publish ({why})" if skipped
                          else f"no articles in {corpus_dir}: add .txt, .md or .html files")
    return documents, skipped
