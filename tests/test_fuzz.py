"""Property-based fuzzing of the inputs from outside, with arbitrary JSON values and strings:
the criteria (the engine and ``ContactList.full_clean``), the list editor's preview and save, the
HubSpot webhook (validly signed, any body), every form of the settings page, and odd HubSpot
data. Clear refusals, never a 500, nothing stored half-way."""

from __future__ import annotations

import itertools
import json
import time

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.models import FieldMapping, HubSpotConnection, SettingChange, SyncSettings
from lists.criteria import OPERATORS
from lists.models import Contact, ContactList, ContactProperty
from sync.settings_page.forms import (
    FieldMappingForm,
    HubSpotConnectionForm,
    HubSpotSideSettingsForm,
    InclusionListForm,
    SalesforceConnectionForm,
    SalesforceSideSettingsForm,
)
from sync.webhooks import signature_v3
from tests.lists.factories import ContactFactory, ContactListFactory, ContactPropertyFactory, filter_branch

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
# The JSON endpoints: about as many examples as the engine's own property tests.
FUZZ_JSON = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
FUZZ_FORMS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
PREVIEW = "/admin/lists/contactlist/preview/"
text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20).map(lambda s: (s * 10_000)[:10_000]),
    st.sampled_from(
        ["", "\x00", "-1", "0", "1e9", "99999999999999999999", "true", "Lead", "Contact", "email", "x" * 300]
    ),
)


@FUZZ
@given(
    side=st.sampled_from(["hubspot", "salesforce"]),
    data=st.dictionaries(
        st.sampled_from(
            [
                "sync_enabled",
                "dedupe_key",
                "external_id_field",
                "polling_interval_minutes",
                "salesforce_object_for_new",
                "create_hubspot_contacts_from_salesforce",
                "daily_api_allocation",
            ]
        ),
        text,
    ),
)
def test_settings_forms_refuse_garbage_without_a_500_or_a_half_save(admin_client, side, data):
    before = SyncSettings.load()
    before_values = {f.name: getattr(before, f.name) for f in SyncSettings._meta.fields if f.name != "updated_at"}
    audits = SettingChange.objects.count()
    response = admin_client.post(f"/admin/integration/salesforce/settings/sync/{side}/", data)
    assert response.status_code in (200, 302), response.status_code
    after = SyncSettings.load()
    after_values = {f.name: getattr(after, f.name) for f in SyncSettings._meta.fields if f.name != "updated_at"}
    changed = {k for k in before_values if before_values[k] != after_values[k]}
    # Whatever was stored is valid, and every change is audited (nothing silent, nothing half-way).
    after.full_clean()
    assert SettingChange.objects.count() - audits == len(changed)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.fixed_dictionaries(
        {
            "firstname": st.text(max_size=200),
            "lastname": st.one_of(
                st.text(max_size=200), st.text(min_size=1, max_size=20).map(lambda s: (s * 10_000)[:10_000])
            ),
            "company": st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
            "email": st.sampled_from(["ÉMILE@Exemple.FR", "a@b.co", "x\x00y@z.io", " spaced@x.io "]),
            "numemployees": st.text(max_size=12),
        }
    )
)
def test_odd_hubspot_values_are_stored_without_errors(values):
    """Unicode, 10 kB strings, NUL bytes, emails in odd case: the pull stores them (NUL removed,
    typed values only where they parse), never an exception."""
    from lists.models import Contact, ContactProperty
    from sync.engine.hubspot_pull import contacts_upsert_from_hubspot

    for name in values:
        ContactProperty.objects.get_or_create(name=name, defaults={"type": "string"})
    ContactProperty.objects.filter(name="numemployees").update(type="number")
    contacts_upsert_from_hubspot([{"id": "424242", "properties": dict(values), "archived": False}])
    contact = Contact.objects.get(hubspot_id="424242")
    assert "\x00" not in json.dumps(contact.raw_properties)
    assert contact.email == values["email"].replace("\x00", "").strip()[:254]


# --- arbitrary JSON -------------------------------------------------------------------------------

CRITERIA_KEYS = [
    "filterBranchType",
    "filters",
    "filterBranches",
    "filterType",
    "property",
    "operation",
    "operationType",
    "operator",
    "value",
    "values",
    "listId",
    "timestamp",
    "numberOfDays",
    "lowerBound",
    "upperBound",
    "includeObjectsWithNoValueSet",
    "metadata",
]
CRITERIA_WORDS = [
    "OR",
    "AND",
    "PROPERTY",
    "IN_LIST",
    "NOT_IN_LIST",
    *OPERATORS,
    *{o for ops in OPERATORS.values() for o in ops},
]
# Numbers as JSON text can be what Python's json module would never write: kept as text and
# spliced in after json.dumps (see ``to_json``).
RAW_NUMBERS = ["9" * 5_000, "-" + "9" * 120, "1e999", "-1e999", "1" + "0" * 4_400, "0." + "0" * 200 + "1"]
_RAW = "\u2063raw:"  # a marker no generated text contains (see ``to_json``)

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**15, max_value=10**120),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "\x00", "\ud800", "%", "_", "\\", "'", '"', "²", "٣", "1e309", "2024-02-30", "France"]),
    st.sampled_from(CRITERIA_WORDS),
    st.sampled_from(RAW_NUMBERS).map(lambda digits: _RAW + digits),
)
json_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.one_of(st.sampled_from(CRITERIA_KEYS), st.text(max_size=8)), children, max_size=6)
    ),
    max_leaves=40,
)


def to_json(value: object) -> str:
    """JSON text of a generated value, with its raw numbers spliced in."""
    text = json.dumps(value)
    for digits in RAW_NUMBERS:
        text = text.replace(json.dumps(_RAW + digits), digits)
    return text


def from_json(value: object) -> object:
    """The generated value as a Python caller would pass it (raw numbers as numbers)."""
    if isinstance(value, str) and value.startswith(_RAW):
        digits = value.removeprefix(_RAW)
        return float(digits) if "e" in digits or "." in digits else 10 ** (len(digits) - 1)
    if isinstance(value, list):
        return [from_json(item) for item in value]
    if isinstance(value, dict):
        return {key: from_json(item) for key, item in value.items()}
    return value


texts = st.one_of(
    st.text(min_size=1, max_size=30).filter(str.strip),
    st.sampled_from(["%", "_", "\\", "'", '"', "a%b_c", "ÉMILE", "ß", "ﬁ", "🙂", "x" * 1_000, " France "]),
)
numbers = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.integers(min_value=10**20, max_value=10**99),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["12", " 1e308 ", "-0", "1,5", "0x10", "5e-324"]),
)
stamps = st.one_of(
    st.integers(min_value=-62135596800000, max_value=253402300799999),
    st.sampled_from(["2024-02-29", "2024-02-29T23:59:59Z", "0001-01-01", "9999-12-31T23:59:59.999+14:00"]),
)
include = st.booleans()


def operation(kind: str, **values: st.SearchStrategy) -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {"operationType": st.just(kind), "operator": st.sampled_from(OPERATORS[kind]), **values},
        optional={"includeObjectsWithNoValueSet": include},
    )


# Per property of the test schema, the operations that fit it, with values that parse but are odd.
OPERATIONS = {
    "country": st.one_of(
        operation("STRING", value=texts), operation("MULTISTRING", values=st.lists(texts, min_size=1, max_size=4))
    ),
    "numemployees": st.one_of(
        operation("NUMBER", value=numbers), operation("NUMBER_RANGED", lowerBound=numbers, upperBound=numbers)
    ),
    "newsletter": operation("BOOL", value=st.sampled_from([True, False, "true", "FALSE"])),
    "createdate": st.one_of(
        operation("DATETIME", timestamp=stamps),
        operation("ROLLING_DATE_RANGE", numberOfDays=st.integers(min_value=0, max_value=36_500)),
    ),
    "lifecyclestage": operation(
        "ENUMERATION", values=st.lists(st.sampled_from(["lead", "LEAD", "customer"]), min_size=1, max_size=3)
    ),
    "interests": operation("ENUMERATION", values=st.lists(st.sampled_from(["crm", "Ops"]), min_size=1, max_size=2)),
}
valid_filters = st.one_of(
    *(
        st.fixed_dictionaries({"filterType": st.just("PROPERTY"), "property": st.just(name), "operation": ops})
        for name, ops in OPERATIONS.items()
    ),
    st.fixed_dictionaries(
        {
            "filterType": st.just("PROPERTY"),
            "property": st.sampled_from(list(OPERATIONS)),
            "operation": operation("ALL_PROPERTY"),
        }
    ),
    st.fixed_dictionaries(
        {
            "filterType": st.just("IN_LIST"),
            "listId": st.sampled_from(["1", 2, "2"]),
            "operator": st.sampled_from(["IN_LIST", "NOT_IN_LIST"]),
        }
    ),
)


def branches(filters: st.SearchStrategy) -> st.SearchStrategy:
    and_branch = st.fixed_dictionaries(
        {"filterBranchType": st.just("AND"), "filters": st.lists(filters, min_size=1, max_size=3)}
    )
    nested = st.fixed_dictionaries(
        {
            "filterBranchType": st.just("AND"),
            "filters": st.lists(filters, max_size=2),
            "filterBranches": st.lists(
                st.fixed_dictionaries(
                    {"filterBranchType": st.just("OR"), "filterBranches": st.lists(and_branch, min_size=1, max_size=2)}
                ),
                min_size=1,
                max_size=2,
            ),
        }
    )
    return st.fixed_dictionaries(
        {
            "filterBranchType": st.just("OR"),
            "filters": st.just([]),
            "filterBranches": st.lists(st.one_of(and_branch, nested), min_size=1, max_size=3),
        }
    )


def _places(node: object):
    """Every (container, key) of a JSON value."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield node, key
            yield from _places(child)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield node, index
            yield from _places(child)


@st.composite
def mutated(draw, base: st.SearchStrategy):
    """A value of ``base`` with one of its values replaced by any JSON value."""
    value = draw(base)
    places = list(_places(value))
    container, key = draw(st.sampled_from(places))
    container[key] = draw(json_values)
    return value


valid_criteria = branches(valid_filters)
# Valid criteria with odd values (these reach the schema checks and the SQL), one value of them
# replaced by anything, and any JSON at all.
criteria = st.one_of(valid_criteria, mutated(valid_criteria), json_values)
raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.integers(min_value=1, max_value=20_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=1, max_value=20_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
)


@pytest.fixture
def schema():

    ContactPropertyFactory(name="country")
    ContactPropertyFactory(name="numemployees", type=ContactProperty.Type.NUMBER)
    ContactPropertyFactory(name="newsletter", type=ContactProperty.Type.BOOL)
    ContactPropertyFactory(name="createdate", type=ContactProperty.Type.DATETIME)
    ContactPropertyFactory(name="lifecyclestage", enum_values=["lead", "customer"])
    ContactPropertyFactory(name="interests", enum_values=["crm", "ops"], multiple=True)
    ContactFactory(properties={"country": "France", "numemployees": 50, "interests": ["crm"], "newsletter": True})
    ContactFactory(properties={"country": "%_\\", "createdate": 0, "lifecyclestage": "lead"})
    ContactListFactory(
        pk=1, filter_branch=filter_branch([{"filterType": "IN_LIST", "listId": "2", "operator": "IN_LIST"}])
    )
    ContactListFactory(pk=2, static=True)
    ContactListFactory(
        pk=3, filter_branch=filter_branch([{"filterType": "IN_LIST", "listId": "1", "operator": "IN_LIST"}])
    )


@FUZZ_JSON
@given(value=criteria)
def test_full_clean_refuses_any_json_with_a_validation_error(schema, value):

    contact_list = ContactList(name="Fuzzed", filter_branch=from_json(value))
    try:
        contact_list.full_clean()
    except ValidationError as exc:
        assert all(message for message in exc.message_dict["filter_branch"])


@pytest.fixture
def list_editor(client, django_user_model, schema, monkeypatch):
    """Staff with the lists' view, add and change permissions (no superuser shortcut)."""

    monkeypatch.setattr("lists.services.edit.async_task", lambda *args, **kwargs: None)
    user = django_user_model.objects.create_user("list-editor", password="pw-123456789", is_staff=True)
    codenames = ["view_contactlist", "add_contactlist", "change_contactlist"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


@FUZZ_JSON
@given(
    body=st.one_of(
        st.tuples(criteria, st.sampled_from(['"1"', "3", "null", '"x"'])).map(
            lambda c: '{"filter_branch": ' + to_json(c[0]) + ', "list_id": ' + c[1] + "}"
        ),
        raw_bodies,
    )
)
def test_preview_answers_any_body_without_a_500(list_editor, body):
    response = list_editor.post(PREVIEW, data=body, content_type="application/json")
    assert response.status_code in (200, 400, 413), response.status_code
    data = response.json()
    if response.status_code != 200:
        assert data["ok"] is False and all(entry["message"] for entry in data["errors"])


@FUZZ_JSON
@given(
    text=st.one_of(criteria.map(to_json), raw_bodies.map(lambda b: b.decode("utf-8", "replace"))), change=st.booleans()
)
def test_save_answers_any_criteria_without_a_500_and_stores_only_valid_ones(list_editor, text, change):

    if change:
        url = reverse("admin:lists_contactlist_change", args=[1])
        data = {"name": "Fuzzed", "filter_branch": text}
    else:
        url = reverse("admin:lists_contactlist_add")
        data = {"name": "Fuzzed", "processing_type": "DYNAMIC", "filter_branch": text}
    response = list_editor.post(url, data)
    assert response.status_code in (302, 400), response.status_code
    for stored in ContactList.objects.filter(processing_type="DYNAMIC"):
        stored.full_clean()


# --- the webhook, validly signed -------------------------------------------------------------------

EVENT_KEYS = ["objectId", "primaryObjectId", "mergedObjectIds", "propertyName", "eventId"]
SUBSCRIPTIONS = ["contact.deletion", "contact.privacyDeletion", "contact.merge", "contact.creation", "x"]
events = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"subscriptionType": st.sampled_from(SUBSCRIPTIONS)},
            optional={
                key: st.one_of(json_values, st.sampled_from(["999", 9, [9, 99], [999], 2**70])) for key in EVENT_KEYS
            },
        ),
        json_values,
    ),
    max_size=6,
)


def integer_ids(body: object) -> set[str]:
    """Every integer id in an event's objectId or mergedObjectIds: the most a batch may archive."""
    found: set[str] = set()
    for event in body if isinstance(body, list) else []:
        if not isinstance(event, dict):
            continue
        merged = event.get("mergedObjectIds")
        for value in [event.get("objectId"), *(merged if isinstance(merged, list) else [])]:
            if isinstance(value, int) and not isinstance(value, bool):
                found.add(str(value))
    return found


@pytest.fixture
def signed_webhook(client, monkeypatch):

    connection = HubSpotConnection.load()
    connection.client_secret = "fuzz-secret"
    connection.save()
    monkeypatch.setattr("sync.webhooks.async_task", lambda *args, **kwargs: None)
    # A new timestamp for every request: the same body twice is then a new delivery, not a replay.
    stamps = itertools.count(int(time.time() * 1000))

    def post(body: bytes):
        stamp = str(next(stamps))
        uri = "http://testserver/webhooks/hubspot/"
        signature = signature_v3(secret="fuzz-secret", method="POST", uri=uri, body=body, timestamp=stamp)
        return client.post(
            "/webhooks/hubspot/",
            data=body,
            content_type="application/json",
            HTTP_X_HUBSPOT_REQUEST_TIMESTAMP=stamp,
            HTTP_X_HUBSPOT_SIGNATURE_V3=signature,
        )

    return post


@FUZZ_JSON
@given(body=st.one_of(events, json_values), raw=st.one_of(st.none(), raw_bodies))
def test_signed_webhook_answers_any_body_without_a_500_and_archives_only_integer_ids(signed_webhook, body, raw):

    for hubspot_id in ("9", "99", "999"):
        if not Contact.objects.filter(hubspot_id=hubspot_id).exists():
            ContactFactory(hubspot_id=hubspot_id)
    Contact.objects.update(archived=False)
    response = signed_webhook(raw if raw is not None else to_json(body).encode())
    assert response.status_code in (200, 400, 413), response.status_code
    archived = set(Contact.objects.filter(archived=True).values_list("hubspot_id", flat=True))
    assert archived <= (integer_ids(body) if raw is None and response.status_code == 200 else set())


# --- every form of the settings page ----------------------------------------------------------------


def mapping_form() -> FieldMappingForm:
    return FieldMappingForm(field_types={})


# (URL name, URL arguments, the form whose fields are posted) for each form of the settings page.
SETTINGS_FORMS = {
    "salesforce connection": ("salesforce_connection_save", [], lambda: SalesforceConnectionForm(prefix="sf")),
    "hubspot connection": ("hubspot_connection_save", [], lambda: HubSpotConnectionForm(prefix="hs")),
    "hubspot side": ("sync_settings_save", ["hubspot"], HubSpotSideSettingsForm),
    "salesforce side": ("sync_settings_save", ["salesforce"], SalesforceSideSettingsForm),
    "inclusion list": ("inclusion_list_save", [], InclusionListForm),
    "mapping added": ("mapping_add", [], mapping_form),
    "mapping changed": ("mapping_change", ["MAPPING"], mapping_form),
}
# The connection actions are left out: "test" and "connect" call the URL that was saved.
UNSAFE_ACTIONS = {"test", "connect", "sandbox", "disconnect", "delete"}


@pytest.mark.parametrize("name", list(SETTINGS_FORMS))
@FUZZ_FORMS
@given(data=st.data())
def test_each_settings_form_answers_any_strings_without_a_500(admin_client, name, data):
    url_name, args, form = SETTINGS_FORMS[name]
    bound = form()
    fields = [bound.add_prefix(field) for field in bound.fields]
    args = [FieldMapping.objects.order_by("pk").first().pk if arg == "MAPPING" else arg for arg in args]
    posted = data.draw(
        st.dictionaries(
            st.sampled_from([*fields, "action", "csrfmiddlewaretoken", "x"]), text, max_size=len(fields) + 2
        )
    )
    if posted.get("action", "").strip().lower() in UNSAFE_ACTIONS:
        posted["action"] = "none"
    response = admin_client.post(reverse(f"integration:{url_name}", args=args), posted)
    assert response.status_code in (200, 302, 400), response.status_code
