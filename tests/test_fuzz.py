"""Property-based fuzzing of the inputs from outside, with arbitrary JSON values and strings: the
HubSpot webhook (validly signed, any body), every form of the settings page, and odd HubSpot
data. Clear refusals, never a 500, nothing stored half-way. The criteria and the list editor's
endpoints are fuzzed in ``tests/test_fuzz_criteria.py``."""

from __future__ import annotations

import itertools
import json
import time

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.models import FieldMapping, HubSpotConnection, SettingChange, SyncSettings
from lists.models import Contact, ContactProperty
from sync.settings_page.forms import (
    FieldMappingForm,
    HubSpotConnectionForm,
    HubSpotSideSettingsForm,
    InclusionListForm,
    SalesforceConnectionForm,
    SalesforceSideSettingsForm,
)
from sync.webhooks import signature_v3
from tests.json_strategies import json_values, raw_bodies, to_json
from tests.lists.factories import ContactFactory

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
    from lists.models import Contact
    from sync.engine.hubspot_pull import contacts_upsert_from_hubspot

    for name in values:
        ContactProperty.objects.get_or_create(name=name, defaults={"type": "string"})
    ContactProperty.objects.filter(name="numemployees").update(type="number")
    contacts_upsert_from_hubspot([{"id": "424242", "properties": dict(values), "archived": False}])
    contact = Contact.objects.get(hubspot_id="424242")
    assert "\x00" not in json.dumps(contact.raw_properties)
    assert contact.email == values["email"].replace("\x00", "").strip()[:254]


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
