"""Source links: an article's URL must be absolute http(s) with a host (checked when the
corpus is read), and only such URLs or paths of this server become links."""
from __future__ import annotations

import json

import pytest

from assistant.answer.render import safe_link
from assistant.content.corpus import load_corpus
from assistant.errors import CorpusError

HOSTILE = ["//evil.example/post", "/\\evil.example", "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x",
           "https:///no-host", "https://", "ftp://blog.example/post", " https://blog.example/post", "https://blog.example/a b"]


@pytest.mark.parametrize("url", HOSTILE)
def test_a_corpus_url_that_is_not_absolute_http_with_a_host_stops_the_build_with_its_file(url, tmp_path):
    (tmp_path / "post.txt").write_text("Title\n\nSome paragraph about wrinkles.\n", encoding="utf-8")
    (tmp_path / "post.meta.json").write_text(json.dumps({"url": url}), encoding="utf-8")
    with pytest.raises(CorpusError) as refused:
        load_corpus(tmp_path)
    assert "post.txt" in str(refused.value) and "absolute http(s) URL with a host" in str(refused.value)


@pytest.mark.parametrize("url", HOSTILE)
def test_no_link_is_made_from_an_unsafe_url_in_an_older_index(url):
    assert safe_link(url) == ""


@pytest.mark.parametrize("url", ["https://blog.example/post#dynamic-wrinkles:~:text=Dynamic%20Wrinkles",
                                 "http://localhost:8000/p", "/articles/facial-expression#dynamic-wrinkles"])
def test_web_links_and_this_servers_paths_stay_links(url):
    assert safe_link(url) == url
