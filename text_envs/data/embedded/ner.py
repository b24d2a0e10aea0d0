"""Embedded NER data: news-style sentences tagged with PER, LOC, ORG and MISC (IOB2).

Sentences are built from an opening phrase, one or two clause templates and a closing
phrase, so lengths run from about 5 to 40 words. What makes it more than a gazetteer
lookup:

* the same word takes different types in different contexts: ``Jordan`` the person and
  the country, ``Washington`` the person, the city and the club, ``Ford`` the surname and
  the company, ``May`` the surname and the month, a city's name inside an organisation's
  (``University of Lyon``);
* invented names (``Velrusk``, ``Brelholm``) that the test split meets for the first time;
* entities of several words (``Rio de Janeiro``, ``Bank of Chile``), so I- tags matter;
* sentences with no entity at all, and a few sentences written all in lower case.
"""

from __future__ import annotations

import random
from functools import partial
from typing import Callable

from ...records import TaggingRecord, bio_tag_set
from . import lexicon as lx
from .common import Group, SlotValues, build_splits

ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC")
LABELS = bio_tag_set(ENTITY_TYPES)
SIZES = {"train": 1500, "validation": 300, "test": 300}
SEED = 12003

_Draw = Callable[[random.Random], str]


def _number(rng: random.Random) -> str:
    """A quantity written as news text writes it: ``7``, ``450``, ``12,000`` or ``seven``."""
    form = rng.randrange(4)
    if form == 0:
        return str(rng.randint(2, 99))
    if form == 1:
        return str(rng.randint(100, 9000))
    if form == 2:
        return f"{rng.randint(1, 40)},000"
    return lx.pick(rng, lx.NUMBER_WORDS)


def _product(rng: random.Random) -> str:
    return lx.pick(rng, lx.PRODUCTS) if rng.random() < 0.6 else f"{lx.coined_name(rng)} {rng.randint(2, 9)}"


# Slot kind -> (entity type or None for O, how to draw a value).
KINDS: dict[str, tuple[str | None, _Draw]] = {
    "PER": ("PER", lambda rng: lx.person(rng, ambiguous=0.2, coined=0.35)),
    "FIRST": ("PER", lambda rng: lx.first_name(rng, ambiguous=0.35)),
    "SUR": ("PER", lambda rng: lx.surname(rng, ambiguous=0.3, coined=0.35)),
    "CITY": ("LOC", lambda rng: lx.city(rng, ambiguous=0.3, coined=0.3)),
    "COUNTRY": ("LOC", lambda rng: lx.country(rng, ambiguous=0.3)),
    "REGION": ("LOC", lambda rng: lx.pick(rng, lx.REGIONS)),
    "RIVER": ("LOC", lambda rng: lx.pick(rng, lx.RIVERS)),
    "COMPANY": ("ORG", lambda rng: lx.company(rng, ambiguous=0.3, coined=0.35)),
    "CLUB": ("ORG", lambda rng: lx.club(rng, ambiguous=0.3)),
    "INST": ("ORG", lx.institution),
    "PAPER": ("ORG", lambda rng: lx.pick(rng, lx.NEWSPAPERS)),
    "NAT": ("MISC", lambda rng: lx.pick(rng, lx.NATIONALITIES)),
    "LANG": ("MISC", lambda rng: lx.pick(rng, lx.LANGUAGES)),
    "EVENT": ("MISC", lx.event),
    "PRODUCT": ("MISC", _product),
    "AWARD": ("MISC", lambda rng: lx.pick(rng, lx.AWARDS)),
    "MONTH": (None, lambda rng: lx.pick(rng, lx.MONTHS)),
    "DAY": (None, lambda rng: lx.pick(rng, lx.WEEKDAYS)),
    "YEAR": (None, lx.year),
    "NUM": (None, _number),
    "SCORE": (None, lambda rng: f"{rng.randint(0, 5)}-{rng.randint(0, 4)}"),
    "TITLE": (None, lambda rng: lx.pick(rng, lx.TITLES)),
    "ROLE": (None, lambda rng: lx.pick(rng, ("chairman", "chief executive", "coach", "minister", "spokeswoman",
                                              "director", "head of research", "treasurer", "captain"))),
    # Common nouns that are also names: "turkey", "orange", "jaguar", "apple", "china".
    "NOUN": (None, lambda rng: lx.pick(rng, ("apple", "turkey", "orange", "jaguar", "china", "amazon parrot",
                                              "olive", "salmon", "coffee", "wheat"))),
}
_SLOT_DRAWS = {kind: draw for kind, (_, draw) in KINDS.items()}

# Main clauses, tokens separated by spaces; {KIND} or {KIND2} is a slot.
CLAUSES = (
    "{PER} , the {ROLE} of {COMPANY} , resigned on {DAY}",
    "{COMPANY} said it would open a new office in {CITY} next {MONTH}",
    "{SUR} scored twice as {CLUB} beat {CLUB2} {SCORE} in {CITY}",
    "the {NAT} government rejected a proposal from {COUNTRY}",
    "{PER} was born in {CITY} and moved to {COUNTRY} as a child",
    "{COMPANY} will start selling the {PRODUCT} in {COUNTRY} in {MONTH}",
    "{FIRST} told reporters in {CITY} that the {EVENT} would go ahead",
    "shares of {COMPANY} fell {NUM} percent after {PER} left the board",
    "{PER} won the {AWARD} for a novel written in {LANG}",
    "the {EVENT} will be held in {CITY} for the first time since {YEAR}",
    "talks between {COUNTRY} and {COUNTRY2} ended without agreement",
    "{PER} , who studied at the {INST} , now lives in {CITY}",
    "police in {CITY} arrested {NUM} fans after the match against {CLUB}",
    "a {NAT} court ruled that {COMPANY} must pay {NUM} million euros",
    "{TITLE} {SUR} met {PER} at the {EVENT}",
    "{TITLE} {SUR} leads a team at the {INST} studying the {RIVER} delta",
    "{COMPANY} bought a stake in {COMPANY2} for an undisclosed sum",
    "floods closed roads between {CITY} and {CITY2} on {DAY}",
    "the {PRODUCT} sold {NUM} units in its first week , {COMPANY} said",
    "{PER} ( {CLUB} ) finished second behind {PER2} ( {CLUB2} )",
    "{NAT} striker {PER} joined {CLUB} from {CLUB2}",
    "the mayor of {CITY} , {PER} , welcomed {NAT} visitors",
    "{PER} and {PER2} will represent {COUNTRY} at the {EVENT}",
    "{COMPANY} has hired {PER} as its new {ROLE}",
    "the {RIVER} burst its banks near {CITY}",
    "tourists from {COUNTRY} crowded the beaches of {REGION}",
    "{FIRST} speaks {LANG} , {LANG2} and a little {LANG3}",
    "a spokesman for {COMPANY} declined to comment",
    "{COUNTRY} 's foreign minister , {PER} , arrived in {CITY} late on {DAY}",
    "{CLUB} coach {SUR} praised his players after the game in {CITY}",
    "the {INST} published a report on the economy of {COUNTRY}",
    "{COMPANY} , based in {CITY} , employs {NUM} people",
    "{PER} said the {NAT} team was ready for {COUNTRY}",
    "{PER} drove from {CITY} to {CITY2} in a borrowed {PRODUCT}",
    "the {NOUN} harvest in {REGION} was the worst since {YEAR}",
    "{FIRST} bought {NOUN} and bread at the market in {CITY}",
    "{COMPANY} and {COMPANY2} signed a deal worth {NUM} million dollars",
    "{PER} , a {NAT} citizen , was released by the authorities in {COUNTRY}",
    "voters in {REGION} will choose a new governor in {MONTH}",
    "the {EVENT} opened in {CITY} with a speech by {PER}",
    "{SUR} 's late goal gave {CLUB} a {SCORE} win over {CLUB2}",
    "at least {NUM} people were hurt when a bus crashed near {CITY}",
    "{PER} thanked the people of {CITY} for their support",
    "the {NAT} embassy in {CITY} was closed on {DAY}",
    "{PER} will play {PER2} in the second round of the {EVENT}",
    "{INST} chief {PER} is expected to visit {COUNTRY} in {MONTH}",
    "researchers at the {INST} say {NOUN} numbers in {REGION} have doubled",
    "{PER} and her husband {FIRST} opened a bakery in {CITY}",
    "{CLUB} signed {PER} on a {NUM} year contract",
    "the {LANG} edition of the book was published by {COMPANY}",
    "{FIRST} , a student from {CITY} , won a place at the {INST}",
    "{COUNTRY} beat {COUNTRY2} {SCORE} in the {EVENT}",
    "officials from the {INST} inspected the dam on the {RIVER} on {DAY}",
    "{PER} , {NUM} , died in {CITY} on {DAY}",
    "{COMPANY} reported a profit of {NUM} million euros for {YEAR}",
    "the new rail line will link {CITY} with {CITY2} and {CITY3}",
    "{SUR} , the former {COMPANY} engineer , now runs a farm in {REGION}",
    "fans of {CLUB} travelled to {CITY} for the final",
    "{PER} , known to friends as {FIRST} , painted the mural",
    "the {PAPER} said {PER} had been offered the job",
    "{NAT} and {NAT2} troops held joint exercises near {CITY}",
    "{COMPANY} recalled {NUM} cars made at its plant in {CITY}",
    "born in {COUNTRY} , {SUR} has lived in {CITY} since {YEAR}",
    "the {PRODUCT} was designed by {PER} at {COMPANY}",
    "{FIRST} moved to {CITY} in {MONTH} to work for {COMPANY}",
    "{CITY} will host the {EVENT} in {YEAR}",
    "{COUNTRY} and {COUNTRY2} agreed to reopen the border near {CITY}",
    "a statue of {PER} was unveiled in {CITY} on {DAY}",
    "{TITLE} {SUR} told the {PAPER} that {COMPANY} had broken the rules",
    "{SUR} joined {COMPANY} in {MONTH} {YEAR} after ten years at {COMPANY2}",
    "{PER} resigned",
    "{CLUB} lost again",
    "{COUNTRY} votes on {DAY}",
    "{COMPANY} shares rose",
    "{FIRST} wins in {CITY}",
)
# Clauses without any entity: the model must learn to say nothing, too.
PLAIN_CLAUSES = (
    "the meeting was postponed until next {DAY}",
    "prices rose by {NUM} percent in {MONTH}",
    "nobody was hurt in the fire , which started shortly after midnight",
    "the committee will meet again in {MONTH} to review the figures",
    "heavy rain is expected across the north on {DAY}",
    "{NOUN} prices rose sharply in {MONTH}",
    "it was the first time in {NUM} years that the final went to extra time",
    "analysts expect the decline to continue for at least {NUM} months",
    "about {NUM} workers walked out in protest over pay",
    "the match was stopped for {NUM} minutes because of fog",
    "i have never seen a crowd like this , she said",
    "{NOUN} and cheese were served at the dinner",
    "the bridge reopened in {MONTH} {YEAR} after repairs",
    "negotiators from both sides met behind closed doors",
)
OPENERS = (
    "on {DAY} ,", "in {YEAR} ,", "last {MONTH} ,", "earlier this week ,", "according to the {PAPER} ,",
    "speaking in {CITY} ,", "in a statement ,", "in {MONTH} {YEAR} ,", "late on {DAY} ,", "in {COUNTRY} ,",
)
CLOSERS = (
    ", officials said", ", {NAT} media reported", ", according to the {PAPER}", ", the agency said",
    "after talks in {CITY}", "despite protests", ", {PER} said", ", a source close to {COMPANY} said",
    "on {DAY}", "earlier this year", ", {TITLE} {SUR} told the {PAPER}",
)
CONNECTIVES = ("and", "while", "but", "after", "as")


def _tagged(template: str, values: SlotValues) -> tuple[list[str], list[str]]:
    """Tokens and IOB2 tags of one filled template: a slot's value takes its kind's type."""
    tokens: list[str] = []
    tags: list[str] = []
    for piece in template.split():
        if piece.startswith("{") and piece.endswith("}"):
            slot = piece[1:-1]
            kind = KINDS[values.kind(slot)][0]
            words = values[slot].split()
            tokens += words
            tags += ["O"] * len(words) if kind is None else [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)
        else:
            tokens.append(piece)
            tags.append("O")
    return tokens, tags


def _clause(rng: random.Random) -> str:
    return lx.pick(rng, PLAIN_CLAUSES if rng.random() < 0.12 else CLAUSES)


def _sentence_template(rng: random.Random) -> list[str]:
    """The parts of one sentence: optional opener, a clause, sometimes a second clause,
    optional closer, full stop."""
    parts = [lx.pick(rng, OPENERS)] if rng.random() < 0.3 else []
    parts.append(_clause(rng))
    if rng.random() < 0.15:
        parts += [",", lx.pick(rng, CONNECTIVES), _clause(rng)]
    if rng.random() < 0.3:
        parts.append(lx.pick(rng, CLOSERS))
    parts.append(".")
    return parts


def draw(rng: random.Random, position: int) -> Group[TaggingRecord]:
    """One tagged sentence. Each part gets its own slot values: two parts may name the same
    city, one clause never names the same city twice."""
    tokens: list[str] = []
    tags: list[str] = []
    for part in _sentence_template(rng):
        part_tokens, part_tags = _tagged(part, SlotValues(rng, _SLOT_DRAWS))
        tokens += part_tokens
        tags += part_tags
    if rng.random() < 0.06:
        tokens = [token.lower() for token in tokens]
    else:
        tokens[0] = tokens[0][:1].upper() + tokens[0][1:]
    return Group(" ".join(tokens), [partial(TaggingRecord, tokens=tuple(tokens), tags=tuple(tags))])


def generate() -> dict[str, tuple[TaggingRecord, ...]]:
    return build_splits("ner", draw, SIZES, SEED)
