"""Rule-based sentence splitting for summarisation documents and reference summaries.

The summarisation envs act on sentences (pick one, or STOP), so every source must cut its
documents and summaries the same way. Why a splitter of our own: nltk's punkt needs a
model download, which cannot happen offline, and the rules that matter for news text are
few enough to write down:

* a sentence ends at ``.``, ``!``, ``?`` or an ellipsis, plus any closing quotes or
  brackets, when the next sentence starts with a capital letter, an opening quote or
  bracket before one, or (after whitespace) a digit;
* not after a title or other abbreviation that precedes a name or number (``Mr.``,
  ``Dr.``, ``No.``, ``e.g.``), nor after an initial or initialism (``John F. Kennedy``,
  ``U.S. Senate``) unless the next word is a common sentence opener (``...the U.S. The``);
* a dot between digits (``$10.9bn``) is never a boundary;
* blank lines (paragraph breaks) always are.

``run_together=True`` also accepts boundaries with *no* whitespace after the punctuation,
for text whose sentences were glued together: the BBC News Summary reference summaries
read ``...from $10.9bn.For the full-year...``. A straight double quote right after the
punctuation (``months."I think``) is then ambiguous; it closes the sentence when the text
before it has an odd number of quotes, and opens the next one otherwise.
"""

from __future__ import annotations

import re

__all__ = ["ABBREVIATIONS", "split_paragraphs", "split_sentences"]

#: Lower-cased words (without their dot) that are followed by a name or a number, not by the
#: end of a sentence. Words that often *end* sentences (etc., Inc., Ltd., Jr.) are left out.
ABBREVIATIONS = frozenset("""
    mr mrs ms mssrs messrs dr prof rev hon sen rep gov gen lt col capt cpt sgt maj cmdr adm
    st mt ft pres supt det insp
    e.g i.e cf vs viz al approx fig figs no nos vol vols pp
    jan feb mar apr jun jul aug sep sept oct nov dec
""".split())

# Words that start a sentence often enough to end one after an initialism ("...in the U.S. The").
_SENTENCE_OPENERS = frozenset("""
    a an the this that these those it its he she they we i you his her their our my there
    here but and or so yet however meanwhile in on at for if when while after before as
    last next since many some most one two three mr mrs ms dr
""".split())

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_TERMINAL = re.compile(r"\.{2,}|…|[.!?]+")
_CLOSERS = "\"'”’)]"
_OPENERS = "\"'“‘(["
_CURRENCIES = "$£€"
_BULLETS = ("- ", "– ", "• ")  # list items run together in BBC summaries: "...Olympics.- What"
_INITIALISM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")


def split_paragraphs(text: str) -> list[str]:
    """The non-empty paragraphs of a text, separated by blank lines, stripped."""
    return [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def split_sentences(text: str, *, run_together: bool = False, source: str | None = None) -> list[str]:
    """Split text into sentences (stripped, non-empty, in order).

    Paragraph breaks (blank lines) are always boundaries; single newlines are ordinary
    whitespace. ``run_together=True`` also finds boundaries with no space after the
    punctuation (see the module docstring). ``source`` is the text that ``text``'s sentences
    were copied from, if any (the article, for an extractive summary): a quote glued
    between two sentences then goes to whichever side makes a sentence that occurs in the
    source, which quote counting alone gets wrong when the summary skips the sentence that
    opened the quote. Joining the result with spaces gives back the text up to whitespace.
    """
    sentences: list[str] = []
    for paragraph in split_paragraphs(text):
        sentences.extend(_split_paragraph(paragraph, run_together, source))
    return sentences


def _split_paragraph(text: str, run_together: bool, source: str | None) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _TERMINAL.finditer(text):
        end = _after_closers(text, match.end(), quotes_before=text.count('"', 0, match.start()))
        if source is not None:
            end = _glued_quote_as_in_source(text, start, match.end(), end, source)
        nxt = end
        while nxt < len(text) and text[nxt].isspace():
            nxt += 1
        if nxt == len(text):
            break
        spaced = nxt > end
        after_digit = text[match.start() - 1:match.start()].isdigit()
        if not (spaced or run_together) or not _opens_sentence(text, nxt, spaced, after_digit):
            continue
        if match.group() == "." and _dot_is_not_an_end(text, start, match.start(), nxt):
            continue
        sentences.append(text[start:end].strip())
        start = nxt
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


def _after_closers(text: str, pos: int, quotes_before: int) -> int:
    """Skip the closing quotes/brackets that belong to the sentence ending at ``pos``.

    A straight double quote followed by whitespace closes; one glued to the next word is
    ambiguous and closes only when ``quotes_before`` (the count so far) is odd.
    """
    while pos < len(text) and text[pos] in _CLOSERS:
        if text[pos] == '"':
            glued = pos + 1 < len(text) and not text[pos + 1].isspace()
            if glued and quotes_before % 2 == 0:
                break  # no quote is open: this one opens the next sentence
            quotes_before += 1
        pos += 1
    return pos


def _glued_quote_as_in_source(text: str, start: int, punct_end: int, end: int, source: str) -> int:
    """Move a sentence end across a glued quote (``."Next``) to agree with the source text."""
    glued = end < len(text) and not text[end].isspace()
    if not glued:
        return end
    if text[end] == '"' and text[start:end + 1].strip() in source:
        return end + 1  # counting said the quote opens the next sentence; the source has it closing this one
    if end > punct_end and text[end - 1] == '"' and text[start:end].strip() not in source:
        return end - 1  # counting said it closes this sentence; the source has no such sentence
    return end


def _opens_sentence(text: str, pos: int, spaced: bool, after_digit: bool) -> bool:
    """Whether the text at ``pos`` looks like the start of a sentence.

    A capital letter (after any opening quotes) or a list bullet starts one. So does a
    number (``50 Cent``, ``$5m``), except right after a digit and a dot with no space:
    ``10.9`` is a decimal.
    """
    while pos < len(text) and text[pos] in _OPENERS:
        pos += 1
    if pos < len(text) and text[pos] in _CURRENCIES:
        pos += 1
    if pos == len(text):
        return False
    if text[pos].isupper() or text.startswith(_BULLETS, pos):
        return True
    return text[pos].isdigit() and (spaced or not after_digit)


def _dot_is_not_an_end(text: str, start: int, dot: int, nxt: int) -> bool:
    """Whether the single dot at ``dot`` closes an abbreviation rather than a sentence."""
    word = text[start:dot].rsplit(None, 1)[-1].lstrip(_OPENERS) if text[start:dot].strip() else ""
    if word.lower() in ABBREVIATIONS:
        return True
    if (len(word) == 1 and word.isupper()) or _INITIALISM.fullmatch(word):
        # "John F. Kennedy", "U.S. Senate": an initial, unless a common opener follows ("...U.S. The")
        next_word = re.match(r"[\"'“‘(\[]*([A-Za-z]+)", text[nxt:])
        return not (next_word and next_word.group(1).lower() in _SENTENCE_OPENERS)
    return False
