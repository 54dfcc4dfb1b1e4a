"""Questions about the document itself, answered from its structure: "sum this up" and
"what does the author conclude?" from its closing paragraph, "what does this review
describe?" from its lead (the abstract or introduction, else its first paragraph), "what
was the methodology of this study?" and "what do the findings indicate?" from the section
the question names (Methods, Results), when the article has one. A reader asks these of
a post too; their words name no topic, so searching them finds nothing to cite.

It reads the question and section headings only; the engine picks the rows.
"""
from __future__ import annotations

import re

from assistant.text.terms import content_words

CLOSING, LEAD, METHOD, RESULTS = "closing", "lead", "method", "results"
# asked of the article as a whole: its conclusion answers
_WHOLE_ARTICLE = re.compile(
    r"\b(summary|summari[sz]e|sum (it |this |that )?up|tl;? ?dr|gist|main (point|idea|message|takeaway)s?|"
    r"key (point|takeaway)s?|takeaways?|conclusions?|overview|in a nutshell|"
    r"(point|purpose) of (this|the) (post|article|blog|piece)|"
    r"(this|the) (post|article|piece) (is )?about)\b", re.I)
# the document, its parts and what a document does: words that name no topic
_DOCUMENT_WORDS = frozenset("""article post blog piece paper study review report research work text essay
    author authors writer writers researchers investigators findings finding results result method methods
    methodology approach design conclusion conclusions conclude concluded concludes abstract introduction
    describe describes described discuss discusses discussed present presents presented propose proposes
    proposed show shows showed shown indicate indicates indicated suggest suggests suggested find found
    say says said explain explains explained cover covers covered main overall aim aims goal goals purpose
    objective objectives focus topic subject point investigate investigated examine examined analysis""".split())
_KINDS = (  # the first that the question names wins
    (CLOSING, re.compile(r"\b(conclu\w*|takeaways?|overall)\b", re.I)),
    (METHOD, re.compile(r"\b(method\w*|approach|design|how (was|were|did) (the|this|they))\b", re.I)),
    (RESULTS, re.compile(r"\b(findings?|results?|found|show\w*|indicat\w*|suggest\w*)\b", re.I)),
)
_NAMES_DOCUMENT = re.compile(r"\b(this|the) (article|post|blog|piece|paper|study|review|report|research|work|text|"
                             r"essay|authors?|writers?|researchers|findings|results|methods?|methodology)\b", re.I)
SECTIONS = {  # headings that hold each kind's answer
    CLOSING: re.compile(r"\b(conclusions?|summary|final thoughts|takeaways?|wrapping up|in closing)\b", re.I),
    LEAD: re.compile(r"\b(abstract|introduction|overview|background)\b", re.I),
    METHOD: re.compile(r"\b(methods?|methodology|approach|materials|study design|experimental setup)\b", re.I),
    RESULTS: re.compile(r"\b(results?|findings|evaluation|discussion)\b", re.I),
}
FALLBACK = {METHOD: LEAD, RESULTS: CLOSING}  # an article with no such section


def about_document(question: str) -> str | None:
    """Which part of the document answers `question` (CLOSING, LEAD, METHOD, RESULTS), or
    None when it is not asked of the document itself."""
    if _WHOLE_ARTICLE.search(question):
        return CLOSING
    if not _NAMES_DOCUMENT.search(question) or set(content_words(question)) - _DOCUMENT_WORDS:
        return None  # "what does this article say about sunscreen?" has a topic: search it
    return next((kind for kind, words in _KINDS if words.search(question)), LEAD)
