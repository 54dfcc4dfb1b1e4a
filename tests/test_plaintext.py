"""Plain pasted blog text parses into a title and section-tagged paragraphs that are
verbatim slices of the file."""
from __future__ import annotations

import pytest

from assistant.content.plaintext import parse_text

TITLE = "The Connection Between Facial Expression Muscles and Wrinkles: Understanding the Aging Process"
PREVENTING = "Preventing and Reducing Facial Expression Wrinkles"
TYPES = "Types of Wrinkles Associated with Facial Expressions"

SECTIONS_IN_ORDER = [
    ("Introduction",),
    ("Understanding Facial Expression Muscles",),
    ("The Role of Collagen and Elastin",),
    (TYPES, "Dynamic Wrinkles"),
    (TYPES, "Static Wrinkles"),
    (PREVENTING,),
    (PREVENTING, "Sun Protection"),
    (PREVENTING, "Facial Exercises"),
    (PREVENTING, "Skincare Routine"),
    (PREVENTING, "Minimally Invasive Procedures"),
    ("Conclusion",),
]


@pytest.fixture(scope="module")
def article(article_text):
    return parse_text(article_text)


def test_the_first_line_is_the_title(article):
    assert article.title == TITLE


def test_every_paragraph_gets_its_section_path_in_reading_order(article):
    assert [block.section for block in article.blocks] == SECTIONS_IN_ORDER


def test_the_article_has_eleven_paragraphs(article):
    assert len(article.blocks) == 11


def test_paragraphs_are_the_ones_you_see_in_the_article(article):
    blocks = article.blocks
    assert blocks[0].text.startswith("Facial expressions are an integral part of human communication")
    assert blocks[3].text.startswith("Dynamic Wrinkles: These wrinkles are formed when facial muscles contract")
    assert "crow's feet around the eyes" in blocks[3].text
    assert blocks[-1].text.endswith("age gracefully and confidently.")


def test_headings_are_not_paragraphs(article):
    texts = [block.text for block in article.blocks]
    assert "Understanding Facial Expression Muscles:" not in texts
    assert not any(text.rstrip().endswith(":") and len(text) < 80 for text in texts)


def test_blog_chrome_after_the_article_is_dropped(article):
    for block in article.blocks:
        assert "Popular posts" not in block.text
        assert "foot drop" not in block.text


def test_blocks_are_verbatim_slices_of_the_raw_text(article, article_text):
    assert article.text == article_text
    for block in article.blocks:
        assert article_text[block.start : block.end] == block.text
        assert block.text == block.text.strip()


def test_blocks_do_not_overlap_and_keep_file_order(article):
    ends = [block.end for block in article.blocks]
    starts = [block.start for block in article.blocks]
    assert all(end <= next_start for end, next_start in zip(ends, starts[1:]))


def test_text_without_headings_has_no_sections():
    raw = "A short note on skin\n\nSleep well and drink water.\n\nWear a hat in the sun.\n"
    parsed = parse_text(raw)
    assert parsed.title == "A short note on skin"
    assert [block.text for block in parsed.blocks] == ["Sleep well and drink water.", "Wear a hat in the sun."]
    assert all(block.section == () for block in parsed.blocks)


def test_a_long_line_ending_in_a_colon_is_a_paragraph_not_a_heading():
    long_line = (
        "Before we get to the details there is one thing that everyone who reads this article should know about:"
    )
    assert len(long_line) > 80
    raw = f"My title\n\nBasics:\n\nSkin is an organ.\n\n{long_line}\n\nIt stretches and recovers.\n"
    parsed = parse_text(raw)
    assert [block.text for block in parsed.blocks] == ["Skin is an organ.", long_line, "It stretches and recovers."]
    assert all(block.section == ("Basics",) for block in parsed.blocks)


def test_a_short_line_ending_in_a_colon_is_a_heading():
    parsed = parse_text("Title\n\nFirst part:\n\nOne.\n\nSecond part:\n\nTwo.\n")
    assert [(block.section, block.text) for block in parsed.blocks] == [
        (("First part",), "One."),
        (("Second part",), "Two."),
    ]


def test_empty_and_title_only_texts_have_no_blocks():
    assert parse_text("").blocks == ()
    assert parse_text("   \n\n  ").blocks == ()
    only_title = parse_text("Just a title\n")
    assert only_title.title == "Just a title"
    assert only_title.blocks == ()
