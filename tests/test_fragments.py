"""Text-fragment links land on their own sentence: the first match of each citation's
fragment, on the page the citation opens, is exactly the quoted sentence. (The browser
check of the same, on the served page, is in test_ui.py.)"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from assistant.answer.fragments import Directive, Linker, first_match
from assistant.content.article_page import article_blocks
from assistant.content.corpus import load_corpus
from assistant.content.passages import passages_of_all
from assistant.records import Citation

PROJECT_CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def passages():
    documents, _ = load_corpus(PROJECT_CORPUS)
    return passages_of_all(documents)


def citation_of(passage, start: int, end: int) -> Citation:
    return Citation(1, passage.doc_title, passage.section_path, passage.url, passage.text, 1.0, passage.id, (start, end))


def directive_of(url: str) -> Directive:
    """The text directive of a URL, split as a browser splits it (prefix-, start, end, -suffix)."""
    parts = url.split(":~:text=", 1)[1].split(",")
    prefix = unquote(parts.pop(0)[:-1]) if parts[0].endswith("-") else ""
    suffix = unquote(parts.pop()[1:]) if parts[-1].startswith("-") else ""
    return Directive(unquote(parts[0]), unquote(parts[1]) if len(parts) > 1 else "", prefix, suffix)


def every_sentence(passages):
    for passage in passages:
        for start, end in passage.sentences:
            yield passage, start, end


def test_every_sentence_of_the_bundled_article_is_the_first_match_of_its_fragment(passages):
    linker = Linker(passages)
    page = article_blocks(passages, passages[0].doc_slug)
    blocks = page.texts()
    checked, urls = 0, []
    for passage, start, end in every_sentence(passages):
        url = linker.url(citation_of(passage, start, end))
        (block, a), (same, b) = first_match(blocks, directive_of(url))
        assert block == same == page.paragraph_blocks[passage.paragraph], url
        assert blocks[block][a:b] == " ".join(passage.text[start:end].split()), url
        checked += 1
        urls.append(url)
    assert checked == 27 and len(set(urls)) == 27
    # asked again, each comes from what the linker remembers, still one per sentence
    assert [linker.url(citation_of(p, start, end)) for p, start, end in every_sentence(passages)] == urls


def test_a_start_phrase_also_in_the_introduction_gets_context(passages):
    """"The repeated contraction of…" opens a sentence of the introduction too: the plain
    four-word fragment would highlight from there."""
    collagen = next(p for p in passages if p.section == ("The Role of Collagen and Elastin",))
    start = collagen.text.index("The repeated contraction")
    end = collagen.text.index("wrinkles.", start) + len("wrinkles.")
    blocks = article_blocks(passages, collagen.doc_slug).texts()
    plain = Directive("The repeated contraction of", "expression lines and wrinkles.")
    (block, _), _ = first_match(blocks, plain)
    assert blocks[block].startswith("Facial expressions are an integral part")  # the introduction: the old link's landing
    url = Linker(passages).url(citation_of(collagen, start, end))
    assert url.endswith("#the-role-of-collagen-and-elastin:~:text=creasing.-,The%20repeated%20contraction%20of,"
                        "expression%20lines%20and%20wrinkles.")


def test_a_start_phrase_in_the_title_gets_a_longer_start(passages):
    conclusion = next(p for p in passages if p.section == ("Conclusion",))
    start, end = conclusion.sentences[0]
    url = Linker(passages).url(citation_of(conclusion, start, end))
    assert directive_of(url).start == "Facial expression muscles and wrinkles share"  # the title has "Facial Expression Muscles and"


def test_matching_follows_the_browser_rules():
    blocks = ["There is the cat.", "THE CAT sat. The cat ran away.", "ran away home"]
    assert first_match(blocks, Directive("the cat")) == ((0, 9), (0, 16))  # word-bounded: not "There"; any case
    assert first_match(blocks, Directive("cat", prefix="The")) == ((0, 13), (0, 16))
    assert first_match(blocks, Directive("cat", prefix="sat. The")) == ((1, 17), (1, 20))
    assert first_match(blocks, Directive("The cat", "away", suffix="home")) == ((0, 9), (2, 8))  # context may cross blocks
    assert first_match(blocks, Directive("cat sat. The cat ran")) == ((1, 4), (1, 24))
    assert first_match(blocks, Directive("cat. THE CAT")) is None  # a match never spans two blocks
    assert first_match(blocks, Directive("nowhere")) is None


def test_a_prefix_must_come_right_before_the_start():
    """A browser takes the first "tide pools" that follows "winter the" directly: not the
    one two sentences on from the first "winter the"."""
    text = "In winter the sea is calm. The tide pools freeze. In winter the tide pools freeze solid."
    second = text.index("tide pools freeze solid")
    assert first_match([text], Directive("tide pools", prefix="winter the")) == ((0, second), (0, second + len("tide pools")))
    assert first_match([text], Directive("sea is", prefix="winter the")) == ((0, 14), (0, 20))
    assert first_match([text], Directive("freeze", prefix="the sea")) is None  # "freeze" comes later, never right after


def test_citations_link_to_the_public_url_when_the_corpus_knows_it(tmp_path):
    (tmp_path / "post.md").write_text("---\ntitle: Wrinkles\nurl: https://blog.example/2024/wrinkles.html\n---\n\n"
                                      "## Sun Protection\n\nSunscreen helps. It blocks UV rays every day.\n", encoding="utf-8")
    documents, _ = load_corpus(tmp_path)
    [passage] = passages_of_all(documents)
    start, end = passage.sentences[1]
    url = Linker([passage]).url(citation_of(passage, start, end))
    assert url == "https://blog.example/2024/wrinkles.html#sun-protection:~:text=It%20blocks%20UV%20rays%20every%20day."



ZEBRAS = """---
title: Zebras
---
## Introduction
The striped coat of a zebra confuses biting flies. Zebras graze in the early morning on the open plains of Africa.

## Coats
Every herd has its own routines and paths, {long} as the elders remember them. The striped coat of a zebra confuses
lions hunting near rivers at dusk, say quagga researchers.
""".format(long="walking the same tracks between grass and water, season after season, year after year, " * 4)


def test_the_engine_links_each_quote_to_its_own_sentence_not_an_earlier_one_that_starts_alike(tmp_path, fake_embedder):
    # not each interface: the Python API, the CLI, the chat and the widget get the same links
    from assistant.engine.assistant import Assistant
    from assistant.engine.build import build
    from assistant.settings import Settings

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "zebras.md").write_text(ZEBRAS)
    build(tmp_path / "corpus", tmp_path / "index", fake_embedder)
    assistant = Assistant.load(Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index"), embedder=fake_embedder)
    quote = assistant.ask("What confuses lions near rivers according to quagga researchers?").citations[0]
    assert quote.quoted and quote.text[slice(*quote.highlight)].startswith("The striped coat of a zebra confuses lions")
    page = article_blocks(assistant.index.passages, "zebras")
    blocks = page.texts()
    (block, a), (same, b) = first_match(blocks, directive_of(quote.url))
    assert block == same == page.paragraph_blocks[1], quote.url  # the Coats paragraph, not the introduction
    assert blocks[block][a:b] == " ".join(quote.text[slice(*quote.highlight)].split())
