"""Source links: an article's URL must be absolute http(s) with a host (checked when the
corpus is read: a file without one is left out with a warning, the others are served), and
only such URLs or paths of this server become links."""
from __future__ import annotations

import json
import logging

import pytest
from conftest import FakeEmbedder

from assistant.answer.render import safe_link
from assistant.content.corpus import load_corpus
from assistant.engine import build as index_build
from assistant.errors import CorpusError

HOSTILE = ["//evil.example/post", "/\\evil.example", "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x",
           "https:///no-host", "https://", "ftp://blog.example/post", " https://blog.example/post", "https://blog.example/a b"]


@pytest.mark.parametrize("url", HOSTILE)
def test_a_corpus_url_that_is_not_absolute_http_with_a_host_leaves_out_only_its_file(url, tmp_path):
    (tmp_path / "post.txt").write_text("Title\n\nSome paragraph about wrinkles.\n", encoding="utf-8")
    (tmp_path / "post.meta.json").write_text(json.dumps({"url": url}), encoding="utf-8")
    (tmp_path / "good.txt").write_text("Good\n\nA paragraph about sourdough.\n", encoding="utf-8")

    documents, skipped = load_corpus(tmp_path)

    assert [d.source for d in documents] == ["good.txt"]
    [bad] = skipped
    assert (bad.source, bad.reason, bad.needs_fixing) == ("post.txt", "url", True)
    assert "absolute http(s) URL with a host" in bad.detail and "\n" not in bad.detail


def test_a_corpus_of_only_a_bad_url_says_which_file(tmp_path):
    (tmp_path / "post.md").write_text("---\nurl: /2023/05/post.html\n---\n# Title\n\nSome paragraph.\n", encoding="utf-8")
    with pytest.raises(CorpusError) as refused:
        load_corpus(tmp_path)
    assert "post.md" in str(refused.value) and "absolute http(s) URL with a host" in str(refused.value)


def test_a_build_serves_the_other_posts_and_warns_about_one_relative_url(tmp_path, caplog):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "relative.md").write_text("---\ntitle: Relative\nurl: /2023/05/post.html\n---\n\nAbout wrinkles.\n",
                                        encoding="utf-8")
    (corpus / "script.md").write_text("---\nurl: javascript:alert(1)\n---\n\nAbout tide pools.\n", encoding="utf-8")
    (corpus / "good.md").write_text("---\nurl: https://blog.example/good\n---\n\nAbout sourdough starters.\n",
                                    encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="assistant"):
        report = index_build.build(corpus, tmp_path / "index", FakeEmbedder())
        index_build.log_skipped(report)

    assert report.documents == 1
    assert sorted((s.source, s.reason) for s in report.skipped) == [("relative.md", "url"), ("script.md", "url")]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("relative.md: url '/2023/05/post.html'") for m in warned), warned
    assert any(m.startswith("script.md: url 'javascript:alert(1)'") for m in warned), warned


@pytest.mark.parametrize("url", HOSTILE)
def test_no_link_is_made_from_an_unsafe_url_in_an_older_index(url):
    assert safe_link(url) == ""


@pytest.mark.parametrize("url", ["https://blog.example/post#dynamic-wrinkles:~:text=Dynamic%20Wrinkles",
                                 "http://localhost:8000/p", "/articles/facial-expression#dynamic-wrinkles"])
def test_web_links_and_this_servers_paths_stay_links(url):
    assert safe_link(url) == url
