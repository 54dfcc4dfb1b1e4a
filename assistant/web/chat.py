"""The chat page at "/": a Gradio Blocks app over the same engine call as the API. The
reader's message is shown as text (never markup); answers are render.as_markdown.

The messages shown are the only state: each answer carries its turn (the question, the
answer's text, its question-log id, the sections it quoted, its plain-text copy) in an
HTML comment that is never rendered. Follow-ups, thumbs and suggestions read it from
the chat the browser sends, so clearing the chat clears the conversation and a thumb
names its own answer, whatever order Gradio runs the events in. Its own rate budget
(http/rate_limits.py) lets it say "try again in N s" instead of failing the request.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from html import escape

from assistant.answer.render import as_markdown, as_plain, escape_markdown
from assistant.answer.suggest import outline_for
from assistant.engine.recorded import ask_recorded
from assistant.errors import InvalidQuestion
from assistant.http.rate_limits import Budget, too_many
from assistant.questionlog.feedback import Feedback
from assistant.settings import Settings
from assistant.text.cleaning import readable
from assistant.web.site_texts import site_texts

CHAT_MEMORY = 6  # messages of a chat kept for follow-ups: the topic comes from the last answer
CONTEXT_CHARS = 6000  # and at most this many characters of them
CHAT_SHOWN = 100  # messages a chat page keeps
CHAT_BYTES = 0.75  # of the body cap: the page sends its whole chat with each question, and the rest is the question's
SESSION_SECONDS = 3600  # Gradio's cache of a chat is dropped after an hour without a question
HEAD = '<script src="/chat.js" defer></script>'  # a file of this origin: the CSP allows no other script
_TURN = re.compile(r"<!--turn:([A-Za-z0-9+/=]*)-->")

# Contrast (4.5:1 in both themes), 24 px touch targets, the quote highlight. The primary
# colour is set here rather than by a theme hue: Gradio's orange/blue 500 are 2.8-3.7:1 on white.
CSS = """
.message mark { background: #fff3b0; color: inherit; padding: 0 .1em; border-radius: 2px; }
.dark .message mark { background: #5c4d00; }
.message details { margin-top: .5em; }
.message details summary { cursor: pointer; min-height: 24px; }
#chat button { min-width: 24px; min-height: 24px; }
#ask { --button-primary-background-fill: #1f4fbf; --button-primary-background-fill-hover: #173d94;
  --button-primary-text-color: #fff; }
#notice:not(:has(p)) { display: none; }
#notice p { margin: 0; padding: .4em .6em; border: 1px solid #b42318; border-radius: 6px; }
footer { display: none !important; }
#chat .scroll-down-button-container { left: auto; right: 12px; bottom: 12px; transform: none; }
"""


@dataclass(frozen=True)
class Turn:
    """What an answer in the chat remembers about itself."""

    question: str
    text: str
    question_id: str | None = None
    read: tuple[str, ...] = ()  # section labels it quoted
    copy: str = ""  # what Copy puts on the clipboard

    def comment(self) -> str:
        data = {"q": self.question, "text": self.text, "id": self.question_id, "read": list(self.read), "copy": self.copy}
        return f"<!--turn:{base64.b64encode(json.dumps(data).encode()).decode()}-->"

    @classmethod
    def parse(cls, content: object) -> "Turn | None":
        """The turn in a chat message's content (any shape Gradio hands back), or None."""
        found = _TURN.search(_text_of(content))
        if not found:
            return None
        try:
            data = json.loads(base64.b64decode(found.group(1)))
            return cls(str(data["q"]), str(data["text"]), data.get("id") if isinstance(data.get("id"), str) else None,
                       tuple(str(label) for label in data.get("read") or ()), str(data.get("copy") or ""))
        except (ValueError, KeyError, TypeError):
            return None


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return _text_of(content.get("text") or content.get("content") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(_text_of(part) for part in content)
    return ""


def remembered(earlier: list[Turn]) -> list[dict]:
    """The conversation as the engine reads it: the last CHAT_MEMORY messages (questions
    and answers' text), oldest first dropped until they fit in CONTEXT_CHARS."""
    half = CONTEXT_CHARS // 2
    turns = [m for t in earlier for m in ({"role": "user", "content": t.question[:half]},
                                          {"role": "assistant", "content": t.text[:half]})][-CHAT_MEMORY:]
    while len(turns) > 2 and sum(len(t["content"]) for t in turns) > CONTEXT_CHARS:
        turns = turns[2:]
    return turns


def bounded(shown: list, max_bytes: int) -> list:
    """The chat on the page, oldest exchanges dropped past CHAT_SHOWN messages or `max_bytes`
    of JSON (the page sends it all back with the next question, under the body cap)."""
    while len(shown) > 2 and (len(shown) > CHAT_SHOWN or len(json.dumps(shown, ensure_ascii=False, default=str).encode()) > max_bytes):
        shown = shown[2:]
    return shown


def turns_shown(shown: list | None) -> list[Turn]:
    return [turn for m in shown or () if isinstance(m, dict) and m.get("role") == "assistant"
            and (turn := Turn.parse(m.get("content"))) is not None]


def freshness(assistant) -> str:
    """"Index built … from N articles, M passages" for readers and the owner."""
    manifest = assistant.index.manifest
    articles = manifest.documents
    return (f"Index built {manifest.built_at.replace('T', ' ').replace('+00:00', ' UTC')} from "
            f"{articles} article{'s' if articles != 1 else ''}, {len(assistant.index.passages)} passages.")


def limit_notice(wait: int) -> str:
    """The chat's 429: said in words, counted down in the page (chat.js)."""
    return f'<p role="alert">{escape(too_many(wait))}</p>'


def chat_ui(live, settings: Settings, questions, counters=None):
    """The Blocks app. `questions` (the question log) records each turn; thumbs become
    its feedback. `counters` (counters.Counters) holds the question budget it shares
    with /api/ask."""
    import gradio as gr

    ask_typed, ask_picked, reset, on_like = _handlers(live, settings, questions, counters)
    outline = outline_for(live.current.index)
    texts = site_texts(settings, live.current.index)
    with gr.Blocks(title=texts.title, fill_height=True, delete_cache=(SESSION_SECONDS, SESSION_SECONDS)) as demo:
        gr.Markdown(f"# {escape_markdown(texts.title)}\n{escape_markdown(texts.note)}")
        fresh = gr.Markdown(freshness(live.current), elem_id="freshness")
        chatbot = gr.Chatbot(label="Article assistant", sanitize_html=True, render_markdown=True, height="62vh",
                             min_height=300, feedback_options=("Like", "Dislike"), elem_id="chat", autoscroll=False,
                             buttons=["copy"], examples=[{"text": q} for q in outline.examples(3)])
        notice = gr.Markdown("", elem_id="notice")  # not gr.HTML: it renders by eval, which the CSP forbids
        with gr.Row(equal_height=True):
            box = gr.Textbox(placeholder=texts.placeholder, show_label=False,
                             max_length=settings.max_question_chars, scale=5, autofocus=True, elem_id="question")
            send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
        new = gr.Button("New conversation", size="sm", elem_id="new-conversation")
        outputs = [box, chatbot, notice]
        for trigger in (box.submit, send.click):
            trigger(ask_typed, [box, chatbot], outputs, api_visibility="private")
        for trigger in (chatbot.example_select, chatbot.option_select):
            trigger(ask_picked, [box, chatbot], outputs, api_visibility="private")
        new.click(reset, None, outputs, api_visibility="private")
        if questions.enabled:  # no thumbs when there is nowhere to record them
            chatbot.like(on_like, None, None, api_visibility="private")
        demo.load(lambda: freshness(live.current), None, fresh, api_visibility="private")
    return demo


def _handlers(live, settings: Settings, questions, counters):
    """The page's events: (ask_typed, ask_picked, reset, on_like). A question spends the
    reader's budget in `counters`, shared with /api/ask; a thumb spends the ratings one."""
    import gradio as gr

    budget = Budget(settings.rate_limit, counters)
    ratings = Budget(settings.feedback_rate_limit, counters, "ratings")  # /api/feedback's: thumbs anywhere share it

    def turn(message: str, shown: list, request):
        """One question: (box, chat, notice)."""
        message = readable(message or "")
        shown = list(shown or [])
        client = request.client.host if request and request.client else "unknown"
        wait = budget.wait(client)
        if wait:  # nothing lost: the question stays in the box for a retry
            return message, shown, limit_notice(wait)
        earlier = turns_shown(shown)
        conversation = remembered(earlier)
        assistant = live.current
        outline = outline_for(assistant.index)
        options = []
        try:
            answer, question_id = ask_recorded(assistant, questions, message, conversation, "chat")
            read = tuple(outline.labels(answer))
            seen = [label for t in earlier for label in t.read]
            options = [{"value": q, "label": q} for q in outline.follow_ups(answer, [t.question for t in earlier], seen)]
            base = str(request.base_url) if request else ""
            kept = Turn(answer.question, answer.text, question_id, read, as_plain(answer, base))
            reply = f"{as_markdown(answer)}\n\n{kept.comment()}"
        except InvalidQuestion as exc:  # not a turn of the conversation
            reply = escape_markdown(str(exc))
        bubble = escape_markdown(message[: settings.max_question_chars]) or "…"
        shown = [{**m, "options": None} for m in shown]  # only the newest answer offers follow-ups
        shown += [{"role": "user", "content": bubble}, {"role": "assistant", "content": reply, "options": options}]
        return "", bounded(shown, int(settings.max_body_bytes * CHAT_BYTES)), ""

    def ask_typed(message, shown, request: gr.Request):
        return turn(message, shown, request)

    def ask_picked(picked: gr.SelectData, typed, shown, request: gr.Request):
        """An example or a suggested follow-up: sent at once; a draft in the box is kept."""
        value = picked.value.get("text", "") if isinstance(picked.value, dict) else str(picked.value)
        box, shown, notice = turn(value, shown, request)
        return (box if notice else typed), shown, notice

    def reset():
        return "", [], ""

    def on_like(vote: gr.LikeData, request: gr.Request) -> None:
        answered = Turn.parse(vote.value)  # the liked message names its own question
        if vote.liked not in (True, False) or not answered or not answered.question_id:
            return
        if ratings.wait(request.client.host if request and request.client else "unknown"):
            return  # over the ratings budget: dropped, as /api/feedback answers 429
        questions.feedback(Feedback(answered.question_id, vote.liked))

    # Gradio injects its event data by the annotation's type; with postponed annotations
    # and a lazily imported gradio it can't resolve the string, so give it the class.
    ask_typed.__annotations__["request"] = gr.Request
    ask_picked.__annotations__.update(picked=gr.SelectData, request=gr.Request)
    on_like.__annotations__.update(vote=gr.LikeData, request=gr.Request)
    return ask_typed, ask_picked, reset, on_like
