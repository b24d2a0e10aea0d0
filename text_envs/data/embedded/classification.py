"""Embedded text classification data: one- to three-sentence news items in four classes.

The classes share much of their vocabulary on purpose: a *record* is broken in sports,
posted in business and measured in science; a *court* is where tennis is played and where
governments are sued; teams, launches, deals, strikes, markets, stars and trials turn up
in several classes. Some items cross topics outright (a football club's share price is
business, a sports boycott is world news), and some carry a follow-up sentence from
another class. A bag-of-words model therefore does well but not perfectly; the classes
are exactly balanced in every split.
"""

from __future__ import annotations

import random
from functools import partial
from typing import Callable, Mapping

from ...records import ClassificationRecord
from . import lexicon as lx
from .common import Group, SlotValues, build_splits, fill

LABELS = ("world", "sports", "business", "science")
SIZES = {"train": 1500, "validation": 300, "test": 300}
SEED = 4444

_Draw = Callable[[random.Random], str]

# The first sentence of an item: it decides the class. The last few of each class
# borrow another class's subject matter.
LEADS: Mapping[str, tuple[str, ...]] = {
    "world": (
        "{NAT} troops crossed the border into {COUNTRY} early on {DAY}",
        "the president of {COUNTRY} met {NAT} leaders in {CITY} to discuss the border dispute",
        "thousands marched through {CITY} to protest against the new election law",
        "the supreme court of {COUNTRY} ruled that the vote in the capital must be held again",
        "a record number of refugees crossed into {COUNTRY} last month, the {INST} said",
        "{COUNTRY} and {COUNTRY2} signed a trade deal after years of talks",
        "rebels in the north of {COUNTRY} released {NUM} hostages",
        "the government of {COUNTRY} launched a campaign against corruption",
        "the {NAT} prime minister survived a confidence vote in parliament",
        "an earthquake killed at least {NUM} people in the mountains of {COUNTRY}",
        "a negotiating team from {COUNTRY} arrived in {CITY} for peace talks",
        "the presidential race in {COUNTRY} tightened after a televised debate",
        "police fired tear gas at protesters outside parliament in {CITY}",
        "the opposition leader in {COUNTRY} was charged with fraud and will stand trial",
        "a missile strike hit a fuel depot near {CITY}, officials said",
        "ministers from {NUM} countries agreed a goal of cutting emissions by {PCT} percent",
        "{COUNTRY} said it would boycott the {EVENT} in protest at the invasion",
        "the {INST} warned that rising food prices in {COUNTRY} could lead to unrest",
        "{COUNTRY} expelled {NUM} diplomats after a spying row with {COUNTRY2}",
        "the government of {COUNTRY} banned {CLUB} fans from travelling after riots at the match",
        "{COUNTRY} blamed a computer virus for the failure of its election website",
        "the collapse of the currency in {COUNTRY} led to protests across the country",
    ),
    "sports": (
        "{CLUB} beat {CLUB2} {SCORE} to go top of the league",
        "{PERSON} broke the world record in the 400 metres in {CITY}",
        "the {NAT} team was knocked out of the {EVENT} on penalties",
        "{PERSON} won the final on the centre court in straight sets",
        "{CLUB} signed the striker {PERSON} in a deal worth {NUM} million euros",
        "{PERSON} scored a late goal as {CLUB} drew with {CLUB2}",
        "the coach of {CLUB} was sacked after a run of {NUM} defeats",
        "{PERSON} will miss the rest of the season with a knee injury",
        "{PERSON} won the race by {NUM} seconds to take the overall lead",
        "the transfer market opened with {CLUB} bidding for {PERSON}",
        "{COUNTRY} named a young squad for the {EVENT}",
        "{PERSON} became the youngest player to score a century for {COUNTRY}",
        "the star of the {EVENT} was {PERSON}, who scored twice in the final",
        "{PERSON} was charged by the league for a dangerous tackle",
        "{CLUB} shares the lead with {CLUB2} after {NUM} games",
        "{CLUB} launched its new kit in front of a sold-out stadium",
        "fans of {CLUB} protested against ticket prices before the match",
        "{PERSON} tested a new carbon bicycle before the mountain stage",
        "{CLUB} was fined {NUM} thousand euros for breaking spending rules",
        "the {EVENT} went ahead in {CITY} despite the political crisis",
        "{PERSON} signed a new contract with {CLUB} worth {NUM} million euros a year",
        "{PERSON} recovered from the virus in time to start the race",
    ),
    "business": (
        "shares in {COMPANY} fell {PCT} percent after weak quarterly results",
        "{COMPANY} reported record profits of {NUM} million euros",
        "{COMPANY} agreed to buy {COMPANY2} in a deal worth {NUM} million dollars",
        "the central bank of {COUNTRY} raised interest rates by half a point",
        "{COMPANY} will launch the {PRODUCT} in its stores next month",
        "oil prices rose as markets reacted to the cut in supply",
        "workers at the {COMPANY} plant in {CITY} went on strike over pay",
        "a court ordered {COMPANY} to pay {NUM} million dollars to former staff",
        "the stock market in {CITY} closed at a record high",
        "{COMPANY} cut {NUM} jobs as demand for its products slowed",
        "unemployment in {COUNTRY} fell to {PCT} percent, its lowest level in a decade",
        "the management team of {COMPANY} was replaced after the takeover",
        "investors sold bonds after inflation in {COUNTRY} reached {PCT} percent",
        "{COMPANY} was fined by regulators for misleading customers",
        "retail sales in {COUNTRY} rose faster than analysts expected",
        "{COMPANY} opened a factory in {CITY} that will employ {NUM} people",
        "shares in {CLUB} jumped after the club posted its first annual profit",
        "{COMPANY} signed a sponsorship deal with {CLUB} worth {NUM} million euros",
        "{COMPANY} said sales of its new chip had beaten forecasts",
        "{COMPANY} launched a satellite internet service for customers in remote areas",
        "the government of {COUNTRY} sold its stake in the national airline",
        "{COMPANY} shares fell after a virus outbreak closed its factory in {CITY}",
    ),
    "science": (
        "scientists at the {INST} discovered a new species of frog in the forests of {COUNTRY}",
        "a rocket carrying a weather satellite was launched from {COUNTRY} on {DAY}",
        "astronomers found a star that is {NUM} times larger than the sun",
        "a research team at the {INST} built a battery that charges in {NUM} seconds",
        "a new computer virus infected thousands of machines in {NUM} countries",
        "{COMPANY} unveiled a chip that uses half the power of its predecessor",
        "a clinical trial of a new vaccine in {COUNTRY} showed strong results",
        "engineers tested a driverless bus on the streets of {CITY}",
        "last year was the warmest on record, climate scientists said",
        "the space probe will reach its target in {MONTH}, the agency said",
        "physicists measured the mass of the particle with record precision",
        "a study of {NUM} patients linked poor sleep to heart disease",
        "researchers trained an AI model to predict the shapes of proteins",
        "the new telescope captured images of a galaxy {NUM} million light years away",
        "engineers fixed a security flaw that affected millions of phones",
        "divers recorded coral bleaching across the reef off {COUNTRY}",
        "sports scientists found that the new running shoes save runners {PCT} percent of their energy",
        "researchers used satellite images to count refugees fleeing the fighting in {COUNTRY}",
        "the {PRODUCT} uses a new kind of solar cell that works in the shade",
        "{COMPANY} scientists developed a cheaper test for the virus",
        "researchers measured how fast a football travels after a free kick",
        "the government of {COUNTRY} launched a research satellite to monitor crops",
    ),
}
# Sentences that may follow a lead: context, reactions, what happens next.
FOLLOW_UPS: Mapping[str, tuple[str, ...]] = {
    "world": (
        "the United Nations called for calm", "talks are expected to resume next week",
        "the embassy in {CITY} was closed", "opposition parties boycotted the vote",
        "the foreign ministry did not respond", "aid agencies said supplies were running low",
        "a ceasefire was agreed late on {DAY}", "the army said the situation was under control",
        "the vote is seen as a test for the government", "neighbouring countries have offered to mediate",
    ),
    "sports": (
        "the second half was played in heavy rain", "the supporters sang until the final whistle",
        "the team plays again on {DAY}", "the coach praised the defence",
        "the goalkeeper made several fine saves", "tickets for the final sold out in an hour",
        "the referee was criticised after the match", "the injury could keep him out for a month",
        "the crowd of {NUM} thousand was a record for the ground", "the title race is now wide open",
    ),
    "business": (
        "analysts had expected a smaller fall", "the chief executive said the outlook remained uncertain",
        "trading in the shares was briefly suspended", "the deal still needs the approval of regulators",
        "investors welcomed the news", "the firm will publish full results in {MONTH}",
        "the currency weakened against the dollar", "profits are expected to recover next year",
        "the union said the strike would continue", "bond yields rose for a third day",
    ),
    "science": (
        "the findings were published in a scientific journal",
        "the results must still be confirmed by other laboratories",
        "the researchers plan further experiments this year", "the data will be shared with other scientists",
        "the mission is expected to last {NUM} years", "a software update is available now",
        "the work was funded by the {INST}", "experts called the discovery remarkable",
        "the device could reach the market within five years", "the satellite will orbit the earth for a decade",
    ),
}
KINDS: Mapping[str, _Draw] = {
    "PERSON": lambda rng: lx.person(rng, coined=0.3),
    "COUNTRY": lx.country,
    "CITY": lambda rng: lx.city(rng, coined=0.2),
    "NAT": lambda rng: lx.pick(rng, lx.NATIONALITIES),
    "COMPANY": lx.company,
    "CLUB": lx.club,
    "INST": lx.institution,
    "EVENT": lx.event,
    "PRODUCT": lambda rng: lx.pick(rng, lx.PRODUCTS),
    "DAY": lambda rng: lx.pick(rng, lx.WEEKDAYS),
    "MONTH": lambda rng: lx.pick(rng, lx.MONTHS),
    "NUM": lambda rng: str(rng.randint(2, 90)),
    "PCT": lambda rng: str(rng.randint(2, 40)),
    "SCORE": lambda rng: f"{rng.randint(1, 5)}-{rng.randint(0, 3)}",
}
# What else was in the news, by class: a mixed item's lead may end on one of these.
CONTEXTS: Mapping[str, tuple[str, ...]] = {
    "world": ("the election in {COUNTRY2}", "the border clashes", "the peace talks in {CITY2}",
              "the fall of the government", "the summit of foreign ministers"),
    "sports": ("the cup final", "the {EVENT2}", "a record season for {CLUB2}", "the transfer deadline",
               "the league title race"),
    "business": ("a fall in share prices", "the takeover of {COMPANY2}", "the interest rate rise",
                 "weak quarterly results", "the market crash"),
    "science": ("the rocket launch", "the vaccine trial", "a new study on climate", "the launch of the telescope",
                "the discovery of a new planet"),
}
CONNECTIVES = (", days after {}", ", a week after {}", ", just before {}")
# How often an item is mixed: its lead still decides the class, but the lead ends on
# another class's news and the follow-up sentences come from that class.
MIXED = 0.3


def _mixed(rng: random.Random, lead: str, label: str) -> list[str]:
    """A mixed item's templates: the lead (often with another class's news attached) and
    one or two follow-ups of that other class."""
    other = lx.pick(rng, [other for other in LABELS if other != label])
    if rng.random() < 0.7:
        lead += lx.pick(rng, CONNECTIVES).format(lx.pick(rng, CONTEXTS[other]))
    return [lead, *rng.sample(FOLLOW_UPS[other], rng.choices((1, 2), (0.4, 0.6))[0])]


def draw(rng: random.Random, position: int) -> Group[ClassificationRecord]:
    """One item of class ``LABELS[position % 4]``: the split ends up exactly balanced."""
    label = LABELS[position % len(LABELS)]
    lead = lx.pick(rng, LEADS[label])
    if rng.random() < MIXED:
        templates = _mixed(rng, lead, label)
    else:
        templates = [lead, *rng.sample(FOLLOW_UPS[label], rng.choices((0, 1, 2), (0.35, 0.4, 0.25))[0])]
    values = SlotValues(rng, KINDS)
    text = " ".join(fill(template, values) + "." for template in templates)
    return Group(text, [partial(ClassificationRecord, text=text, label=label)])


def generate() -> dict[str, tuple[ClassificationRecord, ...]]:
    return build_splits("classification", draw, SIZES, SEED)
