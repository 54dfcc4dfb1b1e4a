"""Answer -> what an interface shows: JSON for `--json` and the HTTP API, plain text
for a terminal, Markdown for the chat UI. Article and question text is escaped for
Markdown/HTML, so nothing from either is ever run as markup.
"""
from __future__ import annotations

import html
import re
import textwrap

from .records import Answer, Citation


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
    """A terminal rendering: the answer, then each citation with its quote in »…«."""
    lines = ([f"(about {answer.about})"] if answer.about else []) + [textwrap.fill(answer.text, width)]
    for c in answer.citations:
        a, b = c.highlight
        marked = f"{c.text[:a]}»{c.text[a:b]}«{c.text[b:]}"
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


def citation_markdown(c: Citation) -> str:
    a, b = c.highlight
    quote = f"{escape_markdown(c.text[:a])}<mark>{escape_markdown(c.text[a:b])}</mark>{escape_markdown(c.text[b:])}"
    label = escape_markdown(c.section or c.doc_title)
    target = (safe_link(c.url) or "#").replace(")", "%29").replace(" ", "%20")
    return f"**[{c.n}]** [{label}]({target}) · *{escape_markdown(c.doc_title)}*\n> {quote}"


def as_markdown(answer: Answer) -> str:
    body = escape_markdown(answer.text)
    if answer.about:  # a follow-up read in context: say what it was taken to be about
        body = f"*About {escape_markdown(answer.about)}*\n\n{body}"
    if not answer.citations:
        return body
    return body + "\n\n" + "\n\n".join(citation_markdown(c) for c in answer.citations)
