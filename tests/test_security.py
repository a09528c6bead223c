"""Who may see and do what, URL by URL.

The URL resolver is walked recursively, so every page the project serves is covered, the admin's
generated pages of every registered model and every custom view (JSON endpoints included), each
with real object ids. A route added later without an entry in ``PARAMS`` fails the walk.

- anonymous: sent to the login page (the few public routes are listed in ``PUBLIC`` with why);
- staff without any permission: refused (403), or a page that shows nothing (``NO_PERM_OK``);
- superuser: served (200/302), refusals only where the admin disables an action for everyone.
Nobody gets a 500, the data (a sentinel string in every object) never reaches the first two, and
the stored connection secrets reach nobody, superuser included.

Then CSRF: every route refuses a POST without a token except the HubSpot webhook (signed), and the
connection secrets are encrypted in their database columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_q.models import Failure, OrmQ, Schedule, Success, Task
from django_q.tasks import async_task

from integration.models import FieldMapping, HubSpotConnection, SalesforceConnection, SettingChange, SyncSettings
from lists.models import Contact, ContactList, ContactProperty, ListMembership, MembershipChange
from sync.models import (
    AlertChannel,
    AlertDelivery,
    AlertState,
    DryRun,
    PendingSync,
    SyncedState,
    SyncRecord,
    SyncRun,
    Watermark,
)
from tests.lists.factories import ContactFactory, ContactListFactory, ContactPropertyFactory, ListMembershipFactory
from tests.sync.factories import SyncRecordFactory, SyncRunFactory

pytestmark = pytest.mark.django_db

SENTINEL = "zq7sentinel"  # in a name or an email of every object: its presence in a body is a leak
SECRET = "zq7secret"  # in every stored connection secret: no page shows it, not even to a superuser
SALESFORCE_SECRETS = ["client_secret", "private_key", "password", "access_token", "refresh_token"]
HUBSPOT_SECRETS = ["access_token", "refresh_token", "client_secret"]


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the pattern itself for unnamed routes
    pattern: str  # the full route, prefixes included
    model: type | None  # for the admin's model pages: the model


def walk(patterns: list | None = None, prefix: str = "", namespace: str = "", model: Any = None) -> Iterator[Route]:
    """Every route of the project, depth first, with its full pattern and namespaced name."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    registry = {f"{m._meta.app_label}/{m._meta.model_name}/": m for m in admin.site._registry}
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            yield from walk(entry.url_patterns, prefix + route, ns, registry.get(route, model))
        else:
            assert isinstance(entry, URLPattern)
            name = f"{namespace}:{entry.name}" if entry.name else prefix + route
            yield Route(name=name.lstrip(":"), pattern=prefix + route, model=model)


# --------------------------------------------------------------------------------------------
# Objects behind every id, each carrying the sentinel


@pytest.fixture
def objects(django_user_model) -> dict[Any, Any]:
    email_property = ContactPropertyFactory(name="email", label=f"Email {SENTINEL}")
    contact = ContactFactory(email=f"ada.{SENTINEL}@example.com", firstname="Ada", lastname=SENTINEL)
    contact_list = ContactListFactory(name=f"List {SENTINEL}", complete=True)
    membership = ListMembershipFactory(contact_list=contact_list, contact=contact)
    change = MembershipChange.objects.create(
        contact_list=contact_list, contact=contact, kind=MembershipChange.Kind.JOINED, at=timezone.now()
    )
    sync_settings = SyncSettings.load()
    SyncSettings.objects.filter(pk=sync_settings.pk).update(inclusion_list=contact_list)
    salesforce = SalesforceConnection.load()
    SalesforceConnection.objects.filter(pk=salesforce.pk).update(
        username=f"{SENTINEL}@example.com", **{name: f"{SECRET}-{name}" for name in SALESFORCE_SECRETS}
    )
    hubspot = HubSpotConnection.load()
    HubSpotConnection.objects.filter(pk=hubspot.pk).update(
        portal_id=SENTINEL, **{name: f"{SECRET}-{name}" for name in HUBSPOT_SECRETS}
    )
    mapping = FieldMapping.objects.create(
        hubspot_property=SENTINEL, salesforce_field="Description", salesforce_object="both", rule="two_way"
    )
    setting_change = SettingChange.objects.create(setting="sync.enabled", old_value="x", new_value=SENTINEL)
    run = SyncRunFactory(error=SENTINEL)
    record = SyncRecordFactory(run=run, contact=contact, failed=True, message=f"Required: {SENTINEL}")
    pending = PendingSync.objects.create(contact=contact, reasons=["changed"], last_error=SENTINEL)
    synced = SyncedState.objects.create(contact=contact, payload_hash=SENTINEL, last_payload={"Email": contact.email})
    watermark = Watermark.objects.create(source=Watermark.Source.HUBSPOT_CONTACTS, cursor=SENTINEL)
    alert = AlertState.objects.create(key="failures", state="failing", detail=SENTINEL)
    channel = AlertChannel.objects.create(
        name=f"Channel {SENTINEL}", kind="slack", webhook_url=f"https://hooks.slack.com/services/T0/{SECRET}"
    )
    delivery = AlertDelivery.objects.create(channel=channel, condition="failures", state="over", subject=SENTINEL)
    dry_run = DryRun.objects.create(
        kind=DryRun.Kind.RESYNC,
        status=DryRun.Status.SUCCEEDED,
        contact_list=contact_list,
        list_name=f"List {SENTINEL}",
        rows=[{"contact": contact.pk, "email": f"ada.{SENTINEL}@example.com", "action": "updated", "changes": []}],
        finished_at=timezone.now(),
    )
    group = Group.objects.create(name=f"Group {SENTINEL}")
    user = django_user_model.objects.create_user(f"user_{SENTINEL}", f"{SENTINEL}@example.com", "pw-Unused-123")
    schedule = Schedule.objects.create(func="math.floor", name=f"schedule {SENTINEL}")
    now = timezone.now()
    success = Task.objects.create(
        id="a" * 32, name=f"ok {SENTINEL}", func="math.floor", started=now, stopped=now, success=True
    )
    failure = Task.objects.create(
        id="b" * 32, name=f"ko {SENTINEL}", func="math.floor", started=now, stopped=now, success=False
    )
    async_task("math.floor", 1.5, task_name=f"queued {SENTINEL}")
    return {
        ContactProperty: email_property,
        Contact: contact,
        ContactList: contact_list,
        ListMembership: membership,
        MembershipChange: change,
        SyncSettings: sync_settings,
        SalesforceConnection: salesforce,
        HubSpotConnection: hubspot,
        FieldMapping: mapping,
        SettingChange: setting_change,
        SyncRun: run,
        SyncRecord: record,
        PendingSync: pending,
        SyncedState: synced,
        Watermark: watermark,
        AlertState: alert,
        AlertChannel: channel,
        AlertDelivery: delivery,
        DryRun: dry_run,
        Group: group,
        User: user,
        Schedule: schedule,
        Task: success,
        Success: success,
        Failure: failure,
        OrmQ: OrmQ.objects.get(),
    }


# How each route parameter gets a real value: by route name, or by the admin model's object.
PARAMS: dict[str, dict[str, Any]] = {
    "integration:mapping_change": {"pk": "FieldMapping"},
    "integration:sync_settings_save": {"side": ["hubspot", "salesforce"]},
    "sync:contact_timeline": {"contact_id": "Contact"},
    "admin:lists_contactlist_status": {"pk": "ContactList"},
    "admin:lists_contactlist_rename": {"pk": "ContactList"},
    "sync:list_publish": {"pk": "ContactList"},
    "admin:sync_dryrun_csv": {"pk": "DryRun"},
    "admin:auth_user_password_change": {"id": "User"},
    "admin:view_on_site": {"content_type_id": "ct:ContactList", "object_id": "ContactList"},
}
CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def urls_of(route: Route, objects: dict[Any, Any]) -> list[str]:
    """The concrete URLs a route is fetched at (one per value of an enumerated parameter)."""
    by_name = {model.__name__: obj for model, obj in objects.items()}
    if route.name == "admin:app_list":
        return [f"/admin/{label}/" for label in sorted({m._meta.app_label for m in admin.site._registry})]
    if route.pattern.endswith("(?P<url>.*)$"):  # the admin's catch-all: an unknown admin path
        return ["/admin/no-such-page/"]
    params = CONVERTER.findall(route.pattern)
    if not params:
        return ["/" + route.pattern]
    spec = PARAMS.get(route.name)
    if spec is None and route.model is not None and params == ["object_id"]:
        spec = {"object_id": objects[route.model].pk}
    assert spec is not None, f"{route.name}: add its parameters {params} to PARAMS"
    urls = ["/" + route.pattern]
    for param in params:
        value = spec[param]
        values = value if isinstance(value, list) else [value]
        resolved = []
        for v in values:
            if isinstance(v, str) and v.startswith("ct:"):
                v = ContentType.objects.get_for_model(by_name[v[3:]]).pk
            elif isinstance(v, str) and v in by_name:
                v = by_name[v].pk
            resolved.append(str(v))
        urls = [re.sub(rf"<(?:\w+:)?{param}>", v, url, count=1) for url in urls for v in resolved]
    return urls


# --------------------------------------------------------------------------------------------
# Routes with their own rules, and why


# Reachable without logging in.
PUBLIC = {
    "": "redirects to the admin index, which asks for a login",
    "admin:login": "the login form itself",
    "admin:logout": "logging out needs no login (GET is refused: 405; POST shows 'logged out')",
    "set_language": "i18n: stores the language choice in a cookie, shows nothing",
    "hubspot_webhook": "HubSpot calls it: authenticated by its v3 signature, refused unsigned (401/403)",
    "healthz": "a load balancer's probe: the checks' names and verdicts only (tests/ops/test_health.py)",
    "metrics": "404 without METRICS_TOKEN; with it, a bearer token instead of a login (tests/ops/test_metrics.py)",
}
# A staff user without any permission may get these, none of which shows data.
NO_PERM_OK = {
    "": {302},
    "admin:index": {200},  # "You don't have permission to view or edit anything."
    "admin:login": {200, 302},  # already logged in: GET sent to the index, POST re-asks the password
    "admin:logout": {200, 405},
    "admin:password_change": {200},  # their own password
    "admin:password_change_done": {200, 405},
    "admin:jsi18n": {200, 405},
    "javascript-catalog": {200, 405},  # the translations of the app's own scripts: no data
    "admin:autocomplete": {403, 405},  # the translation catalogue of the admin's JavaScript
    # An app with nothing the user may see does not exist for them (/admin/integration/ is the
    # connected-apps page, which refuses: 403).
    "admin:app_list": {403, 404, 405},
    "admin/(?P<url>.*)$": {404},
    "admin:view_on_site": {404},  # no model has get_absolute_url: nothing to redirect to
    "set_language": {302},
    "hubspot_webhook": {401, 403, 405},
    "healthz": {200, 405},
    "metrics": {404, 405},  # no METRICS_TOKEN in the suite: the URL does not exist
}
# A staff user without any permission is redirected by these to the same object's change page.
UNNAMED_REDIRECT = re.compile(r"^admin/\w+/\w+/<path:object_id>/$")
# The admin disables these for everyone, superusers included, so 403 is the right answer:
# HubSpot's mirror (properties, contacts, memberships) and the logs are read-only; the connections
# and settings are single rows (no second one, no delete); no model uses autocomplete fields.
DISABLED_FOR_ALL = re.compile(
    r"^admin:(?:"
    r"lists_(?:contactproperty|contact|listmembership|membershipchange)_(?:add|delete)"
    r"|integration_(?:salesforceconnection|hubspotconnection|syncsettings|settingchange)_(?:add|delete)"
    r"|sync_(?!alertchannel_)\w+_add|sync_(?:syncrecord|syncrun|alertdelivery|dryrun)_delete"
    r"|django_q_(?:success|failure|ormq)_add"
    r"|autocomplete"
    r")$"
)


def fetch(client: Client, method: str, url: str) -> tuple[int, str, Any]:
    response = client.get(url) if method == "GET" else client.post(url, {})
    if response.streaming:
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    return response.status_code, body.decode(errors="replace"), response


@pytest.fixture
def routes() -> list[Route]:
    found = list(walk())
    # Every registered model's five pages, the custom pages, the webhook: a sanity floor.
    assert len(found) > 6 * len(admin.site._registry) + 20, len(found)
    return found


def test_anonymous_is_sent_to_the_login_page_everywhere(routes, objects):
    client = Client(raise_request_exception=False)
    problems = []
    for route in routes:
        for url in urls_of(route, objects):
            for method in ("GET", "POST"):
                status, body, response = fetch(client, method, url)
                if SENTINEL in body:
                    problems.append(f"{method} {url}: data shown to an anonymous visitor")
                if status >= 500:
                    problems.append(f"{method} {url}: {status}")
                elif route.name in PUBLIC:
                    continue
                elif status != 302 or not response["Location"].startswith("/admin/login/"):
                    problems.append(f"{method} {url}: {status} {response.get('Location', '')}")
    assert not problems, "\n".join(problems)


def test_public_routes_show_nothing_and_the_webhook_refuses_unsigned_calls(client):
    assert client.get("/")["Location"] == "/admin/"
    assert client.get("/admin/login/").status_code == 200
    assert client.post("/webhooks/hubspot/", b"[]", content_type="application/json").status_code in (401, 403)
    assert client.get("/webhooks/hubspot/").status_code == 405


def test_staff_without_permission_is_refused_everywhere(routes, objects, django_user_model):
    staff = django_user_model.objects.create_user("staff", "staff@example.com", "pw-Unused-123", is_staff=True)
    client = Client(raise_request_exception=False)
    problems = []
    for route in routes:
        for url in urls_of(route, objects):
            statuses = set()
            for method in ("GET", "POST"):
                client.force_login(staff)
                status, body, response = fetch(client, method, url)
                statuses.add(status)
                if SENTINEL in body:
                    problems.append(f"{method} {url}: data shown without permission")
                if status >= 500:
                    problems.append(f"{method} {url}: {status}")
                elif route.name in NO_PERM_OK:
                    if status not in NO_PERM_OK[route.name]:
                        problems.append(f"{method} {url}: {status}")
                elif UNNAMED_REDIRECT.match(route.pattern):
                    if status != 302 or not response["Location"].endswith("/change/"):
                        problems.append(f"{method} {url}: {status}")
                elif status not in (403, 405):  # 405: the other method is the view's
                    problems.append(f"{method} {url}: {status}")
            if route.name not in NO_PERM_OK and not UNNAMED_REDIRECT.match(route.pattern) and 403 not in statuses:
                problems.append(f"{url}: never refused for want of permission ({sorted(statuses)})")
    assert not problems, "\n".join(problems)


def test_superuser_is_served_everywhere(routes, objects, admin_user):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    problems, shown = [], 0
    for route in routes:
        for url in urls_of(route, objects):
            if route.name in ("admin:logout", "set_language"):
                continue  # would end or change the session: covered by the anonymous walk
            status, body, _response = fetch(client, "GET", url)
            if status == 405:
                status, body, _response = fetch(client, "POST", url)
                ok = {200, 302, 400}  # an empty form or body is refused, cleanly
            else:
                ok = {200, 302}
            if DISABLED_FOR_ALL.match(route.name):
                ok = {403}
            elif route.name in NO_PERM_OK and 404 in NO_PERM_OK[route.name] and route.name != "admin:app_list":
                ok = {404}
            elif route.name == "hubspot_webhook":
                ok = {401, 403}
            if status not in ok:
                problems.append(f"{url}: {status} (expected {sorted(ok)})")
            if SECRET in body:
                problems.append(f"{url}: a connection secret is on the page")
            shown += SENTINEL in body
    assert not problems, "\n".join(problems)
    assert shown > 20  # the sentinel really is on the pages: the checks above can see a leak


# --------------------------------------------------------------------------------------------
# CSRF


CSRF_EXEMPT = {"hubspot_webhook": "called by HubSpot, not a browser: its v3 signature is checked instead"}


def test_every_post_without_a_csrf_token_is_refused(routes, objects, admin_user):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(admin_user)
    audit_before = SettingChange.objects.count()
    problems, refused = [], 0
    for route in routes:
        for url in urls_of(route, objects):
            status, body, _response = fetch(client, "POST", url)
            if route.name in CSRF_EXEMPT:
                assert status in (401, 403) and "CSRF" not in body, (url, status)
                continue
            if status != 403 or "CSRF verification failed" not in body:
                problems.append(f"POST {url}: {status}")
            refused += 1
    assert not problems, "\n".join(problems)
    assert refused > 100
    assert SettingChange.objects.count() == audit_before  # nothing done behind the refusals
    assert client.get("/admin/").status_code == 200  # the logout was refused too


def test_the_same_post_with_the_token_goes_through(admin_user):
    """The control of the test above: the refusals are CSRF's, not the views' own."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    client.get("/admin/integration/salesforce/settings/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/admin/integration/salesforce/settings/inclusion-list/", {"inclusion_list": "", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


# --------------------------------------------------------------------------------------------
# The permission groups: partly permitted users are where a page assuming more rights breaks


ADMIN_PAGE = re.compile(r"^admin:(?P<app>[a-z_]+?)_(?P<model>[a-z]+)_(?P<page>changelist|add|change|delete|history)$")


def admin_page_allowed(route: Route, user: Any, obj: Any) -> bool | None:
    """What the model's admin itself says this user may open (None: not a generated admin page)."""
    match = ADMIN_PAGE.match(route.name)
    if not match or route.model is None:
        return None
    model_admin = admin.site._registry[route.model]
    request = RequestFactory().get("/")
    request.user = user
    page = match["page"]
    if page == "add":
        return model_admin.has_add_permission(request)
    if page == "delete":
        return model_admin.has_delete_permission(request, obj)
    return model_admin.has_view_or_change_permission(request, obj if page != "changelist" else None)


@pytest.mark.parametrize("group", ["Integration admins", "List editors", "Sync operators"])
def test_each_group_gets_what_its_permissions_say_and_never_a_500(routes, objects, group, django_user_model):
    user = django_user_model.objects.create_user(f"member-{group}", password="pw-Unused-123", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    user = django_user_model.objects.get(pk=user.pk)  # no cached permissions
    client = Client(raise_request_exception=False)
    client.force_login(user)
    problems, served = [], 0
    for route in routes:
        if route.name in ("admin:logout", "set_language"):
            continue
        for url in urls_of(route, objects):
            status, body, _response = fetch(client, "GET", url)
            if status >= 500:
                problems.append(f"GET {url}: {status}")
            if SECRET in body:
                problems.append(f"GET {url}: a connection secret is on the page")
            allowed = admin_page_allowed(route, user, objects.get(route.model))
            # Allowed may still redirect: deleting the inclusion list is refused with a message.
            if allowed is not None and status not in ({200, 302} if allowed else {403}):
                problems.append(f"GET {url}: {status}, but the admin says allowed={allowed}")
            served += status == 200
    assert not problems, "\n".join(problems)
    assert served > 10


# --------------------------------------------------------------------------------------------
# No existence oracle: without permission, an object that exists and one that does not are
# refused alike (same status, same kind of body), so ids cannot be probed.


def answer_kind(response) -> tuple[int, str, str]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, response.get("Content-Type", ""), response.get("Location", "") or body[:15].decode()


MISSING_PK = {Task: "f" * 32, Success: "f" * 32, Failure: "f" * 32}


def test_without_permission_a_missing_object_is_refused_like_an_existing_one(objects, django_user_model):
    staff = django_user_model.objects.create_user("staff", "staff@example.com", "pw-Unused-123", is_staff=True)
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    problems, compared = [], 0
    for model in admin.site._registry:
        opts = model._meta
        existing = objects[model].pk
        missing = MISSING_PK.get(model, 987654321)
        pages = [f"/admin/{opts.app_label}/{opts.model_name}/{{}}/{page}/" for page in ("history", "change", "delete")]
        for page in pages:
            seen, unseen = client.get(page.format(existing)), client.get(page.format(missing))
            if answer_kind(seen) != answer_kind(unseen) or seen.status_code != 403:
                problems.append(f"{page}: {answer_kind(seen)} for an existing object, {answer_kind(unseen)} for none")
            compared += 1
    mapping = objects[FieldMapping].pk
    for action in ("delete", "change"):
        url = "/admin/integration/salesforce/settings/mappings/{}/"
        seen = client.post(url.format(mapping), {"action": action, "rule": "two_way"})
        unseen = client.post(url.format(987654321), {"action": action, "rule": "two_way"})
        if answer_kind(seen) != answer_kind(unseen) or seen.status_code != 403:
            problems.append(f"mapping {action}: {answer_kind(seen)} vs {answer_kind(unseen)}")
    rename = "/admin/lists/contactlist/{}/rename/"
    seen = client.post(rename.format(objects[ContactList].pk), b'{"name": "x"}', content_type="application/json")
    unseen = client.post(rename.format(987654321), b'{"name": "x"}', content_type="application/json")
    if answer_kind(seen) != answer_kind(unseen) or seen.status_code != 403:
        problems.append(f"rename: {answer_kind(seen)} vs {answer_kind(unseen)}")
    assert not problems, "\n".join(problems)
    assert compared >= 3 * 20
    assert FieldMapping.objects.filter(pk=mapping).exists()


def test_with_permission_a_missing_object_is_still_reported_missing(objects, admin_client):
    """The refusal above comes first only for those refused anyway: an admin is told an id is gone."""
    missing = admin_client.get("/admin/lists/contactlist/987654321/history/")
    assert missing.status_code == 302 and missing["Location"] == "/admin/"
    assert admin_client.get(f"/admin/lists/contactlist/{objects[ContactList].pk}/history/").status_code == 200
    response = admin_client.post("/admin/integration/salesforce/settings/mappings/987654321/", {"action": "delete"})
    assert response.status_code == 404
