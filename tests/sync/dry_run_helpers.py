"""What the dry run tests share: a seeded world synced once, with a mix of changes, and a
recorder of every HTTP call the product makes (both clients go through urllib3)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import urllib3.connectionpool

from integration.models import SyncSettings
from integration.services import inclusion_list_set
from lists.models import ContactList
from lists.services import list_create, list_refresh
from sync.models import PendingSync, SyncedState, SyncRecord, SyncRun
from sync.services import hubspot_pull, sync_cycle
from tests.lists.factories import filter_branch, property_filter

MEMBERS = filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value="France")])
# Calls that read although they are POSTs: HubSpot's batch read and search, Salesforce's login.
READ_POSTS = ("/batch/read", "/search", "/oauth2/token")


@contextlib.contextmanager
def recorded_calls() -> Iterator[list[tuple[str, str]]]:
    """Every HTTP request made meanwhile, as (method, path)."""
    calls: list[tuple[str, str]] = []
    original = urllib3.connectionpool.HTTPConnectionPool.urlopen

    def urlopen(self, method, url, *args, **kwargs):
        calls.append((method.upper(), url))
        return original(self, method, url, *args, **kwargs)

    urllib3.connectionpool.HTTPConnectionPool.urlopen = urlopen
    try:
        yield calls
    finally:
        urllib3.connectionpool.HTTPConnectionPool.urlopen = original


def writes(calls: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (method, url)
        for method, url in calls
        if method not in ("GET", "HEAD") and not any(part in url.split("?")[0] for part in READ_POSTS)
    ]


def person(i: int, **overrides) -> dict:
    values = {
        "email": f"dry{i}@preview.example",
        "firstname": f"Ada{i}",
        "lastname": f"Lovelace{i}",
        "company": f"Engines {i}",
        "jobtitle": "CEO",
        "country": "France",
    }
    return {**values, **overrides}


def product_state() -> dict:
    """What the product holds about the sync: the queue, the log, the synced state."""
    return {
        "queue": sorted(PendingSync.objects.values_list("contact_id", "reasons", "attempts", "claimed_by")),
        "log": SyncRecord.objects.count(),
        "runs": SyncRun.objects.count(),
        "states": sorted(
            (s.contact_id, repr(s.field_bases), repr(s.salesforce_values), repr(s.last_sent_at))
            for s in SyncedState.objects.all()
        ),
    }


def salesforce_state(sandbox) -> list:
    return sorted(
        (r["Id"], r["LastModifiedDate"], r["Title"], r["LastName"])
        for r in sandbox.soql("SELECT Id, LastModifiedDate, Title, LastName FROM Lead")
    )


def hubspot_state(sandbox) -> list:
    api = sandbox.hubspot().crm.contacts.basic_api
    out, after = [], None
    while True:
        page = api.get_page(limit=100, after=after, properties=["jobtitle", "lastname"])
        out += [(c.id, str(c.updated_at), c.properties.get("jobtitle")) for c in page.results]
        if not page.paging or not page.paging.next:
            return sorted(out)
        after = page.paging.next.after


class DryRunWorld:
    """HubSpot contacts in France (the inclusion list), synced once, then changed."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.api = sandbox.hubspot().crm.contacts.basic_api
        self.ids: dict[str, str] = {}

    def create(self, people: list[dict]) -> None:
        for values in people:
            self.ids[values["email"]] = self.api.create({"properties": values}).id

    def start(self, n: int = 8) -> ContactList:
        self.create([person(i) for i in range(n)])
        hubspot_pull()
        contact_list = list_create(name="French", processing_type="DYNAMIC", filter_branch=MEMBERS)
        list_refresh(contact_list=contact_list)
        inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=contact_list)
        run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert run.created == n
        contact_list.refresh_from_db()
        return contact_list

    def edit(self, i: int, **properties) -> None:
        self.api.update(self.ids[person(i)["email"]], {"properties": properties})

    def mix(self) -> None:
        """Two changed, two new, one with an invalid email, one with a surname too long for
        Salesforce (80 characters), one without a last name; the rest unchanged."""
        self.edit(0, jobtitle="CTO")
        self.edit(1, jobtitle="CFO", company="Analytical Engines")
        self.create(
            [
                person(100),
                person(101),
                person(102, email="not-an-email@nowhere"),
                person(103, lastname="L" * 90),
                person(104, lastname=""),
            ]
        )
        hubspot_pull()
