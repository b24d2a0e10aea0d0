"""The shared world of the embedded datasets: names of people, places, organisations, things.

All four generators draw from these lists, so an example of one task reads like an example
of another. The lists mix ordinary real-world names with invented ones, and
:func:`coined_name` makes up new names on the fly, so held-out splits contain names never
seen in training: a model has to read the context, not memorise a gazetteer.

Some names sit in several lists on purpose (``Jordan`` is a first name and a country,
``Ford`` a surname and a company, ``Phoenix`` a city and a club): the ``AMBIGUOUS_*``
tuples collect them so generators can draw them more often than chance would.
"""

from __future__ import annotations

import random
from typing import Sequence, TypeVar

T = TypeVar("T")

FIRST_NAMES = (
    "Anna", "Tomas", "Leila", "Marcus", "Ingrid", "Pavel", "Amara", "Felix", "Noor", "Oscar",
    "Helena", "Ravi", "Sofia", "Kwame", "Elena", "Jonas", "Mei", "Diego", "Astrid", "Yusuf",
    "Clara", "Henrik", "Priya", "Luca", "Fatima", "Emil", "Hana", "Samuel", "Irene", "Bruno",
    "Greta", "Omar", "Lucia", "Viktor", "Aiko", "Nadia", "Rafael", "Ida", "Kofi", "Mira",
    "Teodor", "Zara", "Matteo", "Linnea", "Idris", "Paula", "Arjun", "Rosa", "Stefan", "Wanjiru",
)
SURNAMES = (
    "Holm", "Okafor", "Lindqvist", "Moreau", "Castillo", "Novak", "Bergstrom", "Adeyemi", "Ricci",
    "Kowalski", "Tanaka", "Haddad", "Fischer", "Mensah", "Petrov", "Silva", "Brennan", "Larsen",
    "Quispe", "Nakamura", "Varga", "Osei", "Dubois", "Jansen", "Costa", "Horvat", "Mwangi",
    "Lund", "Ferreira", "Keller", "Abbasi", "Sato", "Duarte", "Virtanen", "Rossi", "Owusu",
    "Marsh", "Whitfield", "Calder", "Pryce", "Hale", "Ashworth", "Iversen", "Banerjee", "Vogel",
)
# Names that are also places, companies or months in the lists below.
AMBIGUOUS_FIRST_NAMES = (
    "Jordan", "Paris", "Sydney", "Austin", "Victoria", "Florence", "Georgia", "Chelsea",
    "Chad", "June", "April", "August", "Madison", "Santiago", "Virginia", "Kent", "Nelson",
)
AMBIGUOUS_SURNAMES = (
    "Washington", "Lincoln", "Ford", "Dell", "Morgan", "May", "Houston", "Hamilton", "Jordan",
    "Nelson", "Clinton", "Phoenix", "Austin", "Orange",
)
TITLES = ("Mr.", "Mrs.", "Ms.", "Dr.", "Professor", "Judge", "Senator", "Captain")

CITIES = (
    "Lisbon", "Nairobi", "Oslo", "Lima", "Krakow", "Osaka", "Accra", "Porto", "Tallinn",
    "Valencia", "Bergen", "Quito", "Tampere", "Lyon", "Mombasa", "Gdansk", "Sapporo",
    "Marseille", "Cork", "Dundee", "New York", "Buenos Aires", "Rio de Janeiro", "Hong Kong",
    "Cape Town", "San Sebastian", "St. Petersburg", "Kuala Lumpur", "Port Elsin", "New Harwick",
)
COUNTRIES = (
    "Portugal", "Kenya", "Norway", "Peru", "Poland", "Japan", "Ghana", "Estonia", "Spain",
    "Ecuador", "Finland", "France", "Ireland", "Scotland", "Brazil", "Chile", "Canada",
    "Morocco", "Vietnam", "Iceland", "South Africa", "Costa Rica", "New Zealand", "Sri Lanka",
    "Czech Republic",
)
AMBIGUOUS_CITIES = (
    "Paris", "Washington", "Sydney", "Austin", "Victoria", "Florence", "Lincoln", "Phoenix",
    "Houston", "Hamilton", "Nelson", "Madison", "Santiago", "Orange", "Clinton",
)
AMBIGUOUS_COUNTRIES = ("Jordan", "Georgia", "Chad", "Turkey")
REGIONS = (
    "Kent", "Virginia", "Andalusia", "Bavaria", "Patagonia", "Tuscany", "Lapland", "Galicia",
    "Western Highlands", "North Holland", "Rift Valley", "Lake District", "Silver Coast",
    "Upper Marren", "West Halden",
)
RIVERS = ("Amazon", "Danube", "Tagus", "Vistula", "Loire", "Tam", "Orrin", "Sella", "Mura", "Kessel")

COMPANIES = (
    "Kestrel Dynamics", "Bluepine Capital", "Norvik Shipping", "Halcyon Foods", "Tessel Systems",
    "Arbor Mobile", "Greywater Energy", "Lumen Health", "Quarry & Vale", "Solvane", "Marlow Freight",
    "Oxbow Pharma", "Cinderlake Mining", "Pellucid Networks", "Brightmoor Bank", "Vantor Motors",
)
AMBIGUOUS_COMPANIES = ("Ford", "Dell", "Morgan", "Jaguar", "Amazon", "Orange", "Lincoln", "Apple")
CLUBS = (
    "Porto", "Valencia", "Dundee United", "Cork City", "Bergen Rovers", "Lyon", "Santos",
    "Sporting Lisbon", "Gdansk Wanderers", "Osaka Giants", "Accra Hearts", "Tampere Blues",
)
AMBIGUOUS_CLUBS = ("Chelsea", "Washington", "Phoenix", "Hamilton", "Orange", "Austin")
NEWSPAPERS = ("Daily Courier", "Evening Ledger", "Harbour Times", "Northern Echo", "Morning Star")
INSTITUTION_PATTERNS = (
    "University of {city}", "{city} City Council", "Bank of {country}", "{city} Institute of Technology",
    "Ministry of Finance", "Ministry of Health", "Red Crescent", "World Health Organization",
    "United Nations", "European Commission", "{city} Symphony Orchestra", "National Weather Service",
)

NATIONALITIES = (
    "Portuguese", "Kenyan", "Norwegian", "Peruvian", "Polish", "Japanese", "Ghanaian", "Estonian",
    "Spanish", "French", "Irish", "Scottish", "Brazilian", "Chilean", "Canadian", "Moroccan",
    "Jordanian", "Georgian", "Turkish", "Icelandic", "Finnish", "Vietnamese",
)
LANGUAGES = ("Portuguese", "Swahili", "Polish", "Japanese", "Spanish", "French", "Finnish", "Quechua")
EVENT_PATTERNS = (
    "World Cup", "Olympic Games", "Winter Olympics", "Tour de France", "Champions League",
    "{city} Marathon", "{city} Open", "{city} Film Festival", "{city} Book Fair",
    "Summer Games", "Davis Cup", "Nations Cup", "{city} Jazz Festival",
)
PRODUCTS = (
    "Falcon 9", "Tessel One", "Arbor X2", "Vantor Comet", "Lumen Pulse", "Kestrel K7",
    "Nimbus Pro", "Solvane Air", "Marlow 300", "Quill Reader",
)
AWARDS = ("Nobel Prize", "Booker Prize", "Golden Lion", "Pulitzer Prize", "Fields Medal", "Halden Medal")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")

_ONSETS = ("b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr",
           "gr", "kr", "st", "th", "sk", "tr")
_VOWELS = ("a", "e", "i", "o", "u", "ae", "ei", "ou", "y")
_CODAS = ("", "", "n", "r", "l", "s", "k", "m", "nd", "rt", "sk", "th")
TOWN_SUFFIXES = ("ford", "holm", "by", "wick", "stad", "mere", "ton", "vik", "dale")
COMPANY_SUFFIXES = ("Labs", "Systems", "Group", "Holdings", "Freight", "Foods", "Energy",
                    "Robotics", "Textiles", "Analytics", "Mining", "Media")


def pick(rng: random.Random, options: Sequence[T]) -> T:
    """One element of ``options``; the single place where the generators choose from a list."""
    return options[rng.randrange(len(options))]


def coined_name(rng: random.Random, syllables: int = 2) -> str:
    """A pronounceable invented name such as ``Velrusk``: never in a gazetteer, so only
    its context says whether it is a person, a town or a company."""
    word = "".join(pick(rng, _ONSETS) + pick(rng, _VOWELS) for _ in range(syllables)) + pick(rng, _CODAS)
    return word.capitalize()


def first_name(rng: random.Random, ambiguous: float = 0.0) -> str:
    """A first name; with probability ``ambiguous`` one that is also a place or a month."""
    return pick(rng, AMBIGUOUS_FIRST_NAMES if rng.random() < ambiguous else FIRST_NAMES)


def surname(rng: random.Random, ambiguous: float = 0.0, coined: float = 0.3) -> str:
    """A surname: an ambiguous one, an invented one, or an ordinary one from the list."""
    roll = rng.random()
    if roll < ambiguous:
        return pick(rng, AMBIGUOUS_SURNAMES)
    if roll < ambiguous + coined:
        return coined_name(rng, rng.choice((2, 3)))
    return pick(rng, SURNAMES)


def person(rng: random.Random, ambiguous: float = 0.0, coined: float = 0.3) -> str:
    """A full name, ``First Last``."""
    return f"{first_name(rng, ambiguous)} {surname(rng, ambiguous, coined)}"


def town(rng: random.Random) -> str:
    """An invented town name such as ``Brelholm``."""
    return coined_name(rng, 1) + pick(rng, TOWN_SUFFIXES)


def city(rng: random.Random, ambiguous: float = 0.0, coined: float = 0.3) -> str:
    """A city or town: an ambiguous one, an invented one, or one from the list."""
    roll = rng.random()
    if roll < ambiguous:
        return pick(rng, AMBIGUOUS_CITIES)
    if roll < ambiguous + coined:
        return town(rng)
    return pick(rng, CITIES)


def country(rng: random.Random, ambiguous: float = 0.0) -> str:
    return pick(rng, AMBIGUOUS_COUNTRIES if rng.random() < ambiguous else COUNTRIES)


def company(rng: random.Random, ambiguous: float = 0.0, coined: float = 0.4) -> str:
    """A company: an ambiguous one (``Ford``), an invented one (``Drazik Robotics``) or a listed one."""
    roll = rng.random()
    if roll < ambiguous:
        return pick(rng, AMBIGUOUS_COMPANIES)
    if roll < ambiguous + coined:
        return f"{coined_name(rng)} {pick(rng, COMPANY_SUFFIXES)}"
    return pick(rng, COMPANIES)


def club(rng: random.Random, ambiguous: float = 0.0) -> str:
    return pick(rng, AMBIGUOUS_CLUBS if rng.random() < ambiguous else CLUBS)


def institution(rng: random.Random) -> str:
    """A public body or university, often built around a place name (``University of Lyon``)."""
    return pick(rng, INSTITUTION_PATTERNS).format(city=city(rng, ambiguous=0.2, coined=0.2), country=country(rng))


def event(rng: random.Random) -> str:
    return pick(rng, EVENT_PATTERNS).format(city=city(rng, coined=0.2))


def year(rng: random.Random, low: int = 1950, high: int = 2023) -> str:
    return str(rng.randint(low, high))
