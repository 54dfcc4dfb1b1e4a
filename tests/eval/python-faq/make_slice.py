"""Build tests/eval/python-faq from Debian's documentation packages (see README.md).

    apt-get install python3.11-doc sqlite3-doc
    PYTHONPATH=. python tests/eval/python-faq/make_slice.py

Reads the installed HTML, writes articles/*.md, questions.jsonl and PSF-LICENSE.txt next
to this file. Deterministic: the same packages give the same bytes. It checks its own
output with the product's Markdown loader (every paragraph comes back as written, every
gold string is in the paragraph its row names) and stops on any surprise in the HTML.
"""
from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment

from assistant.content.corpus import load_document
from assistant.eval.collection import read_collection
from assistant.text.sentences import sentence_spans

HERE = Path(__file__).resolve().parent
FAQ_DIR = Path("/usr/share/doc/python3.11/html/faq")
LICENSE_HTML = Path("/usr/share/doc/python3.11/html/license.html")
SQLITE_FAQ = Path("/usr/share/doc/sqlite3/faq.html")
# The project's external development set (12 SQuAD v1.0 train articles); the file is the
# same as /work/shared/eval/external-dev/questions.jsonl, kept in the repository here.
EXTERNAL_DEV = HERE.parent / "external-blog" / "questions.jsonl"
NOTICE = "Copyright © 2001-2023 Python Software Foundation; All Rights Reserved"
PAGES = ("general", "programming", "design", "library", "extending", "windows", "gui", "installed")
URL = "https://docs.python.org/3.11/faq/{}.html"
SEED = 3011
EXTERNAL_DEV_ROWS = 75
GOLD_MIN_CHARS = 25
PROSE_MIN_WORDS = 6

# SQLite FAQ questions left out: they name nothing SQLite-specific and the Python FAQ
# could be taken to answer them (number in the SQLite FAQ -> why). The FAQ has no 16.
SQLITE_DROPPED = {
    14: "a string literal with an embedded single quote is as much a Python question, and "
        "the Design FAQ's raw-string answer says a string's quote character is escaped with a backslash",
    19: "'INSERT is really slow' can be read as list.insert(), and the Design FAQ's answer on "
        "how lists are implemented says what appending or inserting costs",
}
# Answers whose first prose paragraph only leads into the code, quote or list after it
# ("Consider this function:"): their gold comes from the paragraph that says the answer,
# named here by its opening words (question -> opening words).
LEAD_INS = {
    "Why was Python created in the first place?": "I had extensive experience",
    "Why do lambdas defined in a loop with different values all return the same result?":
        "This happens because x is not local",
    "Why are default values shared between objects?": "It is often expected that a function call",
    "How do you remove duplicates from a list?": "If you don’t mind reordering the list",
    "How do I create a multidimensional list?": "The reason is that replicating a list",
    "How can I have modules that mutually import each other?": "Guido van Rossum recommends avoiding",
    "Why are floating-point calculations so inaccurate?": "and think it is a bug in Python",
    "How can I embed Python into a Windows application?": "Do not build Python into your .exe",
}
# Answers whose prose only leads into links: without the question heading nothing in
# them says what they answer.
LINK_ONLY = {
    "How do I access the serial (RS232) port?",  # "For Win32, OSX, …:" + a URL, "For Unix, see a Usenet post …:" + a URL
}
INLINE = ("a", "code", "span", "em", "strong", "cite", "abbr", "kbd", "var", "samp", "sup", "sub", "dfn", "q")


def words(text: str) -> str:
    return " ".join(text.split())


def fail(message: str) -> None:
    sys.exit(f"make_slice: {message}")


# --- HTML -> Markdown, keeping for each block the plain text the loader should read back

_ESCAPE = re.compile(r"([\\`*_\[\]<>&])")


def escaped(text: str) -> str:
    return _ESCAPE.sub(r"\\\1", text)


def code_span(text: str) -> str:
    text = words(text)
    ticks = "`"
    while ticks in text:
        ticks += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def inline(node) -> tuple[str, str]:
    """(markdown, plain text) of an inline run: links and emphasis become their text,
    literals code spans."""
    md, plain = [], []
    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            text = re.sub(r"\s+", " ", str(child))
            md.append(escaped(text))
            plain.append(text)
        elif isinstance(child, Tag):
            if child.name == "code" or "pre" in child.get("class", []) and child.name == "span":
                text = child.get_text()
                md.append(code_span(text))
                plain.append(words(text))
            elif child.name == "a" and "headerlink" in child.get("class", []):
                continue
            elif child.name in INLINE:
                m, p = inline(child)
                md.append(m)
                plain.append(p)
            elif child.name == "br":
                md.append(" ")
                plain.append(" ")
            else:
                fail(f"unexpected inline <{child.name}> in {words(node.get_text())[:80]!r}")
    return "".join(md), "".join(plain)


def paragraph_line(tag: Tag) -> tuple[str, str]:
    md, plain = inline(tag)
    md = words(md)
    # A line CommonMark would read as a list item, heading, quote or break: escape its opening.
    if re.match(r"\d{1,9}[.)](\s|$)", md):
        md = re.sub(r"^(\d{1,9})([.)])", r"\1\\\2", md)
    elif md[:1] in ("-", "+", "#", "="):
        md = "\\" + md
    return md, words(plain)


class Page:
    """One FAQ page as Markdown lines and the plain text of each block the loader will see."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.blocks: list[dict] = []  # {"text", "prose"}: prose = the answer's own text, not a Note or See also aside

    def _gap(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def heading(self, text: str) -> None:
        self._gap()
        self.lines.append(f"## {escaped(text)}")

    def paragraph(self, tag: Tag, prose: bool = True) -> None:
        md, plain = paragraph_line(tag)
        if not plain:
            return
        self._gap()
        self.lines.append(md)
        self.blocks.append({"text": plain, "prose": prose})

    def code(self, tag: Tag) -> None:
        pre = tag.find("pre")
        if pre is None:
            fail(f"code block without <pre>: {tag.get('class')}")
        body = pre.get_text().rstrip("\n")
        fence = "```"
        while fence in body:
            fence += "`"
        language = next((c.removeprefix("highlight-") for c in tag.get("class", []) if c.startswith("highlight-")), "")
        language = {"python3": "python", "default": "python", "pycon": "pycon", "none": ""}.get(language, language)
        self._gap()
        self.lines += [fence + language, *body.split("\n"), fence]

    def listing(self, tag: Tag) -> None:
        ordered = tag.name == "ol"
        for n, item in enumerate(tag.find_all("li", recursive=False), start=1):
            marker = f"{n}. " if ordered else "- "
            indent = " " * len(marker)
            parts, md_lines, first = [], [], True
            children = [c for c in item.children if not (isinstance(c, NavigableString) and not c.strip())]
            if children and all(isinstance(c, NavigableString) or c.name in INLINE for c in children):
                children = [item]  # a "simple" item: its text is the paragraph
            for child in children:
                if isinstance(child, Tag) and child.name in ("p", "li"):
                    md, plain = paragraph_line(child)
                    if not first:
                        md_lines.append("")
                    md_lines.append((marker if first else indent) + md)
                    parts.append(plain)
                    first = False
                elif isinstance(child, Tag) and child.name == "div" and child.find("pre") is not None:
                    if first:
                        fail("a list item that opens with code")
                    md_lines.append("")
                    fence = "```"
                    md_lines += [indent + fence, *[(indent + line) if line else "" for line in
                                                  child.find("pre").get_text().rstrip("\n").split("\n")], indent + fence]
                else:
                    fail(f"unexpected <{getattr(child, 'name', 'text')}> in a list item: {words(item.get_text())[:80]!r}")
            self._gap()
            self.lines += md_lines
            self.blocks.append({"text": words(" ".join(parts)), "prose": True})

    def blockquote(self, tag: Tag) -> None:
        paragraphs = tag.find_all("p")
        if len(paragraphs) != len([p for p in tag.find_all(True) if p.name in ("p", "li", "pre")]):
            fail(f"a blockquote holding more than paragraphs: {words(tag.get_text())[:80]!r}")
        for n, p in enumerate(paragraphs):
            if n:
                self.lines.append(">")
            md, plain = paragraph_line(p)
            if n == 0:
                self._gap()
            self.lines.append("> " + md)
            self.blocks.append({"text": plain, "prose": True})

    def content(self, tag: Tag) -> None:
        classes = tag.get("class", [])
        if tag.name == "p":
            self.paragraph(tag)
        elif tag.name in ("ul", "ol"):
            self.listing(tag)
        elif tag.name == "blockquote":
            self.blockquote(tag)
        elif tag.name == "div" and any(c.startswith("highlight") for c in classes) or "doctest" in classes:
            self.code(tag)
        elif tag.name == "div" and "admonition" in classes:
            for child in tag.find_all(recursive=False):
                if "admonition-title" in child.get("class", []):
                    continue  # "Note", "See also"
                if child.name != "p":
                    fail(f"unexpected <{child.name}> in an admonition")
                self.paragraph(child, prose=False)
        elif tag.name == "span" and not tag.get_text(strip=True):
            pass  # link targets
        else:
            fail(f"unexpected <{tag.name} class={classes}> in an answer")


def convert(name: str) -> tuple[str, str, list[dict], Page]:
    """One FAQ page -> (title, markdown, questions, page); each question carries the
    blocks of its answer as indexes into page.blocks: first, end (exclusive)."""
    soup = BeautifulSoup((FAQ_DIR / f"{name}.html").read_text(encoding="utf-8"), "html.parser")
    main = soup.find(attrs={"role": "main"})
    top = main.find("section", recursive=False)
    h1 = top.find("h1", recursive=False)
    title = words(inline(h1)[1])
    page = Page()
    questions: list[dict] = []

    def walk(section: Tag) -> None:
        for child in section.find_all(recursive=False):
            if child.name in ("h1", "h2", "h3", "h4", "nav"):
                continue
            if child.name != "section":
                page.content(child)
                continue
            heading = child.find(["h2", "h3", "h4", "h5"], recursive=False)
            text = words(inline(heading)[1])
            body = [c for c in child.find_all(recursive=False) if c is not heading
                    and not (c.name == "span" and not c.get_text(strip=True))]
            if child.find("section") is None and body:  # a question: its heading goes, its answer stays
                first = len(page.blocks)
                for part in body:
                    page.content(part)
                questions.append({"q": text, "first": first, "end": len(page.blocks)})
            else:  # a group of questions ("General Information"): its heading stays
                page.heading(text)
                walk(child)

    walk(top)
    front = f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\nurl: {json.dumps(URL.format(name))}\n---\n\n"
    return title, front + "\n".join(page.lines).rstrip("\n") + "\n", questions, page


# --- questions


def is_prose(text: str) -> bool:
    """A paragraph that says something: not "Yes.", "See the next question." or a bare URL."""
    return len(text.split()) >= PROSE_MIN_WORDS


def first_prose(page: Page, question: dict) -> int | None:
    """The answer's first paragraph, list item or quoted paragraph that is prose."""
    for i in range(question["first"], question["end"]):
        block = page.blocks[i]
        if block["prose"] and is_prose(block["text"]):
            return i
    return None


def gold_strings(paragraph: str, corpus: str) -> list[str]:
    """From the paragraph's first two sentences long enough, for each the shortest run of
    opening words (>= GOLD_MIN_CHARS, no trailing punctuation) found nowhere else in the slice."""
    golds = []
    for a, b in sentence_spans(paragraph):
        sentence = paragraph[a:b]
        tokens = sentence.split(" ")
        for n in range(1, len(tokens) + 1):
            candidate = " ".join(tokens[:n]).rstrip(",;:.!?")
            if len(candidate) >= GOLD_MIN_CHARS and corpus.count(candidate.casefold()) == 1:
                golds.append(candidate)
                break
        if len(golds) == 2:
            break
    return golds


def sqlite_questions() -> list[tuple[int, str]]:
    soup = BeautifulSoup(SQLITE_FAQ.read_text(encoding="utf-8"), "html.parser")
    listing = soup.find("ol")
    return [(int(li["value"]), words(li.get_text())) for li in listing.find_all("li", recursive=False)]


def psf_license() -> str:
    soup = BeautifulSoup(LICENSE_HTML.read_text(encoding="utf-8"), "html.parser")
    heading = next(h for h in soup.find_all("h3") if h.get_text().startswith("PSF LICENSE AGREEMENT FOR PYTHON"))
    section = heading.parent
    text = section.find("pre").get_text() if section.find("pre") else section.get_text()
    return (f"{NOTICE}\n\nThe Python FAQ text in articles/ is from the Python 3.11 documentation, under this\n"
            f"agreement (see README.md for what was changed):\n\n"
            + words(heading.get_text().rstrip("¶")) + "\n\n" + text.strip() + "\n")


def check(answerable: int, off_topic: int) -> None:
    """The written slice as `assistant eval` reads it: every gold in the paragraph its row names."""
    collection = read_collection(HERE)
    questions = [q for q in collection.questions if not q.off_topic]
    if len(questions) != answerable or len(collection.questions) - answerable != off_topic:
        fail("questions.jsonl does not read back as written")
    for question in questions:
        path = collection.articles[question.article]
        blocks = load_document(path, path.parent).blocks
        if not all(g in blocks[question.paragraph].text for g in question.gold):
            fail(f"a gold string is not in paragraph {question.paragraph} of {path.name}: {question.q!r}")


def main() -> None:
    for path in (FAQ_DIR, LICENSE_HTML, SQLITE_FAQ, EXTERNAL_DEV):
        if not path.exists():
            fail(f"{path} is missing (apt-get install python3.11-doc sqlite3-doc; see README.md)")
    articles = HERE / "articles"
    articles.mkdir(exist_ok=True)
    for stale in articles.glob("*.md"):
        stale.unlink()
    pages = {}
    for name in PAGES:
        title, markdown, questions, page = convert(name)
        path = articles / f"{name}.md"
        path.write_text(markdown, encoding="utf-8")
        doc = load_document(path, articles)
        read_back = [" ".join(b.text.split()) for b in doc.blocks]
        if doc.title != title or read_back != [b["text"] for b in page.blocks]:
            wrong = next((i for i, (x, y) in enumerate(zip(read_back, [b["text"] for b in page.blocks])) if x != y), None)
            fail(f"{path.name}: the loader reads back other paragraphs than written "
                 f"({len(read_back)} vs {len(page.blocks)}; first difference at {wrong}: "
                 f"{read_back[wrong] if wrong is not None else ''!r} vs {page.blocks[wrong]['text'] if wrong is not None else ''!r})")
        pages[name] = (title, questions, page, doc)
    corpus = "\n".join(b.text.casefold() for _, _, _, doc in pages.values() for b in doc.blocks)

    rows, skipped, seen = [], [], {}
    for name, (title, questions, page, doc) in pages.items():
        for question in questions:
            if question["q"] in seen:
                skipped.append((question["q"], f"asked in the same words on the {seen[question['q']]} page"))
                continue
            seen[question["q"]] = name
            if question["q"] in LINK_ONLY:
                skipped.append((question["q"], "its answer is links only (lead-ins to URLs)"))
                continue
            if question["q"] in LEAD_INS:
                opening = LEAD_INS[question["q"]]
                index = next((i for i in range(question["first"], question["end"])
                              if page.blocks[i]["text"].startswith(opening)), None)
                if index is None:
                    fail(f"no paragraph opening with {opening!r} in the answer to {question['q']!r}")
            else:
                index = first_prose(page, question)
            if index is None:
                skipped.append((question["q"], "no prose paragraph in its answer"))
                continue
            golds = gold_strings(doc.blocks[index].text, corpus)
            if not golds:
                skipped.append((question["q"], "no distinctive sentence in its first paragraph"))
                continue
            if not all(g in doc.blocks[index].text for g in golds):
                fail(f"gold not in its paragraph: {question['q']!r}")
            rows.append({"q": question["q"], "article": title, "gold": golds, "paragraph": index})

    off_topic = []
    for number, question in sqlite_questions():
        if number in SQLITE_DROPPED:
            continue
        off_topic.append({"q": question, "out_of_scope": True, "source": f"SQLite FAQ (sqlite3-doc), question {number}"})
    dev = [json.loads(line) for line in EXTERNAL_DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    dev = [row for row in dev if row.get("out_of_scope")]
    for row in sorted(random.Random(SEED).sample(dev, EXTERNAL_DEV_ROWS), key=dev.index):
        off_topic.append({"q": row["q"], "out_of_scope": True,
                          "source": f"external-dev (SQuAD v1.0 train, CC BY-SA 4.0): {row['source']}"})

    with (HERE / "questions.jsonl").open("w", encoding="utf-8") as out:
        for row in rows + off_topic:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    check(len(rows), len(off_topic))
    (HERE / "PSF-LICENSE.txt").write_text(psf_license(), encoding="utf-8")
    for question, why in skipped:
        print(f"skipped: {question!r}: {why}")
    print(f"{len(pages)} articles, {len(rows)} answerable, {len(off_topic)} off-topic "
          f"({len(off_topic) - EXTERNAL_DEV_ROWS} SQLite FAQ, {EXTERNAL_DEV_ROWS} external-dev), {len(skipped)} skipped")


if __name__ == "__main__":
    main()
