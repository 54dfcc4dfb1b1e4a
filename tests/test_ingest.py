"""Ingesting a blog: Atom feeds, sitemaps and saved pages become Markdown files that the
corpus loader reads back with the right title, URL and sections. All on 127.0.0.1."""
from __future__ import annotations

import html
import socket
from pathlib import Path

import pytest
from conftest import FakeEmbedder
from servers import static_server

from assistant.content.corpus import load_corpus, load_document
from assistant.content.ingest import ingest
from assistant.engine import build as index_build
from assistant.errors import CorpusError

HOST_FOLDER = "127-0-0-1"
CHROME = ("Popular posts from this blog", "Knitting for beginners", "Home | About", "Leave a comment",
          "Great post!", "Copyright", "Subscribe to this blog")

# Blogger-style bodies: no <p>, text in <div>s and runs split by <br><br>.
MUSCLES = """<div dir="ltr">The face has more than forty muscles.<br>Most of them attach to skin, not bone.<br><br>
That is why expressions leave lines over the years.<br><br>
<h2>How the muscles move</h2><div>The frontalis raises the eyebrows

  and folds the forehead.</div>
<div><br></div><div>The orbicularis oculi closes the eye and makes crow's feet.</div>
<h3>Muscles of the mouth</h3>
<ul><li>Zygomaticus major: lifts the corners of the mouth.</li><li>Orbicularis oris: purses the lips.</li></ul>
<h2>Wrinkles</h2>Repeated folding breaks down collagen along the same lines.<br><br>Sun damage speeds this up.</div>"""
STARTER = """<div>A sourdough starter is flour and water full of wild yeast.<br><br>
<b>Feed it</b> every day with equal weights of flour and water.<br><br>
<h2>Signs of a healthy starter</h2><div>It doubles within six hours and smells pleasantly sour.</div>
<div class="blog-pager"><br></div>
<h3>Popular posts from this blog</h3><div>Knitting for beginners<br>Learn to cast on in an afternoon.</div></div>"""
TIDES = """<div>Tide pools fill the hollows of rocky shores when the sea goes out.<br><br>
<h2>What lives there</h2><div>Anemones, hermit crabs and sea stars wait for the water to return.</div>
<div>Turn rocks back over the way you found them.</div>
<h2>When to go</h2><div>Go an hour before the lowest tide of the day.</div></div>"""


def atom(entries: list[dict], next_href: str = "") -> str:
    """A Blogger-like Atom feed; each entry has title, path, updated and content or summary."""
    items = []
    for e in entries:
        body = (f'<content type="html">{html.escape(e["content"])}</content>' if "content" in e
                else f'<summary type="text">{html.escape(e["summary"])}</summary>')
        items.append(f"""<entry><id>tag:blogger.com,1999:post-{e["path"]}</id><published>2023-01-01T09:00:00.000-08:00</published>
<updated>{e["updated"]}</updated><title type="text">{html.escape(e["title"])}</title>{body}
<link rel="replies" type="text/html" href="{e["url"]}#comment-form"/>
<link rel="alternate" type="text/html" href="{e["url"]}" title="{html.escape(e["title"])}"/></entry>""")
    next_link = f'<link rel="next" type="application/atom+xml" href="{next_href}"/>' if next_href else ""
    return f"""<?xml version='1.0' encoding='UTF-8'?><feed xmlns="http://www.w3.org/2005/Atom">
<id>tag:blogger.com,1999:blog-1</id><updated>2023-06-01T00:00:00.000-07:00</updated><title type="text">A blog</title>
<link rel="alternate" type="text/html" href="http://127.0.0.1/"/>{next_link}{"".join(items)}</feed>"""


def blog_page(title: str, url: str, body: str, modified: str = "2023-04-01T10:00:00Z") -> str:
    """A full blog page: the post between a header, nav, sidebar, comments and footer."""
    return f"""<!DOCTYPE html><html><head><title>A blog: {html.escape(title)}</title>
<link rel="canonical" href="{url}"><meta property="og:title" content="{html.escape(title)}">
<meta property="article:modified_time" content="{modified}"><script>var tracking = 1;</script></head><body>
<header><h1>A blog</h1></header><nav>Home | About</nav>
<div class="post"><h3 class="post-title">{html.escape(title)}</h3><div class="post-body entry-content">{body}</div>
<div class="post-footer">Labels: things</div></div>
<div id="comments"><h4>2 comments</h4><p>Great post!</p><p>Leave a comment</p></div>
<aside><h2>Popular posts from this blog</h2><p>Knitting for beginners</p></aside>
<div class="sidebar"><aside>Subscribe to this blog</aside></div><footer>Copyright 2023</footer></body></html>"""


def posts() -> list[dict]:
    return [
        {"title": "Facial muscles and wrinkles", "path": "2023/05/facial-muscles.html", "updated": "2023-05-02T10:00:00.000-07:00", "content": MUSCLES},
        {"title": "Caring for a sourdough starter", "path": "2023/04/sourdough-starter.html", "updated": "2023-04-02T10:00:00.000-07:00", "content": STARTER},
        {"title": "Exploring tide pools", "path": "2023/03/tide-pools.html", "updated": "2023-03-02T10:00:00.000-07:00", "content": TIDES},
    ]


def with_urls(base: str, entries: list[dict]) -> list[dict]:
    return [e | {"url": f"{base}/{e['path']}"} for e in entries]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def loaded(corpus: Path) -> dict[str, object]:
    """Every ingested file as a Document, by file name."""
    return {p.name: load_document(p, corpus) for p in sorted((corpus / HOST_FOLDER).glob("*.md"))}


@pytest.fixture
def blog(tmp_path: Path):
    """A static blog on 127.0.0.1 serving a three-post feed at /feeds/posts/default."""
    site = tmp_path / "site"
    site.mkdir()
    with static_server(site) as base:
        entries = with_urls(base, posts())
        write(site / "feeds/posts/default", atom(entries))
        yield base, site, entries


def test_a_blogger_feed_becomes_one_markdown_file_per_post(blog, tmp_path):
    base, _, entries = blog
    corpus = tmp_path / "corpus"
    report = ingest(f"{base}/feeds/posts/default", corpus)

    names = ["2023-05-facial-muscles.md", "2023-04-sourdough-starter.md", "2023-03-tide-pools.md"]
    assert (report.added, report.updated, report.unchanged, report.failed) == (3, 0, 0, ())
    assert sorted(report.files) == sorted(f"{HOST_FOLDER}/{name}" for name in names)
    docs = loaded(corpus)
    for name, entry in zip(names, entries):
        assert (docs[name].title, docs[name].url) == (entry["title"], entry["url"])

    muscles = docs["2023-05-facial-muscles.md"]
    assert [(b.section, b.text) for b in muscles.blocks] == [
        (("Introduction",), "The face has more than forty muscles. Most of them attach to skin, not bone."),
        (("Introduction",), "That is why expressions leave lines over the years."),
        (("How the muscles move",), "The frontalis raises the eyebrows and folds the forehead."),
        (("How the muscles move",), "The orbicularis oculi closes the eye and makes crow's feet."),
        (("How the muscles move", "Muscles of the mouth"), "Zygomaticus major: lifts the corners of the mouth."),
        (("How the muscles move", "Muscles of the mouth"), "Orbicularis oris: purses the lips."),
        (("Wrinkles",), "Repeated folding breaks down collagen along the same lines."),
        (("Wrinkles",), "Sun damage speeds this up."),
    ]
    text = (corpus / HOST_FOLDER / "2023-05-facial-muscles.md").read_text()
    assert "## How the muscles move\n" in text and "### Muscles of the mouth\n" in text
    assert "- Zygomaticus major: lifts the corners of the mouth.\n- Orbicularis oris" in text
    starter = (corpus / HOST_FOLDER / "2023-04-sourdough-starter.md").read_text()
    assert "Feed it every day" in starter
    assert not any(chrome in starter for chrome in CHROME)
    assert [b.section for b in docs["2023-03-tide-pools.md"].blocks][-1] == ("When to go",)


def test_ingesting_again_without_changes_touches_no_file(blog, tmp_path):
    base = blog[0]
    corpus = tmp_path / "corpus"
    ingest(f"{base}/feeds/posts/default", corpus)
    before = {p: p.stat().st_mtime_ns for p in (corpus / HOST_FOLDER).iterdir()}

    report = ingest(f"{base}/feeds/posts/default", corpus)

    assert (report.added, report.updated, report.unchanged, report.files) == (0, 0, 3, ())
    assert {p: p.stat().st_mtime_ns for p in (corpus / HOST_FOLDER).iterdir()} == before


def test_a_changed_post_is_rewritten_and_only_its_changed_paragraph_re_embedded(blog, tmp_path):
    base, site, entries = blog
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    ingest(f"{base}/feeds/posts/default", corpus)
    first = index_build.build(corpus, index_dir, FakeEmbedder())
    assert first.embedded == first.passages > 0

    entries[2] |= {"content": TIDES.replace("an hour before", "two hours before"), "updated": "2023-06-01T10:00:00.000-07:00"}
    write(site / "feeds/posts/default", atom(entries))
    report = ingest(f"{base}/feeds/posts/default", corpus)
    second = index_build.build(corpus, index_dir, FakeEmbedder())

    assert (report.added, report.updated, report.unchanged) == (0, 1, 2)
    assert report.files == (f"{HOST_FOLDER}/2023-03-tide-pools.md",)
    assert "updated: '2023-06-01T10:00:00.000-07:00'" in (corpus / report.files[0]).read_text()
    assert (second.embedded, second.removed, second.passages) == (1, 1, first.passages)


def test_a_sitemap_brings_in_each_page_without_its_blog_chrome(tmp_path):
    site, corpus = tmp_path / "site", tmp_path / "corpus"
    with static_server(write(site / "index.html", "").parent) as base:
        for entry in with_urls(base, posts())[:2]:
            write(site / entry["path"], blog_page(entry["title"], entry["url"], entry["content"]))
        write(site / "sitemap.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{base}/2023/05/facial-muscles.html</loc><lastmod>2023-05-02T17:00:00Z</lastmod></url>
<url><loc>{base}/2023/04/sourdough-starter.html</loc></url></urlset>""")
        report = ingest(f"{base}/sitemap.xml", corpus)

    assert (report.added, report.failed) == (2, ())
    docs = loaded(corpus)
    muscles, starter = docs["2023-05-facial-muscles.md"], docs["2023-04-sourdough-starter.md"]
    assert (muscles.title, muscles.url) == ("Facial muscles and wrinkles", f"{base}/2023/05/facial-muscles.html")
    assert starter.title == "Caring for a sourdough starter"
    assert muscles.blocks[0].text.startswith("The face has more than forty muscles.")
    for path in (corpus / HOST_FOLDER).glob("*.md"):
        text = path.read_text()
        assert not any(chrome in text for chrome in (*CHROME, "A blog", "tracking", "Labels"))
    files = {p.name: p.read_text() for p in (corpus / HOST_FOLDER).glob("*.md")}
    assert "updated: '2023-05-02T17:00:00Z'" in files["2023-05-facial-muscles.md"]  # lastmod wins
    assert "updated: '2023-04-01T10:00:00Z'" in files["2023-04-sourdough-starter.md"]  # else the page's own date


def test_a_sitemap_index_is_followed_to_its_sitemaps(tmp_path):
    site, corpus = tmp_path / "site", tmp_path / "corpus"
    with static_server(write(site / "index.html", "").parent) as base:
        entry = with_urls(base, posts())[2]
        write(site / entry["path"], blog_page(entry["title"], entry["url"], entry["content"]))
        write(site / "sitemap-posts.xml", f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{entry["url"]}</loc></url></urlset>')
        write(site / "sitemap.xml", f"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/sitemap-posts.xml</loc></sitemap><sitemap><loc>{base}/missing.xml</loc></sitemap></sitemapindex>""")
        report = ingest(f"{base}/sitemap.xml", corpus)

    assert report.added == 1
    assert report.failed == (f"{base}/missing.xml: HTTP 404",)
    assert loaded(corpus)["2023-03-tide-pools.md"].title == "Exploring tide pools"


def test_a_folder_of_saved_pages_becomes_posts(tmp_path):
    saved, corpus = tmp_path / "saved", tmp_path / "corpus"
    entries = with_urls("https://blog.example.com", posts())
    for entry in entries:
        write(saved / Path(entry["path"]).name, blog_page(entry["title"], entry["url"], entry["content"]))
    write(saved / "notes.txt", "not a page")
    write(saved / "no-canonical.html", "<html><head><title>Offline notes</title></head><body><p>Kept offline.</p></body></html>")

    report = ingest(str(saved), corpus)

    assert (report.added, report.failed) == (4, ())
    folder = corpus / "blog-example-com"  # named after the pages' own host
    docs = {p.name: load_document(p, corpus) for p in folder.glob("*.md")}
    assert {name: (d.title, d.url) for name, d in docs.items()} == {
        "2023-05-facial-muscles.md": ("Facial muscles and wrinkles", "https://blog.example.com/2023/05/facial-muscles.html"),
        "2023-04-sourdough-starter.md": ("Caring for a sourdough starter", "https://blog.example.com/2023/04/sourdough-starter.html"),
        "2023-03-tide-pools.md": ("Exploring tide pools", "https://blog.example.com/2023/03/tide-pools.html"),
        "no-canonical.md": ("Offline notes", ""),
    }
    with pytest.raises(CorpusError, match="inside the corpus folder"):
        ingest(str(folder), corpus)


def test_a_summary_only_entry_is_fetched_and_a_missing_page_is_reported(tmp_path):
    site, corpus = tmp_path / "site", tmp_path / "corpus"
    with static_server(write(site / "index.html", "").parent) as base:
        full, fetched, missing = with_urls(base, posts())
        write(site / fetched["path"], blog_page(fetched["title"], fetched["url"], fetched["content"]))
        fetched = {k: v for k, v in fetched.items() if k != "content"} | {"summary": "A starter is..."}
        missing = {k: v for k, v in missing.items() if k != "content"} | {"summary": "Tide pools..."}
        write(site / "feed.xml", atom([full, fetched, missing]))
        report = ingest(f"{base}/feed.xml", corpus)

    assert (report.added, report.failed) == (2, (f"{missing['url']}: HTTP 404",))
    docs = loaded(corpus)
    starter = docs["2023-04-sourdough-starter.md"]
    assert starter.title == "Caring for a sourdough starter"
    assert starter.blocks[0].text == "A sourdough starter is flour and water full of wild yeast."
    assert "2023-05-facial-muscles.md" in docs


def test_next_links_are_followed_up_to_max_posts(tmp_path):
    site, corpus = tmp_path / "site", tmp_path / "corpus"
    with static_server(write(site / "index.html", "").parent) as base:
        entries = with_urls(base, posts())
        write(site / "feed.xml", atom(entries[:2], next_href=f"{base}/feed-2.xml"))
        write(site / "feed-2.xml", atom(entries[2:], next_href=f"{base}/feed.xml"))  # a loop back
        everything = ingest(f"{base}/feed.xml", corpus)
        capped = ingest(f"{base}/feed.xml", tmp_path / "capped", max_posts=2)

    assert everything.added == 3
    assert capped.added == 2


def test_a_blog_home_page_leads_to_its_feed(blog, tmp_path):
    base, site, _ = blog
    write(site / "index.html", '<html><head><link rel="alternate" type="application/atom+xml" '
                               'href="/feeds/posts/default"></head><body><p>Latest posts</p></body></html>')
    assert ingest(f"{base}/", tmp_path / "corpus").added == 3


def test_markdown_look_alike_text_stays_text(tmp_path):
    tricky = ["# not a heading", "- not a list", "1. not a list", "> not a quote", "*stars* and __dunder__ and snake_case",
              "a <b> tag, AT&amp;T, back\\slash, [x](y) and `ticks`", "+ plus", "--- a rule?"]
    body = "".join(f"<div>{html.escape(line)}</div>" for line in tricky)
    write(tmp_path / "saved/page.html", blog_page("C# # tips", "https://example.org/c-sharp", body))
    ingest(str(tmp_path / "saved"), tmp_path / "corpus")
    doc = load_document(tmp_path / "corpus/example-org/c-sharp.md", tmp_path / "corpus")
    assert doc.title == "C# # tips"
    assert [b.text for b in doc.blocks] == tricky


@pytest.mark.parametrize("name, content", [
    ("notes.txt", b"just some plain text, not a feed"),
    ("garbage.bin", bytes(range(256)) * 4),
    ("image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
    ("other.xml", b"<?xml version='1.0'?><catalog><book>no feed here</book></catalog>"),
    ("sitemap.xml", b"<urlset><url><loc>http://127.0.0.1/a.html</loc></url"),
])
def test_a_source_that_is_not_a_blog_is_a_one_line_error(tmp_path, name, content):
    site = tmp_path / "site"
    with static_server(write(site / name, content).parent) as base:
        for source in (f"{base}/{name}", str(site / name)):
            with pytest.raises(CorpusError) as error:
                ingest(source, tmp_path / "corpus")
            assert source in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("source", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "javascript:alert(1)"])
def test_other_url_schemes_are_refused(tmp_path, source):
    with pytest.raises(CorpusError, match="refusing"):
        ingest(source, tmp_path / "corpus")


def test_a_server_that_never_answers_times_out(tmp_path):
    with socket.socket() as silent:  # accepts connections (the backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(CorpusError, match="Timeout"):
            ingest(f"http://127.0.0.1:{silent.getsockname()[1]}/feed", tmp_path / "corpus", timeout=0.5)


def test_an_unreachable_source_is_a_one_line_error(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    with static_server(site) as base:
        with pytest.raises(CorpusError, match="HTTP 404"):
            ingest(f"{base}/feeds/posts/default", tmp_path / "corpus")
    with pytest.raises(CorpusError, match="no such file"):
        ingest(str(tmp_path / "nowhere"), tmp_path / "corpus")


BREAD = """<div>Sourdough bread rises with a starter of wild yeast instead of packaged yeast.<br><br>
<h2>Proofing the dough</h2><div>Let the shaped dough proof in the fridge overnight, twelve to fourteen hours,
so the flavour deepens and the crust blisters.</div><h2>Baking</h2>
<div>Bake the loaf in a preheated Dutch oven at 250 degrees with the lid on for twenty minutes.</div></div>"""
SOCKS = """<div>Knitting socks is easier than it looks once you can knit in the round.<br><br>
<h2>Choosing yarn</h2><div>Use a fingering weight wool with some nylon, so the heels and toes do not wear through.</div>
<h2>Turning the heel</h2><div>Knit a heel flap, then turn the heel with short rows before picking up the gusset stitches.</div></div>"""
POOLS = """<div>Tide pools are small worlds left behind on rocky shores when the tide goes out.<br><br>
<h2>Creatures</h2><div>Sea anemones, hermit crabs, mussels and purple sea urchins live in tide pools.</div>
<h2>Visiting safely</h2><div>Visit at low tide, wear shoes with good grip, and never turn your back on the waves.</div></div>"""


@pytest.mark.slow
def test_questions_about_ingested_posts_cite_those_posts(tmp_path):
    from assistant.engine.assistant import Assistant
    from assistant.settings import Settings

    site, corpus = tmp_path / "site", tmp_path / "corpus"
    topics = [("Baking sourdough bread", "bread.html", BREAD), ("Knitting your first socks", "socks.html", SOCKS),
              ("A guide to tide pools", "tide-pools.html", POOLS)]
    with static_server(write(site / "index.html", "").parent) as base:
        entries = [{"title": t, "path": p, "url": f"{base}/2024/01/{p}", "updated": "2024-01-01T00:00:00Z", "content": c}
                   for t, p, c in topics]
        write(site / "feeds/posts/default", atom(entries))
        assert ingest(f"{base}/feeds/posts/default", corpus).added == 3

    assistant = Assistant.load(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"))
    questions = ["How long should sourdough dough proof in the fridge?", "What yarn should I use for knitting socks?",
                 "What creatures live in tide pools?"]
    for question, entry in zip(questions, entries):
        answer = assistant.ask(question)
        assert answer.answerable, question
        assert answer.citations[0].doc_title == entry["title"]
        assert answer.citations[0].url.startswith(entry["url"])


@pytest.mark.slow
def test_the_ingest_command_pulls_a_feed_builds_and_re_embeds_only_a_changed_post(blog, tmp_path):
    import json
    import os
    import subprocess
    import sys

    base, site, entries = blog
    env = os.environ | {"ASSISTANT_CORPUS_DIR": str(tmp_path / "corpus"), "ASSISTANT_INDEX_DIR": str(tmp_path / "index")}

    def assistant(*args) -> dict:
        done = subprocess.run([sys.executable, "-m", "assistant", *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return json.loads(done.stdout)

    first = assistant("ingest", f"{base}/feeds/posts/default", "--json")
    assert (first["added"], first["updated"], len(first["files"])) == (3, 0, 3)
    assert first["build"]["embedded"] == first["build"]["passages"] > 3

    answer = assistant("ask", "--no-build", "--json", "When should I go to the tide pools?")
    assert answer["citations"][0]["doc_title"] == "Exploring tide pools"
    assert answer["citations"][0]["url"].startswith(entries[2]["url"])

    entries[2] |= {"content": TIDES.replace("an hour before", "two hours before"), "updated": "2023-06-01T10:00:00.000-07:00"}
    write(site / "feeds/posts/default", atom(entries))
    second = assistant("ingest", f"{base}/feeds/posts/default", "--json")
    assert (second["added"], second["updated"], second["unchanged"]) == (0, 1, 2)
    assert (second["build"]["embedded"], second["build"]["removed"]) == (1, 1)


# --- What ingest may fetch (issue 24): the source's host only, public addresses only, within caps.
# The blog is on 127.0.0.1; "localhost" is another host (its server is on 127.0.0.1 too).

SECRET = "<html><body><div class='post-body'>Admin token: s3cr3t. Only for the owner.</div></body></html>"


def test_entries_and_redirects_to_another_host_are_not_fetched(tmp_path):
    site, admin, corpus = tmp_path / "site", tmp_path / "admin", tmp_path / "corpus"
    write(admin / "admin/token.html", SECRET)
    admin_seen: list[str] = []
    with static_server(admin, seen=admin_seen) as admin_base:
        elsewhere = admin_base.replace("127.0.0.1", "localhost") + "/admin/token.html"
        with static_server(write(site / "index.html", "").parent, redirects={"/go": elsewhere}) as base:
            full = with_urls(base, posts())[0]
            linked = {"title": "Linked", "path": "a", "url": elsewhere, "updated": "2023-01-01T00:00:00Z", "summary": "..."}
            bounced = {"title": "Bounced", "path": "b", "url": f"{base}/go", "updated": "2023-01-01T00:00:00Z", "summary": "..."}
            write(site / "feed.xml", atom([full, linked, bounced]))
            report = ingest(f"{base}/feed.xml", corpus)

    assert admin_seen == []  # not one request reached the other host
    assert report.added == 1
    assert len(report.failed) == 2 and all("is not the source's host" in line and "--allow-host" in line
                                           for line in report.failed), report.failed
    assert not any("s3cr3t" in path.read_text() for path in corpus.rglob("*.md"))


def test_a_host_the_owner_names_is_fetched(tmp_path):
    site, other, corpus = tmp_path / "site", tmp_path / "other", tmp_path / "corpus"
    write(other / "2023/muscles.html", blog_page("Facial muscles and wrinkles", "", MUSCLES))
    other_seen: list[str] = []
    with static_server(other, seen=other_seen) as other_base:
        elsewhere = other_base.replace("127.0.0.1", "localhost") + "/2023/muscles.html"
        with static_server(write(site / "index.html", "").parent, redirects={"/go": elsewhere}) as base:
            write(site / "feed.xml", atom([{"title": "Muscles", "path": "go", "url": f"{base}/go",
                                            "updated": "2023-01-01T00:00:00Z", "summary": "..."}]))
            report = ingest(f"{base}/feed.xml", corpus, allow_hosts=["localhost"])

    assert (report.added, report.failed, other_seen) == (1, (), ["/2023/muscles.html"])


def test_a_name_that_resolves_to_a_private_address_is_refused_unless_the_source_is_one(tmp_path):
    """A saved feed has no address of its own: a named host is fetched only if it is public,
    and the check is made on the DNS answer the connection uses ("localhost" -> 127.0.0.1)."""
    site, corpus = tmp_path / "site", tmp_path / "corpus"
    write(site / "2023/muscles.html", blog_page("Facial muscles and wrinkles", "", MUSCLES))
    seen: list[str] = []
    with static_server(site, seen=seen) as base:
        local = base.replace("127.0.0.1", "localhost")
        feed = write(tmp_path / "saved/feed.xml", atom([{"title": "Muscles", "path": "m", "updated": "2023-01-01T00:00:00Z",
                                                        "url": f"{local}/2023/muscles.html", "summary": "..."}]))
        report = ingest(str(feed), corpus, allow_hosts=["localhost"])

    assert seen == [] and report.added == 0
    assert report.failed == ("localhost resolves to 127.0.0.1, which is not a public address; "
                             "ingest reaches private addresses only when the source itself is one",)


@pytest.mark.parametrize("address, public", [
    ("127.0.0.2", False), ("10.1.2.3", False), ("192.168.0.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("0.0.0.0", False), ("224.0.0.1", False), ("::1", False), ("fe80::1%eth0", False), ("::ffff:127.0.0.1", False),
    ("fd00::1", False), ("93.184.216.34", True), ("2606:4700::1", True)])
def test_which_addresses_are_public(address, public):
    from assistant.content.fetcher import is_public

    assert is_public(address) is public


def test_a_relative_canonical_is_resolved_and_other_schemes_are_dropped(tmp_path):
    site, corpus = tmp_path / "site", tmp_path / "corpus"
    with static_server(write(site / "index.html", "").parent) as base:
        write(site / "2023/05/muscles.html", blog_page("Facial muscles and wrinkles", "/2023/05/facial-muscles.html", MUSCLES))
        write(site / "2023/04/starter.html", blog_page("Caring for a sourdough starter", "javascript:alert(1)", STARTER))
        write(site / "sitemap.xml", f"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{base}/2023/05/muscles.html</loc></url><url><loc>{base}/2023/04/starter.html</loc></url></urlset>""")
        from_sitemap = ingest(f"{base}/sitemap.xml", corpus)
        tides = with_urls(base, posts())[2] | {"url": "javascript:alert(1)"}
        write(site / "feed.xml", atom([tides]))
        from_feed = ingest(f"{base}/feed.xml", tmp_path / "feed-corpus")

    assert (from_sitemap.added, from_feed.added) == (2, 1)
    documents, skipped = load_corpus(corpus)
    assert skipped == []
    assert sorted(d.url for d in documents) == [f"{base}/2023/04/starter.html", f"{base}/2023/05/facial-muscles.html"]
    documents, skipped = load_corpus(tmp_path / "feed-corpus")
    assert (skipped, [(d.title, d.url) for d in documents]) == ([], [("Exploring tide pools", "")])


def caps(**limits):
    from assistant.content.fetcher import (
        Limits,  # here, so the older code fails test by test
    )

    return Limits(**limits)


def feed_chain(site: Path, base: str, length: int) -> None:
    """feed-0.xml -> feed-1.xml -> … by rel="next", one post each, every page unique."""
    for n in range(length):
        entry = {"title": f"Post {n}", "path": f"p/{n}.html", "url": f"{base}/p/{n}.html", "updated": "2023-01-01T00:00:00Z",
                 "content": f"<p>Post number {n} is about tide pools.</p>"}
        write(site / f"feed-{n}.xml", atom([entry], next_href=f"{base}/feed-{n + 1}.xml"))


def test_a_chain_of_400_feed_pages_stops_at_max_pages(tmp_path):
    site, seen = tmp_path / "site", []
    with static_server(write(site / "index.html", "").parent, seen=seen) as base:
        feed_chain(site, base, 400)
        report = ingest(f"{base}/feed-0.xml", tmp_path / "corpus", limits=caps(pages=5))

    assert len(seen) == 5 and report.added == 5
    assert report.stopped == ("max-pages: stopped after 5 pages",)


def test_a_sitemap_index_of_400_sitemaps_stops_at_max_pages(tmp_path):
    site, seen = tmp_path / "site", []
    with static_server(write(site / "index.html", "").parent, seen=seen) as base:
        for n in range(400):
            write(site / f"sitemap-{n}.xml", '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>')
        write(site / "sitemap.xml", '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + "".join(
            f"<sitemap><loc>{base}/sitemap-{n}.xml</loc></sitemap>" for n in range(400)) + "</sitemapindex>")
        report = ingest(f"{base}/sitemap.xml", tmp_path / "corpus", limits=caps(pages=5))

    assert len(seen) == 5
    assert report.stopped == ("max-pages: stopped after 5 pages",)


def test_max_bytes_stops_a_chain_of_feed_pages(tmp_path):
    site, seen = tmp_path / "site", []
    with static_server(write(site / "index.html", "").parent, seen=seen) as base:
        feed_chain(site, base, 400)
        page = (site / "feed-1.xml").stat().st_size
        report = ingest(f"{base}/feed-0.xml", tmp_path / "corpus", limits=caps(bytes=int(page * 2.5)))

    assert len(seen) == 3 and report.added == 2  # the third page went over while it was read
    assert report.stopped == (f"max-bytes: stopped after {int(page * 2.5)} bytes",)


def test_max_seconds_stops_a_chain_of_feed_pages(tmp_path):
    """The clock is the server's: each request it answers takes ten 'seconds'."""
    site, seen = tmp_path / "site", []
    with static_server(write(site / "index.html", "").parent, seen=seen) as base:
        feed_chain(site, base, 400)
        report = ingest(f"{base}/feed-0.xml", tmp_path / "corpus", limits=caps(seconds=35),
                        clock=lambda: 10.0 * len(seen))

    assert len(seen) == 4 and report.added == 3  # the fourth page came in at 40 s, past the cap
    assert report.stopped == ("max-seconds: stopped after 35 s",)


def test_posts_a_cap_left_unfetched_are_counted_not_failed(tmp_path):
    site, seen = tmp_path / "site", []
    with static_server(write(site / "index.html", "").parent, seen=seen) as base:
        entries = with_urls(base, posts())
        for entry in entries:
            write(site / entry["path"], blog_page(entry["title"], entry["url"], entry["content"]))
        summaries = [{k: v for k, v in e.items() if k != "content"} | {"summary": "..."} for e in entries]
        write(site / "feed.xml", atom(summaries))
        report = ingest(f"{base}/feed.xml", tmp_path / "corpus", limits=caps(pages=2))

    assert (len(seen), report.added, report.failed) == (2, 1, ())
    assert report.stopped == ("max-pages: stopped after 2 pages (2 posts not fetched)",)


def test_a_chain_of_sitemap_indexes_is_followed_one_level_as_the_protocol_allows(tmp_path):
    site, seen = tmp_path / "site", []
    with static_server(write(site / "index.html", "").parent, seen=seen) as base:
        for n in range(400):
            write(site / f"sitemap-{n}.xml", f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                                             f'<sitemap><loc>{base}/sitemap-{n + 1}.xml</loc></sitemap></sitemapindex>')
        report = ingest(f"{base}/sitemap-0.xml", tmp_path / "corpus")

    assert seen == ["/sitemap-0.xml", "/sitemap-1.xml"]
    assert report.failed == (f"{base}/sitemap-1.xml: a sitemap index listed by a sitemap index; not followed "
                             "(the sitemap protocol allows one level)",)


def test_a_chain_of_empty_feed_pages_ends_at_the_first_empty_one(tmp_path):
    site, seen = tmp_path / "site", []
    with static_server(write(site / "index.html", "").parent, seen=seen) as base:
        feed_chain(site, base, 1)
        for n in range(1, 400):
            write(site / f"feed-{n}.xml", atom([], next_href=f"{base}/feed-{n + 1}.xml"))
        report = ingest(f"{base}/feed-0.xml", tmp_path / "corpus")

    assert (seen, report.added) == (["/feed-0.xml", "/feed-1.xml"], 1)
