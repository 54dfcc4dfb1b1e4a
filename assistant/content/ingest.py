"""A blog's posts -> Markdown files in the corpus: reads an Atom/RSS feed, a sitemap or
saved .html pages and writes corpus/<host>/<post-path>.md, rewriting only what changed.
It indexes nothing (run a build after) and never deletes a file a post no longer backs.
What it may fetch (which hosts, which addresses, how much) is fetcher.py's.
"""
from __future__ import annotations

import html
import os
import re
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
from bs4 import BeautifulSoup

from assistant.content.blogpost import Post, read_post, to_markdown
from assistant.content.corpus import web_url
from assistant.content.fetcher import Fetcher, LimitReached, Limits
from assistant.content.passages import slugify
from assistant.errors import CorpusError

# The first element's name, past XML declarations, comments and a doctype; "*+" never
# backtracks, so no input can make this slow.
_ROOT = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)*+<([A-Za-z][\w:.-]*)", re.S | re.I)
_HTML_ROOTS = frozenset({"html", "head", "body", "article", "main", "section", "div", "p", "meta", "title", "link"})


@dataclass(frozen=True)
class IngestReport:
    added: int
    updated: int
    unchanged: int
    failed: tuple[str, ...]  # one line per post that could not be fetched or read
    files: tuple[str, ...]  # written (added or updated), relative to the corpus folder
    stopped: tuple[str, ...] = ()  # the caps (max-pages, max-bytes, max-seconds) reached, one line each


def ingest(source: str, corpus_dir: Path, *, timeout: float = 20.0, max_posts: int = 1000,
           allow_hosts: Iterable[str] = (), limits: Limits = Limits(),
           clock: Callable[[], float] = time.monotonic) -> IngestReport:
    """Pull up to `max_posts` posts from a feed or sitemap URL, or a folder or file of saved
    pages, into corpus_dir/<host>/, fetching only from the source's host and `allow_hosts`,
    within `limits` (timed by `clock`). Raises CorpusError when the source itself is unusable."""
    is_url = bool(re.match(r"[A-Za-z][\w+.-]*:", source)) and not Path(source).exists()
    if is_url and urlsplit(source).scheme.lower() not in ("http", "https"):
        raise CorpusError(f"refusing {source}: only http(s) URLs and local paths can be ingested")
    fetcher = Fetcher(source if is_url else "", allow_hosts, limits, timeout, clock)
    try:
        reader = _Reader(fetcher, source, max_posts)
        if is_url:
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
                posts = reader.each(pages[:max_posts], lambda page: replace(read_post(page.read_bytes(), "", str(page)), name=page.stem))
            else:
                posts = [replace(post, name=path.stem) for post in reader.posts(path.read_bytes(), "")]
            folder = next((urlsplit(p.url).hostname for p in posts if urlsplit(p.url).hostname), path.stem)
    finally:
        fetcher.close()
    stopped = tuple(line + (f" ({reader.not_fetched} posts not fetched)" if reader.not_fetched else "")
                    for line in fetcher.reached.values())
    return replace(_write(posts, corpus_dir / slugify(folder), corpus_dir, reader.failed), stopped=stopped)


class _Reader:
    """Fetches and reads one source; what fails for one post is noted in `failed`, not raised."""

    def __init__(self, fetcher: Fetcher, source: str, max_posts: int):
        self.fetcher, self.source, self.max_posts = fetcher, source, max_posts
        self.failed: list[str] = []
        self.not_fetched = 0  # posts left out because a cap of the run was reached

    def fetch(self, url: str) -> tuple[bytes, str]:
        """The body and the final URL (see Fetcher.get)."""
        return self.fetcher.get(url)

    def each(self, items, read) -> list[Post]:
        posts = []
        for item in items:
            try:
                posts.append(read(item))
            except LimitReached:  # the report names the cap once, not once per post
                self.not_fetched += 1
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
            return [read_post(data, url, self.source)]
        if feedparser.parse(data).get("version"):
            return self.feed(data, url)
        raise CorpusError(f"{self.source} is not an Atom/RSS feed, a sitemap or an HTML page")

    def feed(self, data: bytes, url: str) -> list[Post]:
        """Entries of a feed and its rel="next" pages; an entry with only a summary is fetched.
        A next page without entries ends the chain, so pages followed never outnumber posts."""
        entries, seen = [], {url}
        while True:
            feed = feedparser.parse(data, response_headers={"content-location": url})
            entries.extend(feed.entries[: self.max_posts - len(entries)])
            next_url = next((link.get("href") for link in feed.feed.get("links", []) if link.get("rel") == "next"), None)
            if len(entries) >= self.max_posts or not next_url or next_url in seen or (len(seen) > 1 and not feed.entries):
                return self.each(entries, self.entry)
            seen.add(next_url)
            try:
                data, url = self.fetch(next_url)
            except LimitReached:
                return self.each(entries, self.entry)
            except CorpusError as exc:
                self.failed.append(str(exc))
                return self.each(entries, self.entry)

    def entry(self, entry) -> Post:
        # feedparser has resolved relative links against the feed's URL; other schemes go
        given, title = entry.get("link", "").strip(), " ".join(entry.get("title", "").split())
        link, content = web_url(given), entry.get("content")
        if content:  # the full post is in the feed: no need to fetch the page
            value = content[0].get("value", "")
            post = read_post(value if "html" in content[0].get("type", "html") else html.escape(value), link, link or title)
        elif link:
            body, final_url = self.fetch(link)
            post = read_post(body, final_url, link)
        elif given:
            raise CorpusError(f"feed entry {title!r}: link {given[:100]!r} is not an http(s) URL")
        else:
            raise CorpusError(f"feed entry {title!r} has neither content nor a link")
        updated = entry.get("updated") or entry.get("published") or post.updated
        return replace(post, url=link or post.url, title=title or post.title, updated=updated)

    def sitemap(self, data: bytes | None, url: str) -> list[Post]:
        """<urlset> page locations (with lastmod), following a <sitemapindex> to its sitemaps:
        one level, as the sitemap protocol allows, so a chain of indexes is not followed."""
        pages: list[tuple[str, str]] = []
        queue, seen = [(url, data)], {url}
        while queue and len(pages) < self.max_posts:
            sitemap_url, data = queue.pop(0)
            try:
                root = ElementTree.fromstring(self.fetch(sitemap_url)[0] if data is None else data)
            except LimitReached:
                break
            except (CorpusError, ElementTree.ParseError) as exc:
                error = str(exc) if isinstance(exc, CorpusError) else f"{sitemap_url or self.source}: not valid sitemap XML"
                if data is not None:  # the source itself; one sitemap of an index only fails its posts
                    raise CorpusError(error) from None
                self.failed.append(error)
                continue
            index = root.tag.endswith("sitemapindex")
            if index and data is None:
                self.failed.append(f"{sitemap_url}: a sitemap index listed by a sitemap index; not followed "
                                   "(the sitemap protocol allows one level)")
                continue
            for node in root:
                fields = {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in node}
                loc = urljoin(sitemap_url, fields.get("loc", ""))
                if fields.get("loc") and loc not in seen and len(pages) < self.max_posts:
                    seen.add(loc)
                    if index:
                        queue.append((loc, None))
                    else:
                        pages.append((loc, fields.get("lastmod", "")))

        def read(page: tuple[str, str]) -> Post:
            body, final_url = self.fetch(page[0])
            post = read_post(body, final_url, page[0])
            return replace(post, updated=page[1] or post.updated)

        return self.each(pages, read)


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
