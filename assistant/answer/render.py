"""Answer -> what an interface shows: JSON for `--json` and the HTTP API, plain text
for a terminal, Markdown for the chat UI. Article and question text is escaped for
Markdown/HTML, so nothing from either is ever run as markup.
"""
from __future__ import annotations

import html
import re
import textwrap

from assistant.records import Answer, Citation

RELATED_LABEL = "Related passages, not quoted"


def as_json(answer: Answer) -> dict:
    return {
        "question": answer.question,
        "answerable": answer.answerable,
        "answer": answer.text,
        "citations": [
            {
                "n": c.n,
                "doc_title": c.doc_title,
                "section": c.section,
                "url": safe_link(c.url),
                "text": c.text,
                "score": c.score,
                "passage_id": c.passage_id,
                "highlight": list(c.highlight),
                "quoted": c.quoted,
            }
            for c in answer.citations
        ],
        "not_covered": list(answer.not_covered),
        "about": answer.about or None,  # set when the question was read as a follow-up
        "resolved_query": answer.query if answer.about else None,
    }


def as_text(answer: Answer, width: int = 88) -> str:
    """A terminal rendering: the answer, then each source it quotes with the quote in
    »…«, then the related passages under their own heading, unmarked."""
    lines = ([f"(about {answer.about})"] if answer.about else []) + [textwrap.fill(answer.text, width)]
    related = [c for c in answer.citations if not c.quoted]
    for c in [c for c in answer.citations if c.quoted] + related:
        if related and c is related[0]:
            lines += ["", f"{RELATED_LABEL}:"]
        a, b = c.highlight if c.quoted else (0, 0)
        marked = f"{c.text[:a]}»{c.text[a:b]}«{c.text[b:]}" if b > a else c.text
        lines += ["", f"[{c.n}] {c.doc_title} › {c.section}" if c.section else f"[{c.n}] {c.doc_title}"]
        lines += [textwrap.indent(textwrap.fill(marked, width - 4), "    "), f"    {c.url}"]
    return "\n".join(lines)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def escape_markdown(text: str) -> str:
    """Text shown literally in Markdown: HTML escaped, Markdown punctuation backslashed."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def safe_link(url: str) -> str:
    """`url` if following it stays on the web: absolute http(s) with a host, or a path on
    this server ("/articles/…"); "" otherwise. "//host" (another site) and "/\\host" (the
    same, to a browser) are not paths; corpus.source_url refuses them at build time, this
    guards indexes built before that."""
    from urllib.parse import urlsplit

    if any(c.isspace() or c == "\\" or ord(c) < 0x20 for c in url):
        return ""
    if url.startswith("/") and not url.startswith("//"):
        return url
    try:
        parts = urlsplit(url)
        return url if parts.scheme.lower() in ("http", "https") and parts.hostname else ""
    except ValueError:
        return ""


def citation_markdown(c: Citation, highlight: bool = True) -> str:
    """A numbered source: its section link, then the passage, with the quoted sentence
    marked only when the answer quotes it (a related passage proves nothing)."""
    a, b = c.highlight if highlight else (0, 0)
    marked = f"<mark>{escape_markdown(c.text[a:b])}</mark>" if b > a else ""
    quote = f"{escape_markdown(c.text[:a])}{marked}{escape_markdown(c.text[b:])}"
    label = escape_markdown(c.section or c.doc_title)
    return f"**[{c.n}]** [{label}]({_link_target(c.url)}) · *{escape_markdown(c.doc_title)}*\n> {quote}"


def _link_target(url: str) -> str:
    return (safe_link(url) or "#").replace(")", "%29").replace(" ", "%20")


_MARKER = re.compile(r"\[(\d+)\]")


def _linked_markers(text: str, citations: tuple[Citation, ...]) -> str:
    """The answer text, escaped, with each [n] a link to its source (one click to check it)."""
    urls = {str(c.n): c.url for c in citations}
    parts, at = [], 0
    for m in _MARKER.finditer(text):
        parts.append(escape_markdown(text[at : m.start()]))
        n = m.group(1)
        parts.append(f"[\\[{n}\\]]({_link_target(urls[n])})" if n in urls else escape_markdown(m.group()))
        at = m.end()
    return "".join(parts) + escape_markdown(text[at:])




def as_markdown(answer: Answer) -> str:
    """The answer first, its [n] linking to the sources; then the sources it quotes, each
    with the quote highlighted; then related passages, collapsed and unmarked."""
    body = _linked_markers(answer.text, answer.citations)
    if answer.about:  # a follow-up read in context: say what it was taken to be about
        body = f"*About {escape_markdown(answer.about)}*\n\n{body}"
    quoted = [c for c in answer.citations if c.quoted]
    related = [c for c in answer.citations if not c.quoted]
    parts = [body, *(citation_markdown(c) for c in quoted)]
    if related:
        inner = "\n\n".join(citation_markdown(c, highlight=False) for c in related)
        parts.append(f"<details><summary>{RELATED_LABEL} ({len(related)})</summary>\n\n{inner}\n\n</details>")
    return "\n\n".join(parts)


def as_plain(answer: Answer, base_url: str = "") -> str:
    """What Copy puts on the clipboard: the answer, then the sources it quotes as
    `[1] Section — URL` lines (relative URLs made absolute with `base_url`)."""
    lines = ([f"About {answer.about}", ""] if answer.about else []) + [answer.text]
    sources = [c for c in answer.citations if c.quoted]
    if sources:
        lines.append("")
    for c in sources:
        url = safe_link(c.url)
        url = base_url.rstrip("/") + url if url.startswith("/") else url
        lines.append(f"[{c.n}] {c.section or c.doc_title}" + (f" — {url}" if url else ""))
    return "\n".join(lines)
