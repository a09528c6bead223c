"""Faults and data: the gated sync against both emulators over real HTTP, with the
emulators' fault injection (``POST /_sandbox/faults``) making calls fail, stall or vanish.

After recovery every member with a valid email is in Salesforce exactly once, every non-member
is absent, nothing stays queued, and every retry is explained in the sync log.
"""

from __future__ import annotations

import functools
import time
from collections import Counter

import pytest

from integration.clients.base import ClientError
from integration.models import SyncSettings
from integration.services import inclusion_list_set
from lists.models import Contact, ContactList
from lists.services import list_create, list_refresh
from sync.engine import queue
from sync.engine.errors import TRANSIENT_CODES
from sync.models import Category, PendingSync, SyncRecord, SyncRun, Watermark
from sync.services import hubspot_pull, push_pending, sync_cycle, webhook_event_parse, webhook_events_handle

pytestmark = pytest.mark.django_db

MEMBER_COUNTRIES = ["France", "Germany", "Italy", "Spain"]
CRITERIA = {
    "filterBranchType": "OR",
    "filters": [],
    "filterBranches": [
        {
            "filterBranchType": "AND",
            "filterBranches": [],
            "filters": [
                {
                    "filterType": "PROPERTY",
                    "property": "country",
                    "operation": {
                        "operationType": "MULTISTRING",
                        "operator": "IS_EQUAL_TO",
                        "values": MEMBER_COUNTRIES,
                    },
                }
            ],
        }
    ],
}
# Refusals that are about the data (the seeded oddities), never retried: not what a fault causes.
DATA_CATEGORIES = {Category.REQUIRED_FIELD, Category.INVALID_VALUE}
SF_API = "^/services/data/"  # faults on the API only: the re-login endpoint stays up


# -- helpers -------------------------------------------------------------------------------------


def set_faults(sandbox, url: str, *plans: dict) -> None:
    response = sandbox.session().post(f"{url}/_sandbox/faults", json={"faults": list(plans)}, timeout=10)
    assert response.status_code == 200, response.text


def fired(sandbox, url: str) -> list[int]:
    return [plan["fired"] for plan in sandbox.session().get(f"{url}/_sandbox/faults", timeout=10).json()["faults"]]


def clear_faults(sandbox, url: str) -> None:
    sandbox.session().delete(f"{url}/_sandbox/faults", timeout=10)


def hubspot_contacts(sandbox) -> list[dict]:
    api = sandbox.hubspot().crm.contacts.basic_api
    out, after = [], None
    while True:
        page = api.get_page(limit=100, after=after, properties=["email", "country", "lastname"])
        out += [{"id": c.id, **c.properties} for c in page.results]
        if not page.paging or not page.paging.next:
            return out
        after = page.paging.next.after


def make_inclusion_list() -> ContactList:
    contact_list = list_create(name="Southern and central Europe", processing_type="DYNAMIC", filter_branch=CRITERIA)
    list_refresh(contact_list=contact_list)
    contact_list.refresh_from_db()
    assert contact_list.processing_status == "COMPLETE", contact_list.error
    inclusion_list_set(sync_settings=SyncSettings.load(), contact_list=contact_list)
    return contact_list


def setup(sandbox, count: int = 300) -> tuple[set[str], set[str]]:
    """Seed, pull, choose the inclusion list: (member emails, non-member emails), lower case."""
    sandbox.seed(count)
    hubspot_pull()
    make_inclusion_list()
    contacts = hubspot_contacts(sandbox)
    members = {c["email"].lower() for c in contacts if c.get("email") and c.get("country") in MEMBER_COUNTRIES}
    others = {c["email"].lower() for c in contacts if c.get("email") and c.get("country") not in MEMBER_COUNTRIES}
    assert len(members) > 40 and len(others) > 40
    return members, others


def salesforce_emails(sandbox) -> list[str]:
    records = sandbox.soql("SELECT Email FROM Lead") + sandbox.soql("SELECT Email FROM Contact")
    return [r["Email"].lower() for r in records if r["Email"]]


def drain(max_cycles: int = 12) -> list[SyncRun]:
    """Sync cycles until the queue is empty (bounded)."""
    runs = []
    for _ in range(max_cycles):
        runs.append(sync_cycle(trigger=SyncRun.Trigger.COMMAND))
        if not PendingSync.objects.exists():
            return runs
        # Simulates waiting out the back-off (30 s, 1 min, ...): the retried entries are due now.
        PendingSync.objects.update(next_attempt_at=None)
    pytest.fail(f"the queue did not drain in {max_cycles} cycles: {list(PendingSync.objects.values())[:5]}")


def assert_end_state(sandbox, members: set[str], others: set[str]) -> None:
    emails = salesforce_emails(sandbox)
    duplicates = [e for e, n in Counter(emails).items() if n > 1]
    assert not duplicates, f"in Salesforce more than once: {duplicates}"
    assert not set(emails) & others, "a non-member reached Salesforce"
    assert set(emails) <= members
    refused = SyncRecord.objects.filter(action="failed", category__in=DATA_CATEGORIES).exclude(
        error_code__in=TRANSIENT_CODES
    )
    refused_emails = {e.lower() for e in refused.values_list("email", flat=True)}
    missing = members - set(emails) - refused_emails
    assert not missing, f"members never sent: {sorted(missing)[:5]}"
    # The refused ones are the seeded data errors (a handful), not casualties of the faults.
    assert len(refused_emails) < len(members) / 5
    assert not PendingSync.objects.exists()


class RetryLog:
    """Every call of ``queue.retry_later``: (contact id, attempt number) of each entry sent back."""

    def __init__(self, monkeypatch) -> None:
        self.retried: list[tuple[int, int]] = []
        original = queue.retry_later

        def spy(entries, *, error):
            self.retried += [(e.contact_id, e.attempts + 1) for e in entries]
            return original(entries, error=error)

        monkeypatch.setattr(queue, "retry_later", spy)

    def assert_explained(self) -> None:
        """Each retry has its SyncRecord: failed, "will retry", an error code, at that attempt."""
        assert self.retried, "no entry was ever retried: the faults did not bite"
        logged = Counter(
            SyncRecord.objects.filter(action="failed", message__contains="will retry").values_list(
                "contact_id", "attempt"
            )
        )
        unexplained = [r for r in self.retried if not logged[r]]
        assert not unexplained, f"retries without a log entry: {unexplained[:5]}"
        assert not SyncRecord.objects.filter(action="failed", message__contains="will retry", error_code="").exists()
        # And each retried contact got its outcome later: sent, or refused for its data.
        for contact_id, attempt in set(self.retried):
            assert SyncRecord.objects.filter(
                contact_id=contact_id, attempt__gt=attempt, action__in=["created", "updated", "unchanged", "failed"]
            ).exists(), f"contact {contact_id} retried after attempt {attempt} and never sent"


# -- faults --------------------------------------------------------------------------------------


def test_a_fifth_of_salesforce_calls_failing_loses_and_duplicates_nobody(sandbox, monkeypatch):
    members, others = setup(sandbox)
    log = RetryLog(monkeypatch)
    # Three kinds at ~7.2 % each: about 20 % of API calls fail (1 - 0.928^3), the same ones each run.
    set_faults(
        sandbox,
        sandbox.salesforce_url,
        {"kind": "server_error", "rate": 0.072, "seed": 11, "path": SF_API},
        {"kind": "rate_limit", "status": 429, "rate": 0.072, "seed": 12, "path": SF_API},
        {"kind": "unable_to_lock_row", "rate": 0.072, "seed": 13, "path": SF_API},
    )
    # Small collections: more calls, so the faults land on creates, lookups and pulls alike.
    monkeypatch.setattr("sync.engine.push_writes.COLLECTION_SIZE", 10)
    runs = drain()
    calls = sum(run.salesforce_api_calls for run in runs)
    assert 0.1 < sum(fired(sandbox, sandbox.salesforce_url)) / calls < 0.4
    assert all(n > 0 for n in fired(sandbox, sandbox.salesforce_url)), fired(sandbox, sandbox.salesforce_url)
    clear_faults(sandbox, sandbox.salesforce_url)
    assert_end_state(sandbox, members, others)
    log.assert_explained()
    codes = set(SyncRecord.objects.filter(message__contains="will retry").values_list("error_code", flat=True))
    assert codes & {"SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW"}, codes
    assert len(runs) > 1


def test_sessions_expiring_mid_run_log_in_again(sandbox, monkeypatch):
    from integration.clients.salesforce import SalesforceClient

    members, others = setup(sandbox)
    logins = []
    original = SalesforceClient.login

    def counting_login(self):
        logins.append(1)
        return original(self)

    monkeypatch.setattr(SalesforceClient, "login", counting_login)
    log = RetryLog(monkeypatch)
    monkeypatch.setattr("sync.engine.push_writes.COLLECTION_SIZE", 10)
    set_faults(sandbox, sandbox.salesforce_url, {"kind": "expired_session", "rate": 0.25, "seed": 5, "path": SF_API})
    drain()
    expired = fired(sandbox, sandbox.salesforce_url)[0]
    clear_faults(sandbox, sandbox.salesforce_url)
    assert expired >= 3
    # A login per expiry, except that a call expiring again right after its login stops the run
    # (the next cycle logs in and sends the rest).
    assert expired / 2 <= len(logins) <= expired
    assert_end_state(sandbox, members, others)
    log.assert_explained()


def test_hubspot_429_bursts_during_the_pull_are_retried_and_nothing_is_lost(sandbox):
    sandbox.seed(450)
    set_faults(
        sandbox,
        sandbox.hubspot_url,
        # A burst of two on the first list page, then scattered ones (each retried by the client).
        {"kind": "rate_limit", "count": 2, "path": "^/crm/v3/objects/contacts$"},
        {"kind": "rate_limit", "rate": 0.3, "count": 3, "seed": 3, "path": "^/crm/v3/"},
    )
    run = hubspot_pull()
    assert fired(sandbox, sandbox.hubspot_url) == [2, 3]
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.hubspot_api_calls >= 5 + 5  # 5 pages and the schema, plus the 5 retried calls
    hubspot = {c["id"]: c for c in hubspot_contacts(sandbox)}
    mirror = dict(Contact.objects.values_list("hubspot_id", "email"))
    assert set(mirror) == set(hubspot)
    assert all(mirror[i] == (c.get("email") or "") for i, c in hubspot.items())


def test_two_second_latency_spikes_change_nothing(sandbox):
    members, others = setup(sandbox, count=200)
    set_faults(
        sandbox,
        sandbox.salesforce_url,
        {"kind": "latency", "latency_ms": 2000, "count": 1, "path": "/composite/sobjects"},
        {"kind": "latency", "latency_ms": 2000, "count": 1, "path": "/query"},
    )
    started = time.monotonic()
    runs = drain(max_cycles=1)
    assert time.monotonic() - started >= 2 * 2 - 0.5
    assert fired(sandbox, sandbox.salesforce_url) == [1, 1]
    assert runs[0].status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL), runs[0].error
    assert not SyncRecord.objects.filter(message__contains="will retry").exists()
    assert_end_state(sandbox, members, others)


@pytest.mark.parametrize("mode", ["503", "refuse"])
def test_salesforce_down_keeps_entries_queued_and_a_later_cycle_completes_them(sandbox, monkeypatch, mode):
    members, others = setup(sandbox, count=200)
    log = RetryLog(monkeypatch)
    plan = {"kind": "down", "count": 1000, "path": SF_API}
    if mode == "refuse":
        plan["mode"] = "refuse"  # the connection closed without an answer
    set_faults(sandbox, sandbox.salesforce_url, plan)
    run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    assert fired(sandbox, sandbox.salesforce_url)[0] > 0
    # Nothing reached Salesforce; every member is still queued, each failure logged as a connection error.
    queued = {e.lower() for e in PendingSync.objects.values_list("contact__email", flat=True)}
    assert members <= queued
    failed = SyncRecord.objects.filter(run=run, action="failed")
    assert failed.exists()
    assert set(failed.values_list("category", flat=True)) == {Category.CONNECTION}
    assert all("will retry" in m for m in failed.values_list("message", flat=True))
    assert run.status in (SyncRun.Status.PARTIAL, SyncRun.Status.FAILED) and run.failed == failed.count()
    clear_faults(sandbox, sandbox.salesforce_url)
    assert salesforce_emails(sandbox) == []
    drain()
    assert_end_state(sandbox, members, others)
    log.assert_explained()


# -- data ----------------------------------------------------------------------------------------


@pytest.fixture
def quick_hubspot_retries(monkeypatch):
    """The HubSpot client gives up after one retry without back-off (its default waits ~15 s)."""
    from integration.clients import hubspot as hubspot_client

    monkeypatch.setattr(
        hubspot_client, "default_retry", functools.partial(hubspot_client.default_retry, total=1, backoff_factor=0)
    )
    hubspot_client._cache.clear()


def test_a_first_load_interrupted_on_the_third_page_resumes_without_losing_anyone(sandbox, quick_hubspot_retries):
    sandbox.seed(250)
    # The first two list pages pass (a 1 ms "latency" fault lets them through), the third fails.
    set_faults(
        sandbox,
        sandbox.hubspot_url,
        {"kind": "latency", "latency_ms": 1, "count": 2, "path": "^/crm/v3/objects/contacts$"},
        {"kind": "down", "path": "^/crm/v3/objects/contacts$"},
    )
    with pytest.raises(ClientError):
        hubspot_pull()
    assert Contact.objects.count() == 200  # two committed pages
    mark = Watermark.objects.get(source=Watermark.Source.HUBSPOT_CONTACTS)
    assert mark.value is None and '"after"' in mark.cursor  # still loading, cursor at page 3
    clear_faults(sandbox, sandbox.hubspot_url)
    run = hubspot_pull()
    assert run.pulled == 50, "the resumed load starts at the third page"
    assert set(Contact.objects.values_list("hubspot_id", flat=True)) == {c["id"] for c in hubspot_contacts(sandbox)}


def test_an_incremental_pull_failing_mid_way_moves_the_watermark_only_past_committed_pages(
    sandbox, quick_hubspot_retries, monkeypatch
):
    members, others = setup(sandbox, count=300)
    drain()
    api = sandbox.hubspot().crm.contacts.basic_api
    edited = list(Contact.objects.exclude(email="").order_by("pk")[:230])
    for n, contact in enumerate(edited):
        api.update(contact.hubspot_id, {"properties": {"jobtitle": f"Edited {n}"}})
    before = Watermark.objects.get(source=Watermark.Source.HUBSPOT_CONTACTS).value

    # The second search page's commit fails (the database, not HubSpot): its transaction rolls back.
    import sync.engine.hubspot_pull as pull_module

    calls = []
    original = pull_module.memberships_update_for_contacts

    def failing_second_time(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return original(**kwargs)

    monkeypatch.setattr(pull_module, "memberships_update_for_contacts", failing_second_time)
    with pytest.raises(RuntimeError):
        hubspot_pull()
    middle = Watermark.objects.get(source=Watermark.Source.HUBSPOT_CONTACTS).value
    assert before < middle
    unseen = [
        c for c in edited if not Contact.objects.get(pk=c.pk).raw_properties.get("jobtitle", "").startswith("Edited")
    ]
    assert unseen, "the failed page was kept"
    # The watermark did not move past a change it has not stored.
    for contact in unseen:
        assert api.get_by_id(contact.hubspot_id).updated_at >= middle
    monkeypatch.setattr(pull_module, "memberships_update_for_contacts", original)

    # Then HubSpot fails mid-pull (a 503 on the search): same story.
    set_faults(sandbox, sandbox.hubspot_url, {"kind": "down", "count": 2, "path": "/search"})
    with pytest.raises(ClientError):
        hubspot_pull()
    assert Watermark.objects.get(source=Watermark.Source.HUBSPOT_CONTACTS).value == middle

    hubspot_pull()
    titles = dict(Contact.objects.filter(pk__in=[c.pk for c in edited]).values_list("pk", "raw_properties"))
    assert all(titles[c.pk].get("jobtitle") == f"Edited {n}" for n, c in enumerate(edited))
    drain()
    leads = {r["Email"].lower(): r["Title"] for r in sandbox.soql("SELECT Email, Title FROM Lead")}
    # The last edit of each reached Salesforce (contacts sharing an email share one record: either).
    titles_by_email: dict[str, set[str]] = {}
    for n, contact in enumerate(edited):
        titles_by_email.setdefault(contact.email.lower(), set()).add(f"Edited {n}")
    sent = [email for email in titles_by_email if email in leads]
    assert len(sent) > 50
    assert all(leads[email] in titles_by_email[email] for email in sent)
    assert_end_state(sandbox, members, others)


def test_a_contact_changed_while_its_push_is_in_flight_is_sent_again_with_the_new_values(sandbox, monkeypatch):
    from integration.clients.salesforce import SalesforceClient

    members, others = setup(sandbox, count=150)
    target = (
        Contact.objects.filter(memberships__contact_list__isnull=False, raw_properties__country="France")
        .exclude(email="")
        .exclude(lastname="")
        .order_by("pk")
        .first()
    )
    original = SalesforceClient.collections_create
    edits = []

    def create_while_editing(self, object_name, records, **kwargs):
        if not edits and any((r.get("Email") or "").lower() == target.email.lower() for r in records):
            # The contact changes in HubSpot and a pull queues it while this call is in flight.
            sandbox.hubspot().crm.contacts.basic_api.update(
                target.hubspot_id, {"properties": {"lastname": "Changed-In-Flight"}}
            )
            hubspot_pull()
            edits.append(1)
        return original(self, object_name, records, **kwargs)

    monkeypatch.setattr(SalesforceClient, "collections_create", create_while_editing)
    drain(max_cycles=3)
    assert edits
    lead = sandbox.soql(f"SELECT Id, LastName FROM Lead WHERE Email = '{target.email}'")
    assert len(lead) == 1 and lead[0]["LastName"] == "Changed-In-Flight"
    actions = list(SyncRecord.objects.filter(contact=target).order_by("id").values_list("action", flat=True))
    assert actions == ["created", "updated"]
    assert_end_state(sandbox, members, others)


@pytest.mark.parametrize("how", ["deletion", "merge"])
def test_a_contact_deleted_or_merged_in_hubspot_stops_syncing_and_is_logged(sandbox, how):
    members, others = setup(sandbox, count=150)
    drain()
    france = (
        Contact.objects.filter(raw_properties__country="France")
        .exclude(email="")
        .exclude(salesforce_id="")
        .order_by("pk")
    )
    gone, survivor = france[0], france[1]
    api = sandbox.hubspot().crm.contacts.basic_api
    # Queued (a property change), then gone from HubSpot before the next push: archived there
    # (a merge leaves the merged-away contact archived too), and the webhook says so. The pull
    # cannot see a deletion: search never returns archived contacts.
    api.update(gone.hubspot_id, {"properties": {"jobtitle": "Last words"}})
    hubspot_pull()
    assert PendingSync.objects.filter(contact=gone).exists()
    api.archive(gone.hubspot_id)
    gone_id, survivor_id = int(gone.hubspot_id), int(survivor.hubspot_id)
    if how == "deletion":
        event = {"subscriptionType": "contact.deletion", "objectId": gone_id}
    else:
        event = {
            "subscriptionType": "contact.merge",
            "objectId": survivor_id,
            "primaryObjectId": survivor_id,
            "mergedObjectIds": [gone_id, survivor_id],
        }
    assert webhook_events_handle(events=[webhook_event_parse(event)]) == 1
    run = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    gone.refresh_from_db()
    assert gone.archived
    assert SyncRecord.objects.get(run=run, contact=gone).skip_reason == SyncRecord.SkipReason.DELETED
    lead = sandbox.soql(f"SELECT Title FROM Lead WHERE Id = '{gone.salesforce_id}'")
    assert lead and lead[0]["Title"] != "Last words"
    assert not PendingSync.objects.exists()
    # Nor is it queued again by later cycles.
    again = sync_cycle(trigger=SyncRun.Trigger.COMMAND)
    assert not SyncRecord.objects.filter(run=again, contact=gone).exists()


def test_push_pending_under_faults_also_drains(sandbox, monkeypatch):
    """The resync path (push_pending, no pulls) under the same 20 % failures."""
    from sync.services import list_resync

    members, others = setup(sandbox, count=200)
    PendingSync.objects.all().delete()
    contact_list = ContactList.objects.get()
    log = RetryLog(monkeypatch)
    set_faults(
        sandbox,
        sandbox.salesforce_url,
        {"kind": "server_error", "rate": 0.1, "seed": 21, "path": SF_API},
        {"kind": "unable_to_lock_row", "rate": 0.1, "seed": 22, "path": SF_API},
    )
    monkeypatch.setattr("sync.engine.push_writes.COLLECTION_SIZE", 20)
    run = list_resync(contact_list=contact_list, run_async=False)
    for _ in range(12):
        run = push_pending(run=run)
        if not PendingSync.objects.exists():
            break
        # Simulates waiting out the back-off.
        PendingSync.objects.update(next_attempt_at=None)
    clear_faults(sandbox, sandbox.salesforce_url)
    assert_end_state(sandbox, members, others)
    log.assert_explained()
