"""Embedded extractive QA data: SQuAD-style questions about short invented biographies,
towns, companies and races.

A paragraph opens with an introduction of its subject, then gives some of the subject's
facts (in random order, so answers sit anywhere in the paragraph) mixed with *distractor*
sentences about other people, towns or companies that carry answers of the same type: a
question asking when a company was founded shares its paragraph with the year its rival
was founded. Only matching the question's words to the right sentence finds the answer.
Each paragraph gets one to three questions, each asked in one of several phrasings, and
answers run from one word (a year) to six (``a silver cup and 4,000 euros``).

Answer offsets come from the templates (see :func:`.common.render`), never from searching
the text, so they are exact even when the answer string also appears elsewhere.
"""

from __future__ import annotations

import random
from collections import ChainMap
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Mapping

from ...records import Answer, QARecord
from . import lexicon as lx
from .common import Group, SlotValues, build_splits, fill, render

SIZES = {"train": 800, "validation": 200, "test": 200}
SEED = 11016

_Draw = Callable[[random.Random], str]


@dataclass(frozen=True)
class Fact:
    """A sentence template about the subject, and for each slot that a question may ask
    about, the ways of asking. ``{ref}``/``{Ref}`` in the sentence refer to the subject
    (a pronoun or its short name); questions name it with ``{name}`` or ``{short}``."""

    sentence: str
    questions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Subject:
    """Who or what a paragraph is about: full name, short name, and the ways sentences
    after the introduction may refer to it (``she``, ``Holm``; ``it``, ``the company``)."""

    name: str
    short: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class Topic:
    """One kind of paragraph: how to draw its subject, the introduction, the facts that
    may follow, distractor sentences, the slot kinds its templates use, and which kind
    each named slot (``born``, ``employer``) is."""

    subject: Callable[[random.Random], Subject]
    intro: Fact
    facts: tuple[Fact, ...]
    distractors: tuple[str, ...]
    kinds: Mapping[str, _Draw]
    aliases: Mapping[str, str]


def _count(rng: random.Random, low: int, high: int) -> str:
    """A number written the way English prose writes it: ``12,400``."""
    return f"{rng.randint(low, high):,}"


def _money(rng: random.Random) -> str:
    currency = lx.pick(rng, ("euros", "dollars", "pounds"))
    if rng.random() < 0.3:
        return f"{rng.randint(1, 9)}.{rng.randint(1, 9)} billion {currency}"
    return f"{rng.randint(2, 950)} million {currency}"


# Slot kinds every topic may use.
COMMON_KINDS: dict[str, _Draw] = {
    "PERSON": lambda rng: lx.person(rng, coined=0.5),
    "CITY": lambda rng: lx.city(rng, coined=0.4),
    "TOWN": lx.town,
    "COUNTRY": lx.country,
    "YEAR": lambda rng: lx.year(rng, 1975, 2022),
    "OLD_YEAR": lambda rng: lx.year(rng, 1930, 1969),
    "MONTH": lambda rng: lx.pick(rng, lx.MONTHS),
    "COMPANY": lambda rng: lx.company(rng, coined=0.6),
    "MONEY": _money,
    # Nationalities that take "a", not "an", so that "a {NATIONALITY} novelist" reads right.
    "NATIONALITY": lambda rng: lx.pick(rng, [n for n in lx.NATIONALITIES if n[0] not in "AEIOU"]),
}


def _person(rng: random.Random) -> Subject:
    name = lx.person(rng, coined=0.5)
    short = name.split()[-1]
    return Subject(name, short, (lx.pick(rng, ("she", "he")), short))


PERSON = Topic(
    subject=_person,
    intro=Fact("{name} is a {NATIONALITY} {PROFESSION} known for {KNOWN_FOR}.", {
        "PROFESSION": ("What is {name}'s profession?", "What does {name} do for a living?"),
        "KNOWN_FOR": ("What is {name} known for?", "What is {short} best known for?"),
        "NATIONALITY": ("What nationality is {name}?",),
    }),
    facts=(
        Fact("{Ref} was born in {birthplace} in {born}.", {
            "birthplace": ("Where was {name} born?", "In which town was {short} born?",
                           "What is the birthplace of {name}?"),
            "born": ("When was {name} born?", "In what year was {short} born?"),
        }),
        Fact("{Ref} studied {FIELD} at the {UNIVERSITY}.", {
            "FIELD": ("What did {name} study?", "Which subject did {short} study at the {UNIVERSITY}?"),
            "UNIVERSITY": ("Where did {name} study?", "At which university did {short} study {FIELD}?"),
        }),
        Fact("In {joined}, {ref} joined {employer} as {ROLE}.", {
            "employer": ("Which company did {name} join in {joined}?", "Who did {short} work for as {ROLE}?"),
            "ROLE": ("What position did {name} take at {employer}?", "As what did {short} join {employer}?"),
            "joined": ("When did {name} join {employer}?", "In which year did {short} start at {employer}?"),
        }),
        Fact("{Ref} received the {AWARD} in {awarded} for {REASON}.", {
            "AWARD": ("Which prize did {name} receive in {awarded}?", "What award did {short} win for {REASON}?"),
            "awarded": ("When did {name} receive the {AWARD}?", "In what year was {short} given the {AWARD}?"),
            "REASON": ("Why was {name} given the {AWARD}?", "For what did {short} receive the {AWARD}?"),
        }),
        Fact("{Ref} married {spouse}, a {SPOUSE_JOB} from {spouse_town}, in {married}.", {
            "spouse": ("Who did {name} marry?", "Whom did {short} marry in {married}?"),
            "SPOUSE_JOB": ("What was the occupation of {spouse}?", "What did {spouse} do for a living?"),
            "spouse_town": ("Where was {spouse} from?",),
            "married": ("When did {name} marry {spouse}?",),
        }),
        Fact("{Ref} has written {BOOKS} books, the best known of which is {TITLE}.", {
            "BOOKS": ("How many books has {name} written?", "How many books has {short} published?"),
            "TITLE": ("What is {name}'s best known book?", "Which of {short}'s books is the best known?"),
        }),
        Fact("Since {moved}, {ref} has lived in {home}.", {
            "home": ("Where does {name} live now?", "In which city has {short} lived since {moved}?"),
            "moved": ("Since when has {name} lived in {home}?",),
        }),
    ),
    distractors=(
        "{PERSON}, a close colleague, was born in {TOWN} in {OLD_YEAR}.",
        "{PERSON2} also studied {FIELD2} at the {UNIVERSITY2}.",
        "{PERSON3} won the {AWARD2} in {YEAR} for {REASON2}.",
        "Years earlier, {PERSON2} had joined {COMPANY} as {ROLE2}.",
        "{PERSON}'s first novel, {TITLE2}, appeared in {YEAR2}.",
    ),
    kinds={
        **COMMON_KINDS,
        "PROFESSION": lambda rng: lx.pick(rng, (
            "marine engineer", "novelist", "historian", "architect", "cellist", "botanist", "economist",
            "civil servant", "photographer", "geologist")),
        "KNOWN_FOR": lambda rng: lx.pick(rng, (
            "a map of underground rivers", "footbridges made of rope", "restoring old organs",
            "plain-spoken essays", "a study of sleep", "building cheap water filters", "portraits of miners")),
        "FIELD": lambda rng: lx.pick(rng, (
            "marine biology", "medieval history", "civil engineering", "applied mathematics",
            "music composition", "soil chemistry", "economics", "architecture", "veterinary medicine")),
        "UNIVERSITY": lambda rng: lx.pick(rng, ("University of {}", "{} Institute of Technology")).format(
            lx.city(rng, coined=0.3)),
        "ROLE": lambda rng: lx.pick(rng, (
            "head of design", "a junior engineer", "chief economist", "a research assistant",
            "director of sales", "a technical writer", "its first staff lawyer")),
        "AWARD": lambda rng: f"{lx.coined_name(rng)} {lx.pick(rng, ('Medal', 'Prize', 'Award'))}",
        "REASON": lambda rng: lx.pick(rng, (
            "work on coastal erosion", "a series of essays on migration", "designing cheap water filters",
            "a novel about a fishing village", "research into sleep and memory", "restoring an old opera house",
            "mapping underground rivers", "a history of the salt trade")),
        "SPOUSE_JOB": lambda rng: lx.pick(rng, (
            "violinist", "ship captain", "primary school teacher", "surgeon", "furniture maker", "pilot",
            "journalist")),
        "BOOKS": lambda rng: lx.pick(rng, lx.NUMBER_WORDS + ("14", "17", "21", "23")),
        "TITLE": lambda rng: lx.pick(rng, (
            "The Salt Road", f"Winter in {lx.town(rng)}", "A House of Glass", "Letters from the Delta",
            "The Quiet Harbour", "Seven Bridges", "Under the Lime Trees", f"The {lx.coined_name(rng)} Papers")),
    },
    aliases={"name": "PERSON", "birthplace": "TOWN", "born": "OLD_YEAR", "employer": "COMPANY",
             "joined": "YEAR", "awarded": "YEAR", "married": "YEAR", "moved": "YEAR", "spouse": "PERSON",
             "spouse_town": "TOWN", "home": "CITY"},
)


def _town(rng: random.Random) -> Subject:
    name = lx.town(rng)
    return Subject(name, name, ("it", "the town", name))


TOWN = Topic(
    subject=_town,
    intro=Fact("{name} is a small town in {REGION} with about {POPULATION} inhabitants.", {
        "REGION": ("In which region is {name}?", "Where is the town of {name}?"),
        "POPULATION": ("How many people live in {name}?", "What is the population of {name}?"),
    }),
    facts=(
        Fact("{Ref} was founded in {founded} by {founder}.", {
            "founded": ("When was {name} founded?", "In what year was {name} founded?"),
            "founder": ("Who founded {name}?", "By whom was {name} founded?"),
        }),
        Fact("{Ref} lies on the {RIVER}, {DISTANCE} kilometres from {CITY}.", {
            "RIVER": ("On which river does {name} lie?", "Which river flows through {name}?"),
            "DISTANCE": ("How far is {name} from {CITY}?", "How many kilometres separate {name} and {CITY}?"),
            "CITY": ("Which city is {DISTANCE} kilometres from {name}?",),
        }),
        Fact("Its main industry has long been {INDUSTRY}.", {
            "INDUSTRY": ("What is the main industry of {name}?", "What has {name}'s economy long relied on?"),
        }),
        Fact("The current mayor, {mayor}, was elected in {elected}.", {
            "mayor": ("Who is the mayor of {name}?", "Who was elected mayor of {name} in {elected}?"),
            "elected": ("When was {mayor} elected mayor?", "In which year did {name} elect {mayor}?"),
        }),
        Fact("Every {MONTH}, {ref} hosts the {FESTIVAL}.", {
            "FESTIVAL": ("Which festival does {name} host?", "What event is held in {name} every {MONTH}?"),
            "MONTH": ("In which month is the {FESTIVAL} held?", "When does {name} host the {FESTIVAL}?"),
        }),
        Fact("The {LANDMARK} in the old square was built in {built}.", {
            "LANDMARK": ("What stands in the old square of {name}?",),
            "built": ("When was the {LANDMARK} built?", "In what year was the {LANDMARK} in {name} built?"),
        }),
        Fact("A railway station opened in {railway}, linking {ref} to {rail_city}.", {
            "railway": ("When did the railway station in {name} open?",),
            "rail_city": ("Which city is {name} linked to by rail?", "Where does the railway from {name} lead?"),
        }),
    ),
    distractors=(
        "The neighbouring village of {TOWN} was founded in {village_founded} by {PERSON}.",
        "{TOWN2}, further along the {RIVER2}, has about {POPULATION2} inhabitants.",
        "The previous mayor, {PERSON2}, had served since {YEAR2}.",
        "The {FESTIVAL2} is held in {TOWN} every {MONTH2}.",
        "A ferry to {CITY2} ran from {ferry} until the bridge was built.",
    ),
    kinds={
        **COMMON_KINDS,
        "OLD_YEAR": lambda rng: lx.year(rng, 1100, 1849),
        "RAIL_YEAR": lambda rng: lx.year(rng, 1850, 1960),
        "REGION": lambda rng: lx.pick(rng, lx.REGIONS),
        "POPULATION": lambda rng: _count(rng, 2_000, 60_000),
        "RIVER": lambda rng: f"{lx.pick(rng, lx.RIVERS)} river",
        "DISTANCE": lambda rng: str(rng.randint(8, 140)),
        "INDUSTRY": lambda rng: lx.pick(rng, (
            "salt mining", "fishing", "glass making", "wool weaving", "timber", "tourism", "shipbuilding",
            "cheese production", "copper mining")),
        "FESTIVAL": lambda rng: lx.pick(rng, (
            "Lantern Festival", "Herring Festival", "Harvest Fair", "Midsummer Boat Parade", "Chestnut Market",
            "Festival of Bells")),
        "LANDMARK": lambda rng: lx.pick(rng, (
            "stone clock tower", "bronze statue of a fisherman", "red brick church", "old customs house",
            "wooden windmill", "fountain of the three sisters")),
    },
    aliases={"name": "TOWN", "founded": "OLD_YEAR", "village_founded": "OLD_YEAR", "founder": "PERSON",
             "mayor": "PERSON", "elected": "YEAR", "built": "OLD_YEAR", "railway": "RAIL_YEAR", "ferry": "RAIL_YEAR",
             "rail_city": "CITY"},
)


def _company(rng: random.Random) -> Subject:
    name = f"{lx.coined_name(rng)} {lx.pick(rng, lx.COMPANY_SUFFIXES)}"
    short = name.split()[0]
    return Subject(name, short, ("it", "the company", short))


COMPANY = Topic(
    subject=_company,
    intro=Fact("{name} is a {NATIONALITY} company that makes {PRODUCT}.", {
        "PRODUCT": ("What does {name} make?", "What does {short} manufacture?", "What are {short}'s products?"),
    }),
    facts=(
        Fact("{Ref} was founded in {founded} by {founder} and {cofounder}.", {
            "founded": ("When was {name} founded?", "In which year was {short} set up?"),
            "founder": ("Who founded {name} together with {cofounder}?",),
        }),
        Fact("{Ref} is based in {hq}, where it employs about {STAFF} people.", {
            "hq": ("Where is {name} based?", "In which city does {short} have its headquarters?"),
            "STAFF": ("How many people does {name} employ?", "How many staff work for {short} in {hq}?"),
        }),
        Fact("Its chief executive is {ceo}, who took over in {ceo_year}.", {
            "ceo": ("Who is the chief executive of {name}?", "Who runs {short}?"),
            "ceo_year": ("When did {ceo} become chief executive?", "Since when has {ceo} run {short}?"),
        }),
        Fact("In {bought}, {ref} bought {target} for {price}.", {
            "target": ("Which company did {name} buy in {bought}?", "What did {short} acquire in {bought}?"),
            "price": ("How much did {short} pay for {target}?", "For how much did {name} buy {target}?"),
            "bought": ("When did {name} buy {target}?",),
        }),
        Fact("Last year {ref} reported sales of {sales}.", {
            "sales": ("What were {name}'s sales last year?", "How much did {short} sell last year?"),
        }),
        Fact("Its best-selling product is the {FLAGSHIP}, launched in {launched}.", {
            "FLAGSHIP": ("What is {name}'s best-selling product?",),
            "launched": ("When was the {FLAGSHIP} launched?", "In what year did {short} launch the {FLAGSHIP}?"),
        }),
    ),
    distractors=(
        "Its main rival, {COMPANY}, was founded in {rival_founded} and is based in {CITY}.",
        "{PERSON}, a former chief executive, left in {YEAR2}.",
        "{COMPANY} bought {COMPANY2} for {MONEY} in {YEAR3}.",
        "{COMPANY} employs about {STAFF2} people in {CITY2}.",
        "The {FLAGSHIP2} made by {COMPANY} sold well in {YEAR4}.",
    ),
    kinds={
        **COMMON_KINDS,
        "OLD_YEAR": lambda rng: lx.year(rng, 1890, 1975),
        "PRODUCT": lambda rng: lx.pick(rng, (
            "electric ferries", "frozen fish", "solar roof tiles", "hospital beds", "hiking boots",
            "children's books", "wind turbine blades", "industrial robots", "garden furniture")),
        "STAFF": lambda rng: _count(rng, 40, 90_000),
        "FLAGSHIP": lambda rng: f"{lx.coined_name(rng)} {rng.randint(2, 900)}",
    },
    aliases={"name": "COMPANY", "founded": "OLD_YEAR", "rival_founded": "OLD_YEAR", "founder": "PERSON",
             "cofounder": "PERSON", "hq": "CITY", "ceo": "PERSON", "ceo_year": "YEAR", "bought": "YEAR",
             "target": "COMPANY", "price": "MONEY", "sales": "MONEY", "launched": "YEAR"},
)


def _race(rng: random.Random) -> Subject:
    kind = lx.pick(rng, ("Marathon", "Cycling Classic", "Regatta", "Triathlon", "Ski Race", "Rowing Cup"))
    name = f"{lx.coined_name(rng)} {kind}"
    return Subject(name, f"the {name}", ("it", "the race", f"the {name}"))


def _duration(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.randint(1, 9)} hours and {rng.randint(1, 59)} minutes"
    return f"{rng.randint(20, 59)} minutes and {rng.randint(1, 59)} seconds"


RACE = Topic(
    subject=_race,
    intro=Fact("The {name} is a {DESCRIPTION} held every year in {venue}.", {
        "venue": ("Where is the {name} held?", "In which city does the {name} take place?"),
        "DESCRIPTION": ("What kind of event is the {name}?",),
    }),
    facts=(
        Fact("{Ref} was first held in {first}, when only {PARTICIPANTS} people took part.", {
            "first": ("When was the {name} first held?", "In what year did the first {name} take place?"),
            "PARTICIPANTS": ("How many people took part in the first {name}?",),
        }),
        Fact("This year's edition took place on {DATE} and drew {PARTICIPANTS2} competitors.", {
            "DATE": ("When did this year's {name} take place?", "On what date was the {name} held this year?"),
            "PARTICIPANTS2": ("How many competitors entered the {name} this year?",),
        }),
        Fact("The winner was {winner} of {COUNTRY}, who finished in {DURATION}.", {
            "winner": ("Who won this year's {name}?", "Who was the winner of the {name}?"),
            "COUNTRY": ("Which country is {winner} from?",),
            "DURATION": ("How long did {winner} take to finish?", "What was the winning time in the {name}?"),
        }),
        Fact("{Ref} is organised by {organiser}, which also runs {SIDE_EVENT}.", {
            "organiser": ("Who organises the {name}?", "Which organisation runs the {name}?"),
            "SIDE_EVENT": ("What else does {organiser} run?",),
        }),
        Fact("The winner receives {PRIZE}.", {
            "PRIZE": ("What does the winner of the {name} receive?", "What is the prize for winning the {name}?"),
        }),
        Fact("Next year {ref} moves to {next_city}.", {
            "next_city": ("Where will the next {name} be held?", "Where is the {name} moving next year?"),
        }),
    ),
    distractors=(
        "The previous edition, on {DATE2}, was won by {PERSON} of {COUNTRY2}.",
        "{PERSON2} finished second, in {DURATION2}.",
        "A similar race in {CITY} attracts about {PARTICIPANTS3} competitors.",
        "{PERSON3} of {CLUB} won the junior race, which began in {YEAR}.",
        "The {CLUB2} runs a shorter race in {CITY2} every {MONTH}.",
    ),
    kinds={
        **COMMON_KINDS,
        "DESCRIPTION": lambda rng: lx.pick(rng, (
            "race along the coast", "two-day race through the mountains", "night race across the old town",
            "relay race for amateur teams", "race around the lake", "long-distance race")),
        "PARTICIPANTS": lambda rng: _count(rng, 12, 25_000),
        "DATE": lambda rng: f"{rng.randint(1, 28)} {lx.pick(rng, lx.MONTHS)} {rng.randint(1990, 2023)}",
        "DURATION": _duration,
        "CLUB": lambda rng: lx.pick(rng, (f"{lx.city(rng)} Athletic Club", f"{lx.town(rng)} Rowing Club",
                                          f"{lx.coined_name(rng)} Sports Association")),
        "SIDE_EVENT": lambda rng: lx.pick(rng, (
            "a fun run for children", "a summer rowing school", "a charity walk", "a hill climb in October",
            "a youth league")),
        "PRIZE": lambda rng: lx.pick(rng, (
            f"a silver cup and {_count(rng, 1_000, 20_000)} euros", "a bronze medal", "a new bicycle",
            "a painting of the harbour", f"{_count(rng, 500, 50_000)} euros")),
    },
    aliases={"name": "RACE", "venue": "CITY", "first": "OLD_YEAR", "winner": "PERSON", "organiser": "CLUB",
             "next_city": "CITY"},
)

TOPICS = (PERSON, TOWN, COMPANY, RACE)


def _sentence(template: str, values: SlotValues, subject: Subject, rng: random.Random) -> tuple[str, dict[str, int]]:
    """Render one sentence, referring to the subject by a pronoun or its short name."""
    reference = lx.pick(rng, subject.references)
    return render(template, ChainMap({"ref": reference, "Ref": reference[:1].upper() + reference[1:]}, values))


def _paragraph(rng: random.Random, topic: Topic, values: SlotValues, subject: Subject
               ) -> tuple[str, list[tuple[Fact, int, dict[str, int]]]]:
    """The context, and for each fact in it: the fact, where its sentence starts, and where
    its slots start inside that sentence. Introduction first, then 1-5 facts and 1-2
    distractors in random order: 3 to 8 sentences."""
    facts = rng.sample(topic.facts, rng.randint(1, 5))
    body: list[Fact | str] = [*facts, *rng.sample(topic.distractors, rng.randint(1, 2))]
    rng.shuffle(body)
    parts: list[str] = []
    placed: list[tuple[Fact, int, dict[str, int]]] = []
    offset = 0
    for item in [topic.intro, *body]:
        template = item.sentence if isinstance(item, Fact) else item
        text, starts = _sentence(template, values, subject, rng)
        if isinstance(item, Fact):
            placed.append((item, offset, starts))
        parts.append(text)
        offset += len(text) + 1
    return " ".join(parts), placed


def draw(rng: random.Random, position: int) -> Group[QARecord]:
    """One paragraph and one to three questions about different facts in it."""
    topic = lx.pick(rng, TOPICS)
    subject = topic.subject(rng)
    values = SlotValues(rng, topic.kinds, topic.aliases, name=subject.name, short=subject.short)
    context, placed = _paragraph(rng, topic, values, subject)
    askable = [(fact, offset, starts, slot) for fact, offset, starts in placed for slot in fact.questions]
    drafts = []
    for fact, offset, starts, slot in rng.sample(askable, min(len(askable), rng.randint(1, 3))):
        question = fill(lx.pick(rng, fact.questions[slot]), values)
        answer = Answer(values[slot], offset + starts[slot])
        drafts.append(partial(QARecord, question=question, context=context, answers=(answer,),
                              title=subject.name))
    return Group(context, drafts)


def generate() -> dict[str, tuple[QARecord, ...]]:
    return build_splits("qa", draw, SIZES, SEED)
