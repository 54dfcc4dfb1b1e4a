"""Drafts stay private: a post marked `draft: true` or `published: false`, or dated in the
future, is never indexed, answered or given a page, and the build says how many it left
out. Front matter that is not YAML is a warning naming its line, and that post is left
out too (it might have said `draft: true`); the rest of the blog still builds. Time is a
parameter here (`now`), never a wait."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from conftest import FakeEmbedder

from assistant import cli
from assistant.content.article_page import article_blocks
from assistant.content.corpus import fingerprint, load_corpus
from assistant.engine import build as index_build
from assistant.search import index as index_store

SOURDOUGH = """---
title: Sourdough at home
---
# Sourdough at home

A sourdough starter needs flour, water and a warm kitchen. Feed it every morning.

## Baking

Bake the loaf in a covered pot at 250 degrees for forty minutes.
"""

RYE = """---
title: Our rye secret
{front_matter}
---
# Our rye secret

The rye starter is fed with pineapple juice every Tuesday, which nobody may know yet.
"""

MAY_31 = datetime(2030, 5, 31, 12, 0, tzinfo=UTC)
JUNE_2 = datetime(2030, 6, 2, 12, 0, tzinfo=UTC)


def blog(folder: Path, rye_front_matter: str) -> Path:
    """A blog of two posts: sourdough (public) and rye, with the front matter line(s) given."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sourdough.md").write_text(SOURDOUGH, encoding="utf-8")
    (folder / "rye.md").write_text(RYE.format(front_matter=rye_front_matter), encoding="utf-8")
    return folder


def published(corpus: Path, now: datetime = MAY_31) -> list[str]:
    return [doc.source for doc in load_corpus(corpus, now)[0]]


# the front matter line, and whether the post is public with it
FLAGS = {"draft: true": False, "draft: yes": False, "draft: True": False, 'draft: "true"': False, 'draft: "Yes"': False,
         "published: false": False, "published: no": False, 'published: "false"': False, 'published: "NO"': False,
         "draft: false": True, 'draft: "no"': True, "published: true": True, 'published: "yes"': True, "": True}


def test_a_post_that_says_it_is_a_draft_is_left_out_and_one_that_says_it_is_public_is_kept(tmp_path):
    for n, (front_matter, public) in enumerate(FLAGS.items()):
        documents, skipped = load_corpus(blog(tmp_path / str(n), front_matter), MAY_31)
        left_out = [] if public else [("rye.md", "draft")]
        assert [(s.source, s.reason) for s in skipped] == left_out, front_matter
        assert [doc.source for doc in documents] == ["rye.md", "sourdough.md"][not public:], front_matter


def test_a_post_dated_in_the_future_waits_and_one_dated_in_the_past_is_kept(tmp_path):
    assert published(blog(tmp_path / "future", "date: 2030-06-01")) == ["sourdough.md"]
    assert published(blog(tmp_path / "past", "date: 2030-05-01")) == ["rye.md", "sourdough.md"]
    [skipped] = load_corpus(tmp_path / "future", MAY_31)[1]
    assert (skipped.source, skipped.reason, skipped.detail) == ("rye.md", "scheduled", "scheduled for 2030-06-01 00:00 UTC")


def test_a_date_alone_is_that_day_at_midnight_utc_and_a_time_with_a_zone_is_compared_in_utc(tmp_path):
    day = blog(tmp_path / "day", "date: 2030-06-01")
    assert published(day, datetime(2030, 5, 31, 23, 59, tzinfo=UTC)) == ["sourdough.md"]
    assert published(day, datetime(2030, 6, 1, 0, 0, tzinfo=UTC)) == ["rye.md", "sourdough.md"]
    paris = blog(tmp_path / "paris", "date: 2030-06-01T09:00:00+02:00")  # 07:00 UTC
    assert published(paris, datetime(2030, 6, 1, 6, 59, tzinfo=UTC)) == ["sourdough.md"]
    assert published(paris, datetime(2030, 6, 1, 7, 0, tzinfo=UTC)) == ["rye.md", "sourdough.md"]


def test_a_sidecar_can_keep_a_text_post_private_too(tmp_path):
    (tmp_path / "bread.txt").write_text("Bread\n\nKnead the dough for ten minutes.\n", encoding="utf-8")
    for meta, reason in [({"draft": True}, "draft"), ({"published": "no"}, "draft"), ({"date": "2030-06-01"}, "scheduled")]:
        (tmp_path / "diary.txt").write_text("Diary\n\nThe rye starter is fed with pineapple juice.\n", encoding="utf-8")
        (tmp_path / "diary.meta.json").write_text(json.dumps(meta), encoding="utf-8")
        documents, skipped = load_corpus(tmp_path, MAY_31)
        assert ([doc.source for doc in documents], [(s.source, s.reason) for s in skipped]) == (["bread.txt"], [("diary.txt", reason)])


def test_a_draft_is_never_indexed_nor_given_a_page_and_the_build_counts_it(tmp_path):
    corpus = blog(tmp_path / "corpus", "draft: true")
    report = index_build.build(corpus, tmp_path / "index", FakeEmbedder(), now=MAY_31)
    passages = index_store.load(tmp_path / "index").passages
    assert (report.documents, report.drafts_skipped) == (1, 1)
    assert not any("pineapple" in p.text for p in passages)
    assert article_blocks(passages, "rye") is None and article_blocks(passages, "sourdough") is not None


def test_a_scheduled_post_is_built_in_once_its_date_has_passed(tmp_path):
    corpus, index = blog(tmp_path / "corpus", "date: 2030-06-01"), tmp_path / "index"
    before = index_build.build(corpus, index, FakeEmbedder(), now=MAY_31)
    again = index_build.build(corpus, index, FakeEmbedder(), now=MAY_31)
    after = index_build.build(corpus, index, FakeEmbedder(), now=JUNE_2)  # no file changed, only the time
    assert (before.documents, before.drafts_skipped) == (1, 1)
    assert (again.changed, again.embedded) == (False, 0)
    assert (after.changed, after.documents, after.drafts_skipped) == (True, 2, 0)
    assert any("pineapple" in p.text for p in index_store.load(index).passages)


def test_the_fingerprint_changes_when_a_scheduled_post_comes_due_and_only_then(tmp_path):
    corpus = blog(tmp_path, "date: 2030-06-01")
    assert fingerprint(corpus, MAY_31) == fingerprint(corpus, datetime(2030, 5, 31, 23, 0, tzinfo=UTC))
    assert fingerprint(corpus, MAY_31) != fingerprint(corpus, JUNE_2)
    assert fingerprint(corpus, JUNE_2) == fingerprint(corpus, datetime(2031, 1, 1, tzinfo=UTC))


def test_front_matter_that_is_not_yaml_leaves_its_post_out_naming_the_line_and_the_rest_builds(tmp_path):
    (tmp_path / "posts").mkdir()
    (tmp_path / "sourdough.md").write_text(SOURDOUGH, encoding="utf-8")
    (tmp_path / "posts" / "bread.md").write_text("---\ntitle: Bread\nsubtitle: Rye: the secret\n---\nFed with pineapple.\n",
                                                 encoding="utf-8")
    documents, [skipped] = load_corpus(tmp_path, MAY_31)
    assert [doc.source for doc in documents] == ["sourdough.md"]
    assert (skipped.source, skipped.reason, skipped.line) == ("posts/bread.md", "front matter", 3)
    assert skipped.detail.startswith("front matter is not valid YAML (mapping values are not allowed here); skipped")


# --- the command, as an owner runs it (in-process, with the fake embedder) -------------------------


class CommandEmbedder(FakeEmbedder):
    """The fake embedder under the name the CLI builds (`Embedder(model)`), ignoring the export."""

    def __init__(self, model: str | None = None) -> None:
        super().__init__()

    def use_export(self, path) -> None:
        pass


def command(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_assistant_build_counts_the_drafts_warns_about_bad_front_matter_and_ask_never_quotes_a_draft(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("assistant.model.embedder.Embedder", CommandEmbedder)
    monkeypatch.chdir(tmp_path)
    corpus = blog(tmp_path / "corpus", "draft: true")
    (corpus / "posts").mkdir()
    (corpus / "posts" / "later.md").write_text(RYE.format(front_matter="date: 2999-01-01"), encoding="utf-8")
    (corpus / "posts" / "bread.md").write_text("---\ntitle: Bread\nsubtitle: Rye: the secret\n---\n"
                                               "The rye starter is fed with pineapple juice.\n", encoding="utf-8")
    where = ["--corpus", str(corpus), "--index", str(tmp_path / "index")]

    code, out, err = command(capsys, "build", *where, "--json")
    report = json.loads(out)
    assert code == 0 and "Traceback" not in err
    assert report["drafts_skipped"] == 2
    assert {(s["file"], s["reason"]) for s in report["skipped"]} == {
        ("rye.md", "draft"), ("posts/later.md", "scheduled"), ("posts/bread.md", "front matter")}
    assert ("warning: posts/bread.md line 3: front matter is not valid YAML (mapping values are not allowed here); "
            "skipped") in err
    assert "skipped rye.md: a draft (draft: true)" in err.splitlines()

    code, out, _ = command(capsys, "build", *where)
    assert code == 0 and out.strip().endswith("drafts skipped: 2")

    code, out, _ = command(capsys, "ask", *where, "--json", "What is the rye starter fed with?")
    assert code == 0 and "pineapple" not in out
