"""sandbox_seed's generator: deterministic, realistic, idempotent, with the oddities the sync must handle."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest

from sandbox.hubspot import HubSpotStore
from sandbox.hubspot.seed import make_contact, seed_contacts
from sandbox.hubspot.store import PropertyErrors

ANCHOR = dt.date(2026, 3, 1)
# What Salesforce accepts as an email (one @, dotted domain, no empty labels).
SALESFORCE_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$"
)


def _snapshot(store: HubSpotStore) -> list[tuple[int, int, dict]]:
    rows = store.read().execute("SELECT id, created_ms, props FROM contact ORDER BY id").fetchall()
    return [(r["id"], r["created_ms"], json.loads(r["props"])) for r in rows]


@pytest.fixture
def store(tmp_path: Path):
    s = HubSpotStore(tmp_path / "hubspot.sqlite3")
    yield s
    s.close()


def test_same_seed_same_contacts(tmp_path: Path):
    a, b, c = (HubSpotStore(tmp_path / f"{name}.sqlite3") for name in "abc")
    assert seed_contacts(a, count=300, seed=7, anchor=ANCHOR) == 300
    assert seed_contacts(b, count=300, seed=7, anchor=ANCHOR) == 300
    seed_contacts(c, count=300, seed=8, anchor=ANCHOR)
    assert _snapshot(a) == _snapshot(b)
    assert [p for _i, _c, p in _snapshot(a)] != [p for _i, _c, p in _snapshot(c)]
    assert make_contact(7, 42, ANCHOR) == make_contact(7, 42, ANCHOR)


def test_seeding_is_idempotent_and_extends(store: HubSpotStore):
    assert seed_contacts(store, count=120, seed=1, anchor=ANCHOR) == 120
    first = _snapshot(store)
    assert seed_contacts(store, count=120, seed=1, anchor=ANCHOR) == 0
    assert seed_contacts(store, count=100, seed=1, anchor=ANCHOR) == 0
    assert seed_contacts(store, count=150, seed=1, anchor=ANCHOR) == 30
    assert _snapshot(store)[:120] == first and store.count() == 150
    # The extension is exactly what a single run of 150 gives.
    other = HubSpotStore(store.path.with_name("other.sqlite3"))
    seed_contacts(other, count=150, seed=1, anchor=ANCHOR)
    assert _snapshot(other) == _snapshot(store)
    other.close()
    store.reset()
    assert store.count() == 0 and seed_contacts(store, count=10, seed=1, anchor=ANCHOR) == 10


def test_seeded_oddities_are_present(store: HubSpotStore):
    seed_contacts(store, count=200, seed=3, anchor=ANCHOR)
    contacts = [p for _i, _c, p in _snapshot(store)]
    assert len(contacts) == 200
    no_lastname = [c for c in contacts if "lastname" not in c]
    malformed = [c for c in contacts if "email" in c and not SALESFORCE_EMAIL.match(c["email"])]
    long_lastname = [c for c in contacts if len(c.get("lastname", "")) > 80]
    long_company = [c for c in contacts if len(c.get("company", "")) > 255]
    long_city = [c for c in contacts if len(c.get("city", "")) > 40]
    no_email = [c for c in contacts if "email" not in c]
    assert len(no_lastname) == 4
    assert len(malformed) == 4
    assert {"..", "no-tld", "trailing-dot"} == {
        ".." if ".." in e else "trailing-dot" if e.endswith(".") else "no-tld" for e in (c["email"] for c in malformed)
    }
    assert len(long_lastname) == 2 and len(long_company) == 2 and len(long_city) == 2
    assert len(no_email) == 2


def test_no_two_seeded_contacts_share_an_email_even_in_another_case(store: HubSpotStore):
    seed_contacts(store, count=1000, seed=3, anchor=ANCHOR)
    emails = [c["email"] for _i, _c, c in _snapshot(store) if "email" in c]
    assert len(emails) == 990  # all but the deliberate 1 in 100 without
    assert len({e.casefold() for e in emails}) == len(emails)  # as HubSpot's API requires


def test_an_email_taken_already_is_tagged_with_the_seed_instead(store: HubSpotStore):
    """As if a contact had been made through the API, or by another seed, before this one."""
    wanted = make_contact(1, 5, ANCHOR)["email"]
    with store.write() as conn:
        store.insert(conn, {"email": wanted.upper(), "lastname": "Early"}, 0)
    seed_contacts(store, count=10, seed=1, anchor=ANCHOR)
    emails = [c.get("email") for _i, _c, c in _snapshot(store)]
    local, _at, domain = wanted.partition("@")
    assert emails[0] == wanted.upper() and emails[6] == f"{local}+s1@{domain}"
    assert emails[1:6] + emails[7:] == [make_contact(1, i, ANCHOR)["email"] for i in (0, 1, 2, 3, 4, 6, 7, 8, 9)]
    # Contacts of two seeds in one store stay unique too.
    seed_contacts(store, count=3000, seed=2, anchor=ANCHOR)
    seed_contacts(store, count=3000, seed=1, anchor=ANCHOR)
    keys = [row[0] for row in store.read().execute("SELECT email_key FROM contact WHERE email_key IS NOT NULL")]
    assert len(keys) == len(set(keys))


def test_the_api_refuses_to_make_seeded_emails_equal_ignoring_case(hs, http):
    url, app = hs
    seed_contacts(app.store, count=10, seed=1, anchor=ANCHOR)
    rows = app.store.read().execute("SELECT id, props FROM contact ORDER BY id").fetchall()
    (first, first_email), (second, _email) = [(row["id"], json.loads(row["props"])["email"]) for row in rows[:2]]
    attempts = [
        http.post(f"{url}/crm/v3/objects/contacts", json={"properties": {"email": first_email.upper()}}),
        http.patch(f"{url}/crm/v3/objects/contacts/{second}", json={"properties": {"email": first_email.title()}}),
        http.post(
            f"{url}/crm/v3/objects/contacts/batch/update",
            json={"inputs": [{"id": str(second), "properties": {"email": first_email.upper()}}]},
        ),
    ]
    for response in attempts:
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["status"] == "error" and body["category"] == "CONFLICT" and body["correlationId"]
        assert body["message"] == f"Contact already exists. Existing ID: {first}"
    assert app.store.count() == 10


def test_seeded_contacts_are_realistic_and_valid_for_hubspot(store: HubSpotStore):
    seed_contacts(store, count=1000, seed=1, anchor=ANCHOR)
    contacts = [p for _i, _c, p in _snapshot(store)]
    countries = {c["country"] for c in contacts}
    assert {"France", "Germany", "Spain", "United States", "United Kingdom"} <= countries
    assert {c["lifecyclestage"] for c in contacts} >= {"subscriber", "lead", "customer", "opportunity"}
    assert any(c.get("newsletter_opt_in") == "true" for c in contacts)
    assert any("interests" in c and ";" in c["interests"] for c in contacts)
    assert any("trial_started_at" in c for c in contacts) and any("last_event_date" in c for c in contacts)
    assert any("é" in c.get("firstname", "") + c.get("lastname", "") or "ü" in c.get("lastname", "") for c in contacts)
    for contact in contacts:
        # Every value is one HubSpot's own validation accepts, in canonical form.
        try:
            cleaned = store.clean_properties(contact)
        except PropertyErrors as exc:  # pragma: no cover - the message says which value
            pytest.fail(f"{contact}: {exc}")
        assert cleaned == contact
    rows = store.read().execute("SELECT created_ms, updated_ms FROM contact").fetchall()
    anchor_ms = int(dt.datetime.combine(ANCHOR, dt.time(), tzinfo=dt.UTC).timestamp() * 1000)
    assert all(r["created_ms"] <= anchor_ms for r in rows)
    assert all(r["updated_ms"] >= r["created_ms"] for r in rows)
    # Stamped like an import happening now, ten a millisecond: incremental pulls see them.
    assert len({r["updated_ms"] for r in rows}) == 100


def test_seeding_is_fast(store: HubSpotStore):
    started = time.monotonic()
    seed_contacts(store, count=20_000, seed=1, anchor=ANCHOR)
    elapsed = time.monotonic() - started
    assert store.count() == 20_000
    assert elapsed < 20, f"20,000 contacts took {elapsed:.1f} s"  # 100,000 in well under a minute
