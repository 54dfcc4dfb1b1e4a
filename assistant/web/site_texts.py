"""The owner's words on the chat page and the widget: the title, the question box's hint
and the line under the title. They come from the settings (assistant.toml: site_title,
placeholder, disclaimer) or from the corpus itself (how many articles, their headings);
none of them is about any one blog's subject.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from assistant.answer.suggest import outline_for
from assistant.settings import Settings


@dataclass(frozen=True)
class SiteTexts:
    title: str  # "Ask this article", "Ask this blog", or the owner's site_title
    placeholder: str  # "Ask about sun protection, dynamic wrinkles…", or the owner's
    note: str  # "Answers quote the article word for word, with numbered sources." + the disclaimer

    def as_script(self) -> str:
        """The texts as a JavaScript object literal (JSON, every non-ASCII character escaped)."""
        return json.dumps(asdict(self), ensure_ascii=True).replace("</", "<\\/")


def site_texts(settings: Settings, index) -> SiteTexts:
    """The texts for `index` (a loaded index) under `settings`."""
    subject = "blog" if index.manifest.documents > 1 else "article"
    topics = outline_for(index).topics(3)
    hint = f"Ask about {', '.join(topics)}…" if topics else f"Ask this {subject} a question…"
    note = f"Answers quote the {subject} word for word, with numbered sources."
    return SiteTexts(title=settings.site_title.strip() or f"Ask this {subject}",
                     placeholder=settings.placeholder.strip() or hint,
                     note=f"{note} {settings.disclaimer.strip()}".strip())
