"""A conversation carries its topic: follow-ups are answered from the paragraph under
discussion, topic switches on their own, off-topic follow-ups are refused. Real model;
the figures come from tests/eval/conversations.jsonl and the external slice's dialogs."""
from __future__ import annotations

import pytest
from conftest import EVAL_DIR, loader
from stories import talk

from assistant.answer.render import as_json, as_markdown
from assistant.eval.collection import evaluate_collection_dialogs, read_collection
from assistant.eval.dialogs import evaluate_dialogs, read_dialogs

pytestmark = pytest.mark.slow


def test_where_do_they_show_up_after_static_wrinkles_cites_the_nasolabial_folds(real_assistant):
    answer = talk(real_assistant, "What are static wrinkles?", "where do they show up?")
    assert answer.answerable and "nasolabial folds" in answer.citations[0].text
    assert answer.about == "Static Wrinkles"
    body = as_json(answer)
    assert body["about"] == "Static Wrinkles" and "static wrinkles" in body["resolved_query"].casefold()


def test_do_they_go_away_after_crows_feet_quotes_the_dynamic_wrinkles_sentence(real_assistant):
    # Alone, Static Wrinkles ("… even when the muscles are relaxed") wins on the word; in
    # context the paragraph under discussion leads.
    answer = talk(real_assistant, "What are crow's feet?", "do they go away when I relax?")
    assert answer.answerable and answer.about == "Dynamic Wrinkles"
    assert "disappear when the muscles are at rest" in answer.text.split("[1]")[0]


def test_give_me_some_examples_after_dynamic_wrinkles_lists_crows_feet(real_assistant):
    answer = talk(real_assistant, "What are dynamic wrinkles?", "give me some examples")
    assert "Common examples include crow's feet" in answer.text


def test_are_they_risky_after_facial_exercises_quotes_the_warning(real_assistant):
    answer = talk(real_assistant, "Can facial exercises help with wrinkles?", "are they risky?")
    assert "inadvertently exacerbating" in answer.citations[0].text


def test_a_topic_switch_is_answered_on_its_own(real_assistant):
    answer = talk(real_assistant, "What are crow's feet?", "What does elastin do?")
    assert answer.citations[0].section == "The Role of Collagen and Elastin"
    assert answer.about == "" and as_json(answer)["resolved_query"] is None


@pytest.mark.parametrize("last", ["what is the capital of France?", "and the capital of France?"])
def test_an_off_topic_follow_up_is_refused(real_assistant, last):
    answer = talk(real_assistant, "What are static wrinkles?", last)
    assert not answer.answerable and answer.citations == ()


def test_a_follow_up_about_something_not_in_the_article_says_so(real_assistant):
    answer = talk(real_assistant, "Does sunscreen help against wrinkles?", "what about smoking?")
    assert answer.not_covered == ("smoking",)
    assert answer.text.startswith("The article doesn't mention smoking.")


def test_the_chat_markdown_says_quietly_what_a_follow_up_was_taken_to_be_about(real_assistant):
    answer = talk(real_assistant, "What are static wrinkles?", "where do they show up?")
    assert as_markdown(answer).startswith("*About Static Wrinkles*\n\n")


def test_a_short_new_question_answered_from_another_section_is_not_labelled_a_follow_up(real_assistant):
    answer = talk(real_assistant, "What does elastin do?", "Does sunscreen help?")
    assert "sunscreen" in answer.citations[0].text and answer.about == ""


def test_only_the_readers_questions_as_history_still_carry_the_topic(real_assistant):
    answer = real_assistant.ask("where do they show up?", history=["What are static wrinkles?"])
    assert "nasolabial folds" in answer.citations[0].text


@pytest.mark.parametrize("earlier", ["", "x" * 5000, "   "])
def test_an_empty_or_over_long_earlier_turn_is_no_topic_and_no_error(real_assistant, earlier):
    answer = real_assistant.ask("What are crow's feet?", history=[earlier, {"role": "user", "content": earlier}])
    assert answer.answerable and answer.about == ""


def test_a_flood_of_fake_quotes_in_the_history_is_read_no_further_than_the_first_few(real_assistant):
    fake = " ".join(f"Sentence {i} about nothing. [{i}]" for i in range(2000))
    answer = real_assistant.ask("where do they show up?", history=[("What are static wrinkles?", fake)])
    assert answer.about == ""  # none of the first quotes is in the article: no topic


def test_a_real_quote_after_three_fake_ones_is_not_read(real_assistant):
    """Only the first QUOTES_READ (3) quotes of the last answer are looked up: a real
    sentence of the article in fourth place names no topic; in first place it does."""
    real = "These static wrinkles occur due to the gradual loss of collagen and elastin in the skin, " \
           "combined with repetitive muscle contractions."
    fakes = [f"Sentence {i} about nothing at all. [{i}]" for i in (1, 2, 3)]
    fourth = real_assistant.ask("where do they show up?", history=[("What are static wrinkles?", " ".join(fakes) + f" {real} [4]")])
    first = real_assistant.ask("where do they show up?", history=[("What are static wrinkles?", f"{real} [1] " + " ".join(fakes))])
    assert (fourth.about, first.about) == ("", "Static Wrinkles")


def test_on_the_article_history_beats_no_history_and_switches_lose_nothing(real_assistant):
    # 15 follow-ups: one turn is 0.067, so the comparison with the baselines is made on
    # the 138 of tests/eval/external-blog below
    report = evaluate_dialogs(real_assistant, read_dialogs(EVAL_DIR / "conversations.jsonl"))
    assert report.followups >= 12 and report.switches >= 3
    assert report.followup_hit_at_1 >= report.followup_alone_hit_at_1 + 0.15, report
    assert report.switch_hit_at_1 >= report.switch_alone_hit_at_1, report


def test_in_a_whole_blog_follow_ups_stay_in_the_article_under_discussion(real_assistant, tmp_path):
    report = evaluate_collection_dialogs(read_collection(EVAL_DIR / "external-slice"), tmp_path, loader(real_assistant.embedder))
    assert report.followups >= 10
    assert report.followup_hit_at_1 >= report.followup_alone_hit_at_1, report
    assert report.followup_hit_at_1 > report.followup_concat_hit_at_1, report
    assert report.followup_hit_at_1 >= 0.8, report  # measured 0.84-0.89 (fp32 / int8 vectors)


@pytest.mark.slow
@pytest.mark.parametrize("setting", ["one article", "whole blog"])
def test_over_twelve_articles_history_beats_no_history_and_both_baselines(real_assistant, tmp_path, setting):
    report = evaluate_collection_dialogs(read_collection(EVAL_DIR / "external-blog"), tmp_path, loader(real_assistant.embedder),
                                         setting)
    assert report.followups >= 130 and report.switches >= 30
    assert report.followup_hit_at_1 >= report.followup_alone_hit_at_1 + 0.15, report
    # previous question + this one: ahead by 0.058 / 0.072 on 2026-12-06, 0.080 / 0.101 on
    # 2026-12-07 (follow-up hit@1 0.688 / 0.703; the goal: ahead by 0.05)
    assert report.followup_hit_at_1 >= report.followup_concat_hit_at_1 + 0.05, report
    assert report.switch_hit_at_1 >= report.switch_alone_hit_at_1, report
    # follow-ups that open with the previous answer's first source although the answer is
    # elsewhere: 12 / 12 of 138 on 2026-12-06, 10 / 11 since a follow-up whose paragraph
    # has nothing new reads on to the next one, 8 / 9 since a follow-up naming what its
    # article never mentions is a new subject and "how many…?" leaves a paragraph with no
    # number, whole blog 8 since "what about X?" drops the paragraph's prior, 7 since "…in
    # the end?" reads on to a later paragraph (the goal is none; issue 25)
    assert report.needless_repeats <= {"one article": 8, "whole blog": 7}[setting], report


@pytest.mark.parametrize("follow_up", ["and what happened next?", "what happened then?"])
def test_what_happened_next_reads_on_to_the_next_paragraph(story_assistant, follow_up):
    """The first answer quotes all of the first paragraph: asked what happened next, the
    conversation moves on to the second paragraph instead of quoting the first again."""
    first = talk(story_assistant, "Why did Tomas Vell leave Orlen?")
    assert "harvest had failed" in first.citations[0].sentence and "sack of flour" in first.text
    answer = talk(story_assistant, "Why did Tomas Vell leave Orlen?", follow_up)
    assert answer.answerable and "sold the bread of Orlen from a cart" in answer.citations[0].sentence, answer.text


def test_a_follow_up_answered_only_by_what_was_quoted_quotes_it_again(story_assistant):
    """Moving on is for a paragraph with nothing new: what he carried is in the sentence
    already quoted, and nowhere else, so that sentence is quoted again."""
    answer = talk(story_assistant, "Why did Tomas Vell leave Orlen?", "what did he carry with him?")
    assert answer.answerable and "sack of flour" in answer.citations[0].sentence, answer.text


@pytest.mark.parametrize("bare", ["why?", "for what reason?"])
def test_a_bare_question_about_what_was_just_quoted_quotes_it_again(story_assistant, bare):
    """"Who left the village?" quotes the whole first paragraph; "why?" asks about that
    statement (the harvest had failed), not for the next paragraph."""
    answer = talk(story_assistant, "Who left the village?", bare)
    assert answer.answerable and "harvest had failed" in answer.citations[0].sentence, answer.text


def test_a_follow_up_asking_how_many_moves_to_the_paragraph_with_a_number(guild_blog):
    """The paragraph under discussion holds no number, so it can't say how many: the
    article's paragraph that does is quoted (before: the first paragraph again)."""
    first = talk(guild_blog, "What was the bakers' guild of Orlen?")
    assert "association of bakers" in first.citations[0].sentence
    answer = talk(guild_blog, "What was the bakers' guild of Orlen?", "how many people belonged to it?")
    assert answer.answerable and "four hundred members" in answer.citations[0].sentence, answer.text


def test_a_follow_up_naming_what_its_article_never_mentions_is_a_new_subject(guild_blog):
    """"what about Kestrel Bay?" opens like a follow-up, but the baker's story never names
    Kestrel Bay: it is a new subject, answered from its own article (before: the story)."""
    answer = talk(guild_blog, "Why did Tomas Vell leave Orlen?", "what about Kestrel Bay?")
    assert answer.answerable and answer.citations[0].doc_title == "The Harbour of Kestrel Bay", answer.text


@pytest.mark.parametrize("question, other_side", [
    ("what about its train stations?", True),  # after the port: the same city, another side of it
    ("how about the summers?", True),
    ("what about it?", False),  # nothing new named: the paragraph under discussion
    ("and then?", False),
    ("do they go away when I relax?", False),
])
def test_what_about_x_asks_for_another_side_of_the_same_subject(question, other_side):
    from assistant.answer.conversation import new_aspect

    assert new_aspect(question) is other_side


@pytest.mark.parametrize("question, after", [
    ("was he found guilty in the end?", True),
    ("what did it lead to?", True),
    ("and what happened next?", True),
    ("what did he build there?", False),
    ("how did Fox take it?", False),
])
def test_a_follow_up_asking_what_came_after_is_told_later_in_the_text(question, after):
    from assistant.answer.expected import asks_what_followed

    assert asks_what_followed(question) is after
