"""Seeded contacts drawn and written: ``make_contact(seed, index, anchor)`` and ``seed_contacts``.

Contact ``i`` of seed ``S`` comes from its own ``random.Random``, so it never depends on what else
the store holds; the deliberate oddities (see :mod:`sandbox.hubspot.seed`) are applied by index.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import random
import unicodedata
from collections.abc import Iterator
from typing import Any

from sandbox.hubspot.schema import EMPLOYEE_RANGES, INDUSTRY_SEGMENTS, INTERESTS, ms_to_iso
from sandbox.hubspot.seed.countries import COUNTRIES
from sandbox.hubspot.store import HubSpotStore, email_key, now_ms

COMPANY_WORDS = [
    "Nova",
    "Atlas",
    "Blue",
    "Summit",
    "Vertex",
    "Lumen",
    "Orion",
    "Cedar",
    "Harbor",
    "Pioneer",
    "Quantum",
    "Northwind",
    "Silver",
    "Granite",
    "Helix",
    "Bright",
    "Evergreen",
    "Falcon",
    "Apex",
    "Crescent",
    "Meridian",
    "Polar",
    "Zenith",
]
COMPANY_NOUNS = [
    "Logistics",
    "Software",
    "Systems",
    "Analytics",
    "Foods",
    "Robotics",
    "Energy",
    "Health",
    "Labs",
    "Media",
    "Consulting",
    "Textiles",
    "Retail",
    "Engineering",
    "Capital",
    "Pharma",
    "Motors",
    "Studio",
    "Networks",
    "Solutions",
]
JOB_TITLES = [
    "Marketing Manager",
    "Head of Sales",
    "CEO",
    "CTO",
    "Account Executive",
    "Operations Director",
    "Product Manager",
    "Software Engineer",
    "HR Business Partner",
    "Procurement Officer",
    "Customer Success Manager",
    "CFO",
    "Office Manager",
    "Data Analyst",
    "Sales Development Representative",
    "VP Marketing",
    "IT Manager",
    "Founder",
]
LIFECYCLE_WEIGHTS = [
    ("subscriber", 25),
    ("lead", 30),
    ("marketingqualifiedlead", 15),
    ("salesqualifiedlead", 10),
    ("opportunity", 8),
    ("customer", 9),
    ("evangelist", 2),
    ("other", 1),
]
LEAD_STATUS_WEIGHTS = [
    (None, 30),
    ("NEW", 20),
    ("OPEN", 15),
    ("IN_PROGRESS", 10),
    ("OPEN_DEAL", 5),
    ("UNQUALIFIED", 8),
    ("ATTEMPTED_TO_CONTACT", 7),
    ("CONNECTED", 4),
    ("BAD_TIMING", 1),
]
EMPLOYEE_BOUNDS = {
    "1-5": (1, 5),
    "5-25": (5, 25),
    "25-50": (25, 50),
    "50-100": (50, 100),
    "100-500": (100, 500),
    "500-1000": (500, 1000),
    "1000+": (1000, 60000),
}
LONG_CITY = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"


class _Picker:
    """A weighted choice by one ``rng.random()`` draw and a bisect (``rng.choices`` is slow)."""

    def __init__(self, pairs: list[tuple[Any, int]]) -> None:
        self.values = [value for value, _weight in pairs]
        self.cumulative = list(itertools.accumulate(weight for _value, weight in pairs))

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


_PICK_COUNTRY = _Picker([(code, COUNTRIES[code]["weight"]) for code in COUNTRIES])
_PICK_STAGE = _Picker(LIFECYCLE_WEIGHTS)
_PICK_LEAD_STATUS = _Picker(LEAD_STATUS_WEIGHTS)
_PICK_EMPLOYEES = _Picker(list(zip([r[0] for r in EMPLOYEE_RANGES], [22, 25, 15, 12, 14, 6, 6], strict=True)))


@functools.lru_cache(maxsize=4096)
def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _int(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint``, several times faster (this runs a million times for 100,000 contacts)."""
    return low + int(rng.random() * (high - low + 1))


def _pick(rng: random.Random, items: list[Any]) -> Any:
    return items[int(rng.random() * len(items))]


def _phone(rng: random.Random, pattern: str) -> str:
    def digits(n: int) -> str:
        return f"{_int(rng, 0, 10**n - 1):0{n}d}"

    return pattern.format(
        a=_int(rng, 1, 9), b2=digits(2), c2=digits(2), c3=digits(3), d2=digits(2), d3=digits(3), e2=digits(2)
    )


def make_contact(seed: int, index: int, anchor: dt.date) -> dict[str, str]:
    """Contact ``index`` of seed ``seed``: HubSpot property values (strings), createdate included."""
    values, created_ms = _make(seed, index, anchor)
    values["createdate"] = ms_to_iso(created_ms)
    return values


@functools.lru_cache(maxsize=64)
def _anchor_ms(anchor: dt.date) -> int:
    return int(dt.datetime.combine(anchor, dt.time(), tzinfo=dt.UTC).timestamp() * 1000)


def _make(seed: int, index: int, anchor: dt.date) -> tuple[dict[str, str], int]:
    """Contact ``index`` of seed ``seed``: its values and its createdate in epoch ms."""
    # An integer seed: seeding from a string hashes it, which costs more than drawing the contact.
    rng = random.Random(seed * 1_000_000_007 + index)
    country = COUNTRIES[_PICK_COUNTRY(rng)]
    first = _pick(rng, country["first"])
    last = _pick(rng, country["last"])
    word, noun = _pick(rng, COMPANY_WORDS), _pick(rng, COMPANY_NOUNS)
    company = f"{word} {noun} {_pick(rng, country['suffix'])}"
    domain = f"{_ascii(word)}{_ascii(noun)}.{country['tld']}"
    if rng.random() < 0.25:
        domain = _pick(rng, country["freemail"])
    style = int(rng.random() * 4)
    f, ln = _ascii(first), _ascii(last)
    local = (f"{f}.{ln}", f"{f[0]}{ln}", f"{f}{ln[0]}", f"{f}_{ln}")[style]
    email = f"{local}.{index}@{domain}" if style == 0 else f"{local}{index}@{domain}"

    day_ms = 86_400_000
    anchor_ms = _anchor_ms(anchor)
    created_ms = anchor_ms - _int(rng, 0, 1000) * day_ms - _int(rng, 1, day_ms - 1)
    employee_range = _PICK_EMPLOYEES(rng)
    low, high = EMPLOYEE_BOUNDS[employee_range]
    values: dict[str, str | None] = {
        "email": email,
        "firstname": first,
        "lastname": last,
        "company": company,
        "phone": _phone(rng, country["phone"]) if rng.random() < 0.8 else None,
        "jobtitle": _pick(rng, JOB_TITLES) if rng.random() < 0.85 else None,
        "city": _pick(rng, country["cities"]),
        "country": country["name"],
        "lifecyclestage": _PICK_STAGE(rng),
        "hs_lead_status": _PICK_LEAD_STATUS(rng),
        "numemployees": employee_range,
        "employee_count": str(_int(rng, low, high - 1 if high > low else high)),
        "annualrevenue": str(_int(rng, 1, 500) * 100_000) if rng.random() < 0.6 else None,
        "industry_segment": _pick(rng, INDUSTRY_SEGMENTS)[0] if rng.random() < 0.9 else None,
        "interests": ";".join(v for v, _label in INTERESTS if rng.random() < 0.3) or None,
        "newsletter_opt_in": ("true", "false")[int(rng.random() * 2)] if rng.random() < 0.9 else None,
        "last_event_date": (anchor - dt.timedelta(days=_int(rng, 0, 730))).isoformat() if rng.random() < 0.5 else None,
        "trial_started_at": ms_to_iso(created_ms + _int(rng, 0, 60 * day_ms)) if rng.random() < 0.3 else None,
    }
    _apply_oddities(values, rng, index)
    return {k: v for k, v in values.items() if v is not None}, created_ms


def _apply_oddities(values: dict[str, str | None], rng: random.Random, index: int) -> None:
    if index % 50 == 7:
        values["lastname"] = None
    if index % 50 == 19:
        local, _at, domain = str(values["email"]).partition("@")
        kind = (index // 50) % 3
        if kind == 0:
            doubled = local.replace(".", "..", 1) if "." in local else f"{local}..x"
            values["email"] = f"{doubled}@{domain}"
        elif kind == 1:
            values["email"] = f"{local}@{domain.split('.')[0]}"  # no top-level domain
        else:
            values["email"] = f"{local}@{domain}."  # trailing dot
    if index % 100 == 31:
        # A long composed surname, beyond Salesforce's 80 characters.
        surname = str(values["lastname"])
        while len(surname) <= 85:
            surname += "-" + rng.choice(COUNTRIES["ES"]["last"])
        values["lastname"] = surname
    if index % 100 == 43:
        # A legal name pasted whole, beyond Salesforce's 255 characters for Company.
        values["company"] = (
            f"{values['company']} – Division of Advanced Industrial Research, Development, Manufacturing, "
            "Distribution and After-Sales Services for Europe, the Middle East and Africa, registered under "
            "the commercial code with its headquarters, regional offices and secondary establishments"
        )
    if index % 100 == 61:
        values["city"] = LONG_CITY
    if index % 100 == 83:
        values["email"] = None


def _free_email(values: dict[str, str], seed: int, taken: set[str]) -> None:
    """Keep the contact's email unique, ignoring case, among the contacts not archived, as HubSpot
    does (it refuses the second with a 409): an email another contact already holds (one made
    through the API, or by another seed) gets the seed as a ``+`` tag, or, taken too, none."""
    email = values.get("email")
    if not email:
        return
    key = str(email_key(email))
    if key in taken:
        local, _at, domain = email.partition("@")
        values["email"] = f"{local}+s{seed}@{domain}"
        key = str(email_key(values["email"]))
        if key in taken:
            del values["email"]
            return
    taken.add(key)


def _rows(
    store: HubSpotStore, seed: int, start: int, stop: int, anchor: dt.date, base_ms: int
) -> Iterator[tuple[dict[str, str], int, int]]:
    # Read when ``bulk_insert`` starts drawing rows, inside its write transaction: no contact
    # made through the API meanwhile can take an email of these.
    taken = _taken_emails(store)
    for index in range(start, stop):
        values, created_ms = _make(seed, index, anchor)
        if taken is not None:
            _free_email(values, seed, taken)
        yield values, created_ms, base_ms + (index - start) // 10


def _taken_emails(store: HubSpotStore) -> set[str] | None:
    """The email keys of the contacts not archived; ``None`` when there is none (the usual first
    seeding: the contacts of one seed never share an email, each holds its own index)."""
    rows = store.read().execute("SELECT email_key FROM contact WHERE archived = 0 AND email_key IS NOT NULL")
    taken = {row[0] for row in rows}
    return taken or None


def seed_contacts(store: HubSpotStore, *, count: int, seed: int = 1, anchor: dt.date | None = None) -> int:
    """Ensure the first ``count`` contacts of ``seed`` exist; returns how many were added."""
    anchor = anchor or dt.datetime.now(dt.UTC).date()
    done = store.seed_progress(seed)
    if done >= count:
        return 0
    newest = store.read().execute("SELECT COALESCE(MAX(updated_ms), 0) FROM contact").fetchone()[0]
    base_ms = max(now_ms(), newest + 1)
    return store.bulk_insert(_rows(store, seed, done, count, anchor, base_ms), progress=(seed, count))
