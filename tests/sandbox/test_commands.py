"""sandbox_seed, sandbox_reset and sandbox_serve."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import time
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from sandbox.hubspot import HubSpotStore
from sandbox.hubspot.seed import make_contact
from sandbox.management.commands import sandbox_reset, sandbox_seed, sandbox_serve
from sandbox.salesforce.seed import GROUPS, SeedPerson, other_case, seed_duplicates
from sandbox.salesforce.store import SalesforceStore
from sandbox.testing import running_hubspot, trusting_session


@pytest.mark.parametrize(
    ("module", "name", "expected"),
    [
        (
            sandbox_seed,
            "sandbox_seed",
            ["--contacts", "--seed", "--if-empty", "deterministic", "--salesforce-db", "a Lead and a Contact"],
        ),
        (sandbox_reset, "sandbox_reset", ["Empty the HubSpot and Salesforce sandboxes"]),
        (sandbox_serve, "sandbox_serve", ["--hubspot-port", "--salesforce-port", "--host", "8443"]),
    ],
)
def test_help(module, name, expected):
    text = module.Command().create_parser("manage.py", name).format_help()
    for fragment in expected:
        assert fragment in text


def salesforce_records(path: Path) -> list[tuple[str, str]]:
    """``(object, email)`` of every record in the Salesforce sandbox at ``path``, in creation order."""
    store = SalesforceStore(path)
    try:
        conn = store.read()
        return [
            (name, row[0])
            for name in ("Lead", "Contact")
            for row in conn.execute(f'SELECT "Email" FROM "{name}" ORDER BY "Id"')
        ]
    finally:
        store.close()


def test_seed_command(tmp_path: Path, settings):
    settings.SANDBOX = True
    db, sf_db = tmp_path / "hubspot.sqlite3", tmp_path / "salesforce.sqlite3"
    paths = ("--db", str(db), "--salesforce-db", str(sf_db))
    out = io.StringIO()
    call_command("sandbox_seed", "--contacts", "150", "--seed", "2", *paths, stdout=out)
    assert "Added 150 contacts (seed 2)" in out.getvalue()
    assert "Added 5 Salesforce records duplicating seeded contacts by email (seed 2)" in out.getvalue()
    out = io.StringIO()
    call_command("sandbox_seed", "--contacts", "150", "--seed", "2", *paths, stdout=out)
    assert "Added 0 contacts" in out.getvalue() and "holds 150" in out.getvalue()
    assert "Added 0 Salesforce records" in out.getvalue()
    out = io.StringIO()
    call_command("sandbox_seed", "--contacts", "500", "--if-empty", *paths, stdout=out)
    assert "already has contacts" in out.getvalue()
    store = HubSpotStore(db)
    assert store.count() == 150
    store.close()
    assert len(salesforce_records(sf_db)) == 5
    with pytest.raises(CommandError):
        call_command("sandbox_seed", "--contacts", "5", "--anchor", "yesterday", *paths)
    settings.SANDBOX = False
    with pytest.raises(CommandError, match="SANDBOX=false"):
        call_command("sandbox_seed", "--contacts", "5", *paths)


def test_seed_puts_in_salesforce_records_duplicating_the_first_contacts_by_email(tmp_path: Path, settings):
    settings.SANDBOX = True
    db, sf_db = tmp_path / "hubspot.sqlite3", tmp_path / "salesforce.sqlite3"
    paths = ("--db", str(db), "--salesforce-db", str(sf_db))
    call_command("sandbox_seed", "--contacts", "2", "--seed", "4", *paths, stdout=io.StringIO())
    first, second, third = (make_contact(4, i, dt.date(2026, 1, 1))["email"] for i in range(3))
    assert first != second != third
    # Two contacts: the groups of those two only.
    assert salesforce_records(sf_db) == [("Lead", first), ("Lead", other_case(second)), ("Contact", first)]
    call_command("sandbox_seed", "--contacts", "40", "--seed", "4", *paths, stdout=io.StringIO())
    call_command("sandbox_seed", "--contacts", "60", "--seed", "4", *paths, stdout=io.StringIO())
    assert salesforce_records(sf_db) == [
        ("Lead", first),
        ("Lead", other_case(second)),
        ("Lead", third),
        ("Lead", third),
        ("Contact", first),
    ]
    assert other_case(second) != second and other_case(second).lower() == second.lower()
    hubspot = HubSpotStore(db)
    try:
        # Each duplicates a seeded HubSpot contact, which is itself unique.
        for _object, email in salesforce_records(sf_db):
            assert hubspot.get_by_email(email) is not None
    finally:
        hubspot.close()
    # Another seed adds its own; the duplicate rule, when on, does not stop a seed.
    store = SalesforceStore(sf_db)
    store.update_settings({"duplicate_rule": True})
    store.close()
    out = io.StringIO()
    call_command("sandbox_seed", "--contacts", "3", "--seed", "5", *paths, stdout=out)
    assert "Added 5 Salesforce records" in out.getvalue() and len(salesforce_records(sf_db)) == 10


def test_the_first_contacts_of_any_seed_are_valid_salesforce_records(tmp_path: Path):
    store = SalesforceStore(tmp_path / "salesforce.sqlite3")
    try:
        for seed in range(1, 60):
            people = []
            for index in range(GROUPS):
                values = make_contact(seed, index, dt.date(2026, 1, 1))
                people.append(SeedPerson(values["email"], values["firstname"], values["lastname"], values["company"]))
            assert len(seed_duplicates(store, people, seed=seed)) == 5  # raises if Salesforce refused one
    finally:
        store.close()


def test_seed_and_reset_default_to_the_data_folder(tmp_path: Path, settings):
    settings.SANDBOX = True
    settings.DATA_DIR = tmp_path
    call_command("sandbox_seed", "--contacts", "20", stdout=io.StringIO())
    hubspot_db = tmp_path / "sandbox" / "hubspot.sqlite3"
    salesforce_db = tmp_path / "sandbox" / "salesforce.sqlite3"
    assert HubSpotStore(hubspot_db).count() == 20
    assert len(salesforce_records(salesforce_db)) == 5
    out = io.StringIO()
    call_command("sandbox_reset", stdout=out)
    assert "HubSpot sandbox emptied" in out.getvalue()
    store = HubSpotStore(hubspot_db)
    assert store.count() == 0 and store.seed_progress(1) == 0
    assert "lifecyclestage" in store.properties
    assert salesforce_records(salesforce_db) == []
    # Reset forgets what was seeded: seeding again puts the duplicates back.
    call_command("sandbox_seed", "--contacts", "20", stdout=io.StringIO())
    assert len(salesforce_records(salesforce_db)) == 5


def test_serve_command_serves_both_and_stops(tmp_path: Path, settings):
    settings.SANDBOX = True
    settings.DATA_DIR = tmp_path
    out = io.StringIO()
    command = sandbox_serve.Command(stdout=out)
    thread = threading.Thread(
        target=call_command,
        args=(command, "--hubspot-port", "0", "--salesforce-port", "0"),
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 15
    while "Press Ctrl+C" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = out.getvalue()
    try:
        hubspot_url = re.search(r"HubSpot sandbox:\s+(http://\S+)", text).group(1)
        response = requests.get(f"{hubspot_url}/crm/v3/objects/contacts", headers={"Authorization": "Bearer sandbox"})
        assert response.status_code == 200 and response.json() == {"results": []}
        match = re.search(r"Salesforce sandbox: (https://\S+) \(certificate: (\S+)\)", text)
        assert match, text
        assert Path(match.group(2)) == tmp_path / "sandbox" / "sandbox-cert.pem"
        session = trusting_session(match.group(2))
        assert session.get(f"{match.group(1)}/services/data/").status_code < 500
    finally:
        command.stop.set()
        thread.join(10)
    assert not thread.is_alive() and "Sandbox stopped." in out.getvalue()


def test_serve_refuses_when_the_sandbox_is_off(settings):
    settings.SANDBOX = False
    with pytest.raises(CommandError, match="SANDBOX=false"):
        call_command("sandbox_serve", "--hubspot-port", "0", "--salesforce-port", "0")


def test_reset_from_another_process_is_seen_by_a_running_emulator(tmp_path: Path, settings):
    settings.SANDBOX = True
    auth = {"Authorization": "Bearer sandbox"}
    with running_hubspot(tmp_path) as url:
        created = requests.post(
            f"{url}/crm/v3/properties/contacts",
            json={"name": "shoe_size", "label": "Shoe size", "type": "number", "fieldType": "number", "groupName": "x"},
            headers=auth,
        )
        assert created.status_code == 201
        assert requests.post(
            f"{url}/crm/v3/objects/contacts", json={"properties": {"shoe_size": "42"}}, headers=auth
        ).ok
        call_command(
            "sandbox_reset",
            "--hubspot-db",
            str(tmp_path / "hubspot.sqlite3"),
            "--salesforce-db",
            str(tmp_path / "salesforce.sqlite3"),
            stdout=io.StringIO(),
        )
        assert requests.get(f"{url}/crm/v3/properties/contacts/shoe_size", headers=auth).status_code == 404
        refused = requests.post(
            f"{url}/crm/v3/objects/contacts", json={"properties": {"shoe_size": "42"}}, headers=auth
        )
        assert refused.status_code == 400
        assert requests.get(f"{url}/crm/v3/objects/contacts", headers=auth).json()["results"] == []
