"""Made-up articles for conversation tests, small enough to read whole, and `talk`/
`answers_to`, which ask questions in turn the way the chat and the widget send history."""
from __future__ import annotations

from pathlib import Path

from assistant.engine.assistant import Assistant
from assistant.settings import Settings


def answers_to(assistant, *questions) -> list:
    """Ask in turn, sending the history as the chat and the widget do; every answer."""
    history, answers = [], []
    for question in questions:
        answers.append(assistant.ask(question, history=list(history)))
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answers[-1].text}]
    return answers


def talk(assistant, *questions):
    """The last answer of a conversation (answers_to)."""
    return answers_to(assistant, *questions)[-1]


def made_up(root: Path, embedder, articles: dict[str, str]) -> Assistant:
    """An Assistant over `articles` (file name -> Markdown) in a new corpus under `root`."""
    (root / "corpus").mkdir()
    for name, text in articles.items():
        (root / "corpus" / name).write_text(text, encoding="utf-8")
    return Assistant.load(Settings(corpus_dir=root / "corpus", index_dir=root / "index"), embedder=embedder)


STORY = """---
title: "The Baker of Orlen"
url: "https://example.com/baker-of-orlen"
---

In the spring of 1911 the baker Tomas Vell left his village of Orlen because the harvest had failed. He walked to the capital with a sack of flour and a letter from his mother.

In the capital no bakery would hire Vell, so he sold the bread of Orlen from a cart by the river market. Within a year the cart had become a shop with three ovens and two apprentices.

Years later he went home and paid for the village's first school with the money he had saved.
"""


GUILD = """---
title: "The Bakers' Guild"
url: "https://example.com/bakers-guild"
---

The bakers' guild of Orlen was an association of bakers who agreed on the price of bread and trained apprentices together.

The guild met in a hall beside the mill, where its masters judged the loaves of every new baker before he could open a shop.

The guild's founders were bakers from the river market. They wrote its rules in a single winter.

By 1930 the guild had grown to four hundred members, most of them in the capital.
"""

HARBOUR = """---
title: "The Harbour of Kestrel Bay"
url: "https://example.com/kestrel-bay"
---

Kestrel Bay's harbour was dug by hand in the eighteenth century and still shelters the fishing fleet in winter storms.
"""
