"""Embedded summarisation data: short local-news stories with near-extractive summaries.

Each story type has *key* sentences (what happened, how big, what next), *details* about
the same event, and *background*; generic filler sentences are shared by all types. A
document holds 2-4 key sentences among 6-20 sentences in all, and the reference summary is
those key sentences in document order, sometimes shortened by dropping an opening phrase
("On Monday, ...") or a closing attribution ("..., officials said").

Where the key sentences sit varies, so that Lead-3 is a fair baseline but not the answer:
at the start (the classic news lead), after some background, at the end, or spread out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import partial
from typing import Callable, Mapping

from ...records import SummarizationRecord
from . import lexicon as lx
from .common import Group, SlotValues, build_splits, fill

SIZES = {"train": 800, "validation": 200, "test": 200}
SEED = 31415

_Draw = Callable[[random.Random], str]


@dataclass(frozen=True)
class Story:
    """One type of news story. Key sentences are listed in their natural order; the first
    (the event itself) is in every document of this type."""

    title: str
    key: tuple[str, ...]
    details: tuple[str, ...]
    background: tuple[str, ...]


STORIES = (
    Story(
        title="{buyer} to buy {target}",
        key=("{buyer} has agreed to buy its smaller rival {target} for {MONEY}",
             "the deal will create the largest {SECTOR} group in {COUNTRY}",
             "about {JOBS} jobs are expected to go over the next {FEW} years",
             "regulators in {COUNTRY} must still approve the takeover before it can close in {MONTH}",
             "{target} shareholders will receive {PRICE} euros for each share they own"),
        details=("shares in {target} rose {PCT} percent in early trading",
                 "{PERSON}, an analyst at {BANK}, called the price generous",
                 "{buyer} will pay for the deal partly with new debt",
                 "the two companies held talks twice before, in {YEAR} and {YEAR2}",
                 "{target}'s founder, {founder}, is expected to leave the board",
                 "advisers at {BANK2} worked on the deal for several months"),
        background=("{target} was founded in {OLD_YEAR} by {founder} in a garage in {TOWN}",
                    "the {SECTOR} industry has struggled since prices collapsed in {YEAR3}",
                    "{buyer} is based in {CITY} and employs about {STAFF} people",
                    "demand for {SECTOR} products has been falling for several years",
                    "{buyer} last made a large purchase in {YEAR4}, when it bought a factory in {TOWN2}"),
    ),
    Story(
        title="Floods force hundreds from their homes in {town}",
        key=("heavy flooding has forced {PEOPLE} people to leave their homes in {town}",
             "the {RIVER} rose {FEW} metres overnight after three days of rain",
             "two bridges were closed and schools in {town} will stay shut until {DAY}",
             "the regional government has promised {MONEY} in emergency aid",
             "forecasters expect more heavy rain in the valley later in the week"),
        details=("volunteers filled sandbags in the market square through the night",
                 "a hospital in {town} moved {PEOPLE2} patients to its upper floors",
                 "trains between {town} and {CITY} are running on a reduced timetable",
                 "{PERSON}, who runs a bakery near the river, said the water reached her counter",
                 "the army sent {FEW2} boats to help with the evacuation",
                 "power was cut to about {HOMES} homes for several hours"),
        background=("{town} sits in a wide valley where the {RIVER} meets two smaller streams",
                    "the last serious flood in the area was in {OLD_YEAR}",
                    "a new flood wall was proposed in {YEAR} but never built",
                    "the valley is known for its orchards and its old stone bridges",
                    "about {POPULATION} people live in {town}"),
    ),
    Story(
        title="{club} win the {CUP}",
        key=("{club} won the {CUP} final, beating {club2} {SCORE} in {CITY}",
             "{scorer} scored the winning goal in the {MINUTE}th minute",
             "it is the club's first major title since {YEAR}",
             "{club2} coach {coach} said his team had been unlucky",
             "the win means {club} will play in the {EVENT} next season"),
        details=("about {CROWD} fans watched the match in heavy rain",
                 "{club2} had a goal ruled out for offside shortly before half-time",
                 "{PERSON}, the {club} goalkeeper, made several important saves",
                 "the referee showed {FEW} yellow cards in a bad-tempered second half",
                 "the {club} players celebrated with their supporters for almost an hour",
                 "tickets for the final sold out within {FEW2} days"),
        background=("{club} were founded in {OLD_YEAR} by workers from the local shipyard",
                    "the two clubs also met in the final in {YEAR2}",
                    "{club2} had not lost a match since {MONTH}",
                    "{coach} took charge of {club2} in {YEAR3}",
                    "the {CUP} was first played in {OLD_YEAR2}"),
    ),
    Story(
        title="{winner} elected mayor of {town}",
        key=("{winner} has been elected mayor of {town} with {PCT} percent of the vote",
             "{loser}, who had been mayor since {YEAR}, came a distant second",
             "turnout was {PCT2} percent, the highest in {FEW} decades",
             "{winner} has promised to build {HOMES} new homes and to cut bus fares",
             "the new mayor will take office in {MONTH}"),
        details=("counting went on until the early hours of the morning",
                 "{PERSON} of the {PARTY} party finished third",
                 "{loser} congratulated {winner} in a short speech outside the town hall",
                 "queues formed at several polling stations before they opened",
                 "the council will meet next week to choose a deputy mayor",
                 "{PERSON2}, a retired teacher, said she had voted for the first time in years"),
        background=("{winner} worked as a nurse in {town} for {FEW2} years before entering politics",
                    "{town} has about {POPULATION} residents, many of whom work in {CITY}",
                    "housing costs in {town} have risen sharply since {YEAR2}",
                    "the mayor of {town} is elected every four years",
                    "{loser} first won the post in a close race against {PERSON}"),
    ),
    Story(
        title="{INSTITUTE} study finds that {FINDING}",
        key=("researchers at the {INSTITUTE} have found that {FINDING}",
             "the study followed {PEOPLE} volunteers over {FEW} years",
             "it was published on {DAY} in the journal {JOURNAL}",
             "the authors say the results must now be confirmed in a larger trial",
             "{lead}, who led the work, said the effect was larger than expected"),
        details=("the volunteers wore small sensors on their wrists",
                 "the team also collected blood samples every {FEW2} months",
                 "funding came from the {FUND} and from private donors",
                 "{PERSON}, a scientist who was not involved, called the study careful",
                 "the data will be shared with other research groups next year",
                 "some volunteers left the study early because they moved away"),
        background=("the {INSTITUTE} opened its research centre in {CITY} in {YEAR}",
                    "scientists have argued about the question for decades",
                    "earlier studies on the subject used much smaller groups",
                    "{lead} trained as a doctor in {CITY2} before turning to research",
                    "the journal {JOURNAL} was founded in {OLD_YEAR}"),
    ),
    Story(
        title="New bridge opens between {town} and {town2}",
        key=("a new bridge linking {town} and {town2} opened to traffic on {DAY}",
             "it cost {MONEY} and took {FEW} years to build",
             "the bridge cuts the journey between the two towns from {LONG} minutes to {SHORT}",
             "the old ferry service across the {RIVER} will end in {MONTH}"),
        details=("hundreds of people walked across the bridge before it opened to cars",
                 "the bridge is {LENGTH} metres long and has a separate lane for bicycles",
                 "{PERSON}, the engineer in charge, said the hardest part was the foundations",
                 "a brass band from {town2} played at the opening ceremony",
                 "shops in {town} stayed open late to serve the crowds",
                 "work was delayed for a year by a dispute over the price of steel"),
        background=("{town} and {town2} face each other across the {RIVER}",
                    "a bridge between the towns was first proposed in {OLD_YEAR}",
                    "the ferry has carried passengers between the towns since {OLD_YEAR2}",
                    "the population of the region has grown quickly in recent years",
                    "{town2} is best known for its {OLD_YEAR3} cathedral"),
    ),
)
# Filler that could follow any story.
GENERIC = (
    "the weather was mild for the time of year",
    "more details are expected later this week",
    "local cafes reported an unusually busy weekend",
    "a spokesperson declined to give further details",
    "the story was first reported by the {PAPER}",
    "similar events have been reported elsewhere in the region",
    "residents were asked to check the council website for updates",
    "the figures have not been independently confirmed",
    "photographs from the scene were widely shared online",
    "the {PAPER} will publish a full report on {DAY}",
)
# Attributions rather than times, so that they fit any key sentence's tense.
OPENERS = ("according to officials,", "according to the {PAPER},", "as expected,", "officials confirmed that")
CLOSERS = (", officials said", ", according to the {PAPER}", ", a statement said", ", local media reported",
           ", the {PAPER} reported")

KINDS: Mapping[str, _Draw] = {
    "PERSON": lambda rng: lx.person(rng, coined=0.4),
    "TOWN": lx.town,
    "CITY": lx.city,
    "COUNTRY": lx.country,
    "COMPANY": lambda rng: lx.company(rng, coined=0.6),
    "CLUB": lx.club,
    "RIVER": lambda rng: f"{lx.pick(rng, lx.RIVERS)} river",
    "PAPER": lambda rng: lx.pick(rng, lx.NEWSPAPERS),
    "DAY": lambda rng: lx.pick(rng, lx.WEEKDAYS),
    "MONTH": lambda rng: lx.pick(rng, lx.MONTHS),
    "YEAR": lambda rng: lx.year(rng, 1980, 2022),
    "OLD_YEAR": lambda rng: lx.year(rng, 1850, 1979),
    "FEW": lambda rng: lx.pick(rng, lx.NUMBER_WORDS),
    "PCT": lambda rng: str(rng.randint(11, 79)),
    "PEOPLE": lambda rng: f"{rng.randint(40, 4000):,}",
    "HOMES": lambda rng: f"{rng.randint(200, 9000):,}",
    "POPULATION": lambda rng: f"{rng.randint(3, 90)},{rng.randint(0, 999):03d}",
    "JOBS": lambda rng: f"{rng.randint(100, 3000):,}",
    "STAFF": lambda rng: f"{rng.randint(500, 40000):,}",
    "CROWD": lambda rng: f"{rng.randint(5, 80)},{rng.randint(0, 9)}00",
    "MONEY": lambda rng: f"{rng.randint(2, 900)} million {lx.pick(rng, ('euros', 'dollars', 'pounds'))}",
    "PRICE": lambda rng: f"{rng.randint(3, 80)}.{rng.randint(10, 99)}",
    "SECTOR": lambda rng: lx.pick(rng, ("steel", "packaging", "frozen food", "furniture", "shipping", "paper",
                                        "textile", "software")),
    "BANK": lambda rng: lx.pick(rng, ("Brightmoor Bank", "Bluepine Capital", f"{lx.coined_name(rng)} Securities")),
    "SCORE": lambda rng: lx.pick(rng, ("1-0", "2-1", "3-2", "2-0", "3-1", "4-3")),
    "MINUTE": lambda rng: str(rng.randint(4, 89)),
    "CUP": lambda rng: lx.pick(rng, ("National Cup", "League Cup", "Coastal Shield", f"{lx.coined_name(rng)} Trophy")),
    "EVENT": lambda rng: lx.pick(rng, ("Champions League", "Nations Cup", "continental cup")),
    "PARTY": lambda rng: lx.pick(rng, ("Green", "Liberal", "Farmers'", "Independent", "Labour")),
    "INSTITUTE": lx.institution,
    "FINDING": lambda rng: lx.pick(rng, (
        "people who walk to work sleep better", "a common fungus can break down plastic waste",
        "bees learn faster in cooler weather", "children who read aloud do better at maths",
        "a cheap blood test can detect kidney disease early", "city trees lower summer night temperatures")),
    "JOURNAL": lambda rng: lx.pick(rng, ("Northern Medicine", "Field Ecology Letters", "Human Sleep",
                                         "Applied Biology Reports")),
    "FUND": lambda rng: lx.pick(rng, ("National Science Fund", "Halden Foundation", "European Commission")),
    "LONG": lambda rng: str(rng.randint(40, 95)),
    "SHORT": lambda rng: str(rng.randint(5, 25)),
    "LENGTH": lambda rng: f"{rng.randint(300, 2900):,}",
}
ALIASES = {"buyer": "COMPANY", "target": "COMPANY", "founder": "PERSON", "town": "TOWN", "town2": "TOWN",
           "club": "CLUB", "club2": "CLUB", "scorer": "PERSON", "coach": "PERSON", "winner": "PERSON",
           "loser": "PERSON", "lead": "PERSON"}

# How the key sentences are placed, and how often.
LAYOUTS = (("lead", 0.4), ("after_background", 0.25), ("end", 0.15), ("spread", 0.2))


def _key_positions(rng: random.Random, layout: str, n_key: int, n_total: int) -> list[int]:
    """Where the key sentences go, as sorted sentence indices."""
    n_other = n_total - n_key
    if layout == "lead":
        start = 0
    elif layout == "after_background":
        start = rng.randint(1, min(5, n_other))
    elif layout == "end":
        start = n_other - rng.randint(0, 1)  # last, or followed by one more sentence
    else:
        return sorted(rng.sample(range(n_total), n_key))
    return list(range(start, start + n_key))


def _key_sentence(rng: random.Random, template: str, values: SlotValues) -> tuple[str, str]:
    """A key sentence as it stands in the document, and as the summary gives it: the same
    sentence, or (60% of the time) without its opening phrase and closing attribution."""
    opener = lx.pick(rng, OPENERS) + " " if rng.random() < 0.35 else ""
    closer = lx.pick(rng, CLOSERS) if rng.random() < 0.3 else ""
    full = fill(opener + template + closer, values) + "."
    if (opener or closer) and rng.random() < 0.6:
        return full, fill(template, values) + "."
    return full, full


def draw(rng: random.Random, position: int) -> Group[SummarizationRecord]:
    """One document with its summary."""
    story = lx.pick(rng, STORIES)
    values = SlotValues(rng, KINDS, ALIASES)
    n_total = rng.randint(6, 20)
    n_key = rng.randint(2, min(4, len(story.key)))
    keys = [story.key[0], *rng.sample(story.key[1:], n_key - 1)]
    keys.sort(key=story.key.index)
    pool = story.details + GENERIC
    n_background = rng.randint(max(1, n_total - n_key - len(pool)), min(len(story.background), n_total - n_key))
    background = rng.sample(story.background, n_background)
    rest = rng.sample(pool, n_total - n_key - n_background)
    # Background first: a document that does not open with its key facts opens with context.
    others = iter([fill(template, values) + "." for template in background + rest])
    layout = rng.choices([name for name, _ in LAYOUTS], [weight for _, weight in LAYOUTS])[0]
    positions = _key_positions(rng, layout, n_key, n_total)
    at = dict(zip(positions, [_key_sentence(rng, template, values) for template in keys]))
    sentences = [at[i][0] if i in at else next(others) for i in range(n_total)]
    summary = tuple(at[i][1] for i in positions)
    record = partial(SummarizationRecord, sentences=tuple(sentences), summary=summary,
                     title=fill(story.title, values))
    return Group(" ".join(sentences), [record])


def generate() -> dict[str, tuple[SummarizationRecord, ...]]:
    return build_splits("summarization", draw, SIZES, SEED)
