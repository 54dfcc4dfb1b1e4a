"""A blog's posts -> Markdown files in the corpus: reads an Atom/RSS feed, a sitemap or
saved .html pages and writes corpus/<host>/<post-path>.md, rewriting only what changed.
It indexes nothing (run a build after) and never deletes a file a post no longer backs.
"""
from __future__ import annotations

import html
import os
import re
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx
import yaml
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString
from bs4.exceptions import ParserRejectedMarkup

from .errors import CorpusError
from .passages import slugify
from .plaintext import is_chrome

USER_AGENT = "article-assistant-ingest/0.1"
MAX_BYTES = 20 * 1024 * 1024
_ROOT = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)*<([A-Za-z][\w:.-]*)", re.S | re.I)
_HTML_ROOTS = frozenset({"html", "head", "body", "article", "main", "section", "div", "p", "meta", "title", "link"})
_BODIES = ("div.post-body", ".entry-content", "article", "main", "body")
# Code is not text here (as in markup.py), and the rest is blog chrome.
_CHROME = ("pre, script, style, noscript, template, iframe, nav, header, footer, aside, form, #comments, .comments, "
           ".post-comments, .post-footer, .post-share-buttons, .blog-pager, .related-posts, .popular-posts, .PopularPosts")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = frozenset({"p", "div", "section", "article", "main", "blockquote", "figure", "figcaption", "table", "tr",
                     "td", "th", "dl", "dt", "dd", "hr", "center", "address", "details", "summary"})
# Inline Markdown syntax that would eat text on loading; "_" between two letters is inert.
_INLINE = re.compile(r"[\\`*<\[]|&(?=#?\w+;)|(?<![^\W_])_|_(?![^\W_])")


@dataclass(frozen=True)
class IngestReport:
    added: int
    updated: int
    unchanged: int
    failed: tuple[str, ...]  # one line per post that could not be fetched or read
    files: tuple[str, ...]  # written (added or updated), relative to the corpus folder


@dataclass(frozen=True)
class Post:
    url: str
    title: str
    updated: str
    blocks: tuple[tuple[str, str], ...]  # (kind, text); kind is "h2".."h6", "p" or "li"
    name: str = ""  # file name stem when the post has no URL


def ingest(source: str, corpus_dir: Path, *, timeout: float = 20.0, max_posts: int = 1000) -> IngestReport:
    """Pull up to `max_posts` posts from a feed or sitemap URL, or a folder or file of saved
    pages, into corpus_dir/<host>/. Raises CorpusError when the source itself is unusable."""
    with httpx.Client(timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT}) as client:
        reader = _Reader(client, source, timeout, max_posts)
        if re.match(r"[A-Za-z][\w+.-]*:", source) and not Path(source).exists():
            if urlsplit(source).scheme.lower() not in ("http", "https"):
                raise CorpusError(f"refusing {source}: only http(s) URLs and local paths can be ingested")
            posts = reader.posts(*reader.fetch(source))
            folder = urlsplit(source).hostname or "site"
        else:
            path = Path(source).expanduser().resolve()
            if not path.exists():
                raise CorpusError(f"{source}: no such file or folder")
            if path.is_relative_to(corpus_dir.resolve()):
                raise CorpusError(f"{source} is inside the corpus folder; ingest saved pages from outside it")
            if path.is_dir():
                pages = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".html", ".htm") and p.is_file())
                posts = reader.each(pages[:max_posts], lambda page: replace(_page(page.read_bytes(), "", str(page)), name=page.stem))
            else:
                posts = [replace(post, name=path.stem) for post in reader.posts(path.read_bytes(), "")]
            folder = next((urlsplit(p.url).hostname for p in posts if urlsplit(p.url).hostname), path.stem)
    return _write(posts, corpus_dir / slugify(folder), corpus_dir, reader.failed)


class _Reader:
    """Fetches and reads one source; what fails for one post is noted in `failed`, not raised."""

    def __init__(self, client: httpx.Client, source: str, timeout: float, max_posts: int):
        self.client, self.source, self.timeout, self.max_posts = client, source, timeout, max_posts
        self.failed: list[str] = []

    def fetch(self, url: str) -> tuple[bytes, str]:
        """GET with a size cap and an overall deadline; returns the body and the final URL."""
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            raise CorpusError(f"{url}: not an http(s) URL")
        deadline = time.monotonic() + self.timeout
        try:
            with self.client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise CorpusError(f"{url}: HTTP {response.status_code}")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BYTES or time.monotonic() > deadline:
                        raise CorpusError(f"{url}: over {MAX_BYTES} bytes or {self.timeout:g} s")
                    chunks.append(chunk)
                return b"".join(chunks), str(response.url)
        except httpx.HTTPError as exc:
            raise CorpusError(" ".join(f"{url}: {type(exc).__name__} {exc}".split())) from None

    def each(self, items, read) -> list[Post]:
        posts = []
        for item in items:
            try:
                posts.append(read(item))
            except (CorpusError, OSError) as exc:
                self.failed.append(str(exc) if isinstance(exc, CorpusError) else f"{item}: {exc.strerror}")
        return posts

    def posts(self, data: bytes, url: str) -> list[Post]:
        """Dispatch on what the bytes are, not on what the URL looks like."""
        match = _ROOT.match(data[:65536].removeprefix(b"\xef\xbb\xbf"))
        root = match.group(1).decode().rpartition(":")[2].lower() if match else ""
        if root in ("urlset", "sitemapindex"):
            return self.sitemap(data, url)
        if root in ("feed", "rss", "rdf"):
            return self.feed(data, url)
        if root in _HTML_ROOTS or re.search(rb"<(html|body)[\s>]", data[:65536], re.I):
            feed = BeautifulSoup(data, "html.parser").find("link", rel="alternate", type=re.compile(r"(atom|rss)\+xml"), href=True)
            if url and feed and urlsplit(url).path in ("", "/"):  # a blog's home page: read its feed
                return self.feed(*self.fetch(urljoin(url, feed["href"])))
            return [_page(data, url, self.source)]
        if feedparser.parse(data).get("version"):
            return self.feed(data, url)
        raise CorpusError(f"{self.source} is not an Atom/RSS feed, a sitemap or an HTML page")

    def feed(self, data: bytes, url: str) -> list[Post]:
        """Entries of a feed and its rel="next" pages; an entry with only a summary is fetched."""
        entries, seen = [], {url}
        while True:
            feed = feedparser.parse(data, response_headers={"content-location": url})
            entries.extend(feed.entries[: self.max_posts - len(entries)])
            next_url = next((link.get("href") for link in feed.feed.get("links", []) if link.get("rel") == "next"), None)
            if len(entries) >= self.max_posts or not next_url or next_url in seen:
                return self.each(entries, self.entry)
            seen.add(next_url)
            try:
                data, url = self.fetch(next_url)
            except CorpusError as exc:
                self.failed.append(str(exc))
                return self.each(entries, self.entry)

    def entry(self, entry) -> Post:
        link, title = entry.get("link", ""), " ".join(entry.get("title", "").split())
        content = entry.get("content")
        if content:  # the full post is in the feed: no need to fetch the page
            value = content[0].get("value", "")
            post = _page(value if "html" in content[0].get("type", "html") else html.escape(value), "", link or title)
        elif link:
            post = _page(self.fetch(link)[0], link, link)
        else:
            raise CorpusError(f"feed entry {title!r} has neither content nor a link")
        updated = entry.get("updated") or entry.get("published") or post.updated
        return replace(post, url=link or post.url, title=title or post.title, updated=updated)

    def sitemap(self, data: bytes | None, url: str) -> list[Post]:
        """<urlset> page locations (with lastmod), following a <sitemapindex> to its sitemaps."""
        pages: list[tuple[str, str]] = []
        queue, seen = [(url, data)], {url}
        while queue and len(pages) < self.max_posts:
            sitemap_url, data = queue.pop(0)
            try:
                root = ElementTree.fromstring(self.fetch(sitemap_url)[0] if data is None else data)
            except (CorpusError, ElementTree.ParseError) as exc:
                error = str(exc) if isinstance(exc, CorpusError) else f"{sitemap_url or self.source}: not valid sitemap XML"
                if data is not None:  # the source itself; one sitemap of an index only fails its posts
                    raise CorpusError(error) from None
                self.failed.append(error)
                continue
            index = root.tag.endswith("sitemapindex")
            for node in root:
                fields = {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in node}
                loc = urljoin(sitemap_url, fields.get("loc", ""))
                if fields.get("loc") and loc not in seen and len(pages) < self.max_posts:
                    seen.add(loc)
                    queue.append((loc, None)) if index else pages.append((loc, fields.get("lastmod", "")))

        def read(page: tuple[str, str]) -> Post:
            body, final_url = self.fetch(page[0])
            post = _page(body, final_url, page[0])
            return replace(post, updated=page[1] or post.updated)

        return self.each(pages, read)


def _page(markup: bytes | str, url: str, label: str) -> Post:
    """A post from a page or a feed's HTML: title, canonical URL, date and body blocks."""
    try:
        soup = BeautifulSoup(markup, "html.parser")
    except ParserRejectedMarkup:
        raise CorpusError(f"{label}: HTML that cannot be parsed") from None

    def meta(*names: str) -> str:
        for name in names:
            tag = soup.find("meta", property=name) or soup.find("link", rel=name)
            value = tag and (tag.get("content") or tag.get("href"))
            if isinstance(value, str) and value.strip():
                return value.strip()
        return ""

    heading = soup.select_one(".post-title, .entry-title") or soup.select_one("article h1")
    title = heading.get_text(" ") if heading else meta("og:title") or (soup.title.get_text(" ") if soup.title else "")
    title = " ".join(title.split())
    for tag in soup.select(_CHROME):
        if not tag.decomposed:
            tag.decompose()
    body = next((found for selector in _BODIES if (found := soup.select_one(selector))), soup)
    blocks = _clean(_blocks(body), title)
    if not blocks:
        raise CorpusError(f"{label}: no article text found")
    return Post(meta("canonical", "og:url") or url, title, meta("article:modified_time", "article:published_time"), blocks)


def _blocks(root: Tag) -> list[tuple[str, str]]:
    """Body text as (kind, text) blocks in reading order. Blogger bodies often have no <p>:
    text split by block elements or a double <br> is separate paragraphs; one <br> is a space."""
    blocks: list[tuple[str, str]] = []
    buffer: list[str] = []
    kinds = ["p"]  # innermost heading or list item, whose text stays one block

    def flush() -> None:
        chunks = re.split(r"\n\s*\n", "".join(buffer)) if kinds[-1] == "p" else ["".join(buffer)]
        blocks.extend((kinds[-1], text) for chunk in chunks if (text := " ".join(chunk.split())))
        buffer.clear()

    # An explicit stack, not recursion: deeply nested markup must not hit the recursion limit.
    pending: list[tuple[bool, object]] = [(True, node) for node in reversed(root.contents)]
    while pending:
        entering, node = pending.pop()
        if isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):  # comments, doctypes, CDATA
                buffer.append(str(node))
            continue
        name = node.name
        if name == "br":
            buffer.append("\n")
        elif name in ("ul", "ol"):
            flush()
        elif name in _HEADINGS or name == "li":
            flush()
            if entering:
                kinds.append(name)
            else:
                kinds.pop()
        elif name in _BLOCKS:
            if kinds[-1] == "p":
                flush()
            else:
                buffer.append(" ")  # a block inside a list item or heading: same block
        if entering and name != "br":
            pending.append((False, node))
            pending.extend((True, child) for child in reversed(node.contents))
    flush()
    return blocks


def _clean(blocks: list[tuple[str, str]], title: str) -> tuple[tuple[str, str], ...]:
    """Cut at blog chrome ("Popular posts from this blog"), drop a repeated title, and
    shift headings so the body's top level is "##" (a "#" would read as the title)."""
    kept = []
    for kind, text in blocks:
        if is_chrome(text):
            break
        kept.append((kind, text))
    if kept and kept[0][0] in _HEADINGS and kept[0][1] == title:
        kept = kept[1:]
    shift = max(0, 2 - min((int(kind[1]) for kind, _ in kept if kind in _HEADINGS), default=2))
    return tuple((f"h{min(6, int(kind[1]) + shift)}" if kind in _HEADINGS else kind, text) for kind, text in kept)


def _escape(text: str, heading: bool = False) -> str:
    """Backslash-escape what would otherwise turn text into Markdown structure or markup."""
    text = _INLINE.sub(lambda m: "\\" + m.group(), text)
    if number := re.match(r"\d{1,9}(?=[.)])", text):
        text = f"{text[: number.end()]}\\{text[number.end():]}"
    elif text[:1] in ("#", "-", "+", ">", "=", "~", "|"):
        text = "\\" + text
    return text[:-1] + "\\#" if heading and text.endswith("#") else text


def to_markdown(post: Post) -> str:
    """The file for a post: YAML front matter (title, url, updated), then the body."""
    meta = {key: value for key, value in (("title", post.title), ("url", post.url), ("updated", post.updated)) if value}
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1 << 20) if meta else ""
    parts = ([f"---\n{front}---\n\n"] if front else []) + ([f"# {_escape(post.title, True)}\n"] if post.title else [])
    for i, (kind, text) in enumerate(post.blocks):
        if kind in _HEADINGS:
            line = f"{'#' * int(kind[1])} {_escape(text, True)}"
        else:
            line = f"- {_escape(text)}" if kind == "li" else _escape(text)
        tight = kind == "li" and i and post.blocks[i - 1][0] == "li"  # one list, not one per item
        parts.append(line + "\n" if tight else "\n" + line + "\n")
    return "".join(parts)


def file_stem(post: Post) -> str:
    """The post's URL path as a file name: /2023/05/facial-muscles.html -> 2023-05-facial-muscles."""
    parts = urlsplit(post.url)
    path = re.sub(r"\.(html?|php|aspx?)$", "", parts.path.rstrip("/"), flags=re.I)
    key = f"{path} {parts.query}".strip() if post.url else post.name
    return slugify(key) if key else "index"


def _write(posts: list[Post], folder: Path, corpus_dir: Path, failed: list[str]) -> IngestReport:
    """Write each post's file, atomically, unless the file already says exactly that."""
    folder.mkdir(parents=True, exist_ok=True)
    added = updated = unchanged = 0
    written, names = [], set()
    for post in posts:
        stem, n = file_stem(post), 1
        name = stem
        while name in names:  # two posts, one path ("/" and "/index.html"): number the later
            n += 1
            name = f"{stem}-{n}"
        names.add(name)
        path = folder / f"{name}.md"
        text = to_markdown(post)
        old = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
        if old == text:
            unchanged += 1
            continue
        tmp = path.with_name(f".{path.name}.tmp")  # a dotfile: never read as an article
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        added, updated = (added + 1, updated) if old is None else (added, updated + 1)
        written.append(str(path.relative_to(corpus_dir)))
    return IngestReport(added, updated, unchanged, tuple(failed), tuple(written))
