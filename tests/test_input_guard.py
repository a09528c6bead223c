"""No input reaches a 500: the JSON guard (size, depth, numbers, types) on its own, then on the
list editor's preview, save and rename, on ``ContactList.full_clean`` and on the development
server's handling of a malformed ``Content-Length``."""

from __future__ import annotations

import json
import socket

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse

from lists import jsonguard
from lists.models import ContactList, ContactProperty
from tests.lists.factories import ContactListFactory, ContactPropertyFactory, filter_branch, property_filter

PREVIEW = reverse("admin:lists_contactlist_preview")
ADD = reverse("admin:lists_contactlist_add")

NESTED_10_KB = b"[" * 5_000 + b"]" * 5_000
FIVE_THOUSAND_DIGITS = "9" * 5_000
HUGE = 10**5_000 - 1  # int("9" * 5000) itself is refused by Python


def deep_branches(levels: int) -> dict:
    inner: dict = {"filterBranchType": "AND", "filters": [property_filter("country", "ALL_PROPERTY", "IS_KNOWN")]}
    for _ in range(levels):
        inner = {"filterBranchType": "AND", "filterBranches": [inner]}
    return {"filterBranchType": "OR", "filterBranches": [inner]}


def deep_branches_text(levels: int) -> str:
    """``deep_branches(levels)`` as JSON text (json.dumps itself recurses past ~500 levels)."""
    leaf = json.dumps({"filterBranchType": "AND", "filters": [property_filter("country", "ALL_PROPERTY", "IS_KNOWN")]})
    opening = '{"filterBranchType": "AND", "filterBranches": ['
    inner = opening * levels + leaf + "]}" * levels
    return '{"filterBranchType": "OR", "filterBranches": [' + inner + "]}"


def with_raw_number(digits: str) -> str:
    """Criteria whose group 1, filter 2 compares numemployees to a number of ``digits``,
    as JSON text (Python's json module could not write it)."""
    branch = filter_branch(
        [
            property_filter("country", "ALL_PROPERTY", "IS_KNOWN"),
            property_filter("numemployees", "NUMBER", "IS_EQUAL_TO", value="PLACEHOLDER"),
        ]
    )
    return json.dumps(branch).replace('"PLACEHOLDER"', digits)


# --- the guard on its own ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a": [1, {"b": "[[[["}]}', 3),
        ('["\\"[[[["]', 1),  # an escaped quote does not end the string
        ('"unterminated [[[[', 0),  # the decoder stops at the string too
        ("]]]][[[[[[", 0),  # and at the first unmatched bracket
    ],
)
def test_nesting_is_counted_outside_strings(text, depth):
    assert jsonguard.nesting_depth(text) == depth


@pytest.mark.parametrize(
    ("data", "status", "fragment"),
    [
        (NESTED_10_KB, 400, "nested more than 64 levels"),
        (b"[" * 100_000, 400, "nested more than 64 levels"),
        (FIVE_THOUSAND_DIGITS.encode(), 400, "more than 100 digits"),
        (b'{"a": 1e999}', 400, "$.a"),
        (b"[NaN]", 400, "not valid JSON"),
        (b'["\\u0000"]', 400, "cannot be stored"),
        (b'{"\\ud800": 1}', 400, "cannot be stored"),
        (b"\xff\xfe\xff", 400, "not valid JSON"),
        (b"{not json", 400, "not valid JSON"),
        (b"[" + b"1," * 600_000 + b"1]", 413, "kB"),
    ],
)
def test_loads_refuses_with_a_status_and_a_message(data, status, fragment):
    with pytest.raises(jsonguard.JsonRefused) as info:
        jsonguard.loads(data)
    assert info.value.status == status
    assert fragment in info.value.message


def test_loads_reads_json_and_can_keep_oversized_numbers_for_the_caller():
    assert jsonguard.loads(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}
    assert jsonguard.loads('"\\u00e9t\\u00e9"') == "été"
    kept = jsonguard.loads(f'{{"n": {FIVE_THOUSAND_DIGITS}}}', check=False)
    assert isinstance(kept["n"], jsonguard.OversizedNumber)
    problem = jsonguard.inspect(kept)
    assert problem is not None and problem.path == ("n",)


def test_inspect_walks_any_depth_without_recursing():
    deep: list = []
    for _ in range(200_000):
        deep = [deep]
    problem = jsonguard.inspect(deep)
    assert problem is not None and problem.too_deep and len(problem.path) == 64


@pytest.mark.parametrize("header", ["abc", "-5", "1e3", "12, 12", "٣", "9" * 30])
def test_a_malformed_content_length_is_refused_before_the_body_is_read(header):
    request = RequestFactory().post("/", data=b"[]", content_type="application/json", CONTENT_LENGTH=header)
    with pytest.raises(jsonguard.JsonRefused) as info:
        jsonguard.body_of(request)
    assert info.value.status in (400, 413)
    assert not hasattr(request, "_body")


def test_a_content_length_over_the_limit_is_a_413():
    request = RequestFactory().post("/", data=b"[]", content_type="application/json", CONTENT_LENGTH="2000")
    with pytest.raises(jsonguard.JsonRefused) as info:
        jsonguard.body_of(request, max_bytes=1000)
    assert info.value.status == 413


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["abc", "-1", " 12x"])
def test_the_content_length_middleware_answers_a_malformed_header_on_any_form_with_a_400(settings, header):
    """Without it, any form's ``request.POST`` reads the header with int(): a 500. It is installed
    first, before anything reads the body."""
    assert settings.MIDDLEWARE[0] == "lists.jsonguard.ContentLengthMiddleware"
    response = Client().post(
        "/admin/login/",
        data="username=a&password=b",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=header,
    )
    assert response.status_code == 400
    assert b"Content-Length" in response.content
    assert Client().get("/admin/login/").status_code == 200


# --- ContactList.full_clean -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "value",
    [
        "deep",
        HUGE,
        {"filterBranchType": "OR", "filterBranches": "AND"},
        {"filterBranchType": {"OR": 1}, "filterBranches": []},
        filter_branch([{"filterType": "PROPERTY", "property": "country", "operation": {"operationType": ["STRING"]}}]),
        filter_branch([{"filterType": "PROPERTY", "property": "country", "operation": {"operationType": {}}}]),
        filter_branch([property_filter("numemployees", "NUMBER", "IS_EQUAL_TO", value=HUGE)]),
        filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value="a\x00b")]),
        filter_branch([property_filter("numemployees", "NUMBER", "IS_EQUAL_TO", value=float("inf"))]),
        {"filterBranchType": "OR", "filterBranches": [], "extra": object()},
        [[[]]],
        "OR",
        3.5,
        True,
    ],
    ids=lambda value: type(value).__name__,
)
def test_full_clean_raises_validation_error_for_any_value(value):
    if value == "deep":
        value = deep_branches(100_000)
    ContactPropertyFactory(name="country")
    ContactPropertyFactory(name="numemployees", type=ContactProperty.Type.NUMBER)
    contact_list = ContactList(name="Guarded", processing_type=ContactList.ProcessingType.DYNAMIC)
    contact_list.filter_branch = value
    with pytest.raises(ValidationError) as info:
        contact_list.full_clean()
    assert info.value.message_dict["filter_branch"]


@pytest.mark.django_db
def test_full_clean_still_accepts_good_criteria_and_static_lists():
    ContactPropertyFactory(name="country")
    good = ContactList(
        name="Good", filter_branch=filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value="FR")])
    )
    good.full_clean()
    ContactList(name="Static", processing_type=ContactList.ProcessingType.MANUAL).full_clean()


# --- the list editor's endpoints ----------------------------------------------------------------


@pytest.fixture
def schema(db):
    ContactPropertyFactory(name="country")
    ContactPropertyFactory(name="numemployees", type=ContactProperty.Type.NUMBER)


@pytest.fixture
def viewer(client, django_user_model, schema):
    """Staff who may only view lists: enough to call the preview."""
    user = django_user_model.objects.create_user("viewer", password="pw-123456789", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_contactlist"))
    client.force_login(user)
    return client


@pytest.fixture
def editor(client, django_user_model, schema):
    user = django_user_model.objects.create_user("editor", password="pw-123456789", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_contactlist", "add_contactlist", "change_contactlist"])
    )
    client.force_login(user)
    return client


def preview(client, body: bytes | str, **extra):
    return client.post(PREVIEW, data=body, content_type="application/json", **extra)


def wrapped(criteria_text: str) -> str:
    return '{"filter_branch": ' + criteria_text + "}"


def assert_refused(response, status: int = 400) -> list[dict]:
    assert response.status_code == status, response.content[:300]
    data = response.json()
    assert data["ok"] is False and data["errors"]
    assert all(entry["message"] and {"message", "group", "filter"} <= entry.keys() for entry in data["errors"])
    return data["errors"]


def test_preview_refuses_10_kb_of_nested_arrays_with_a_400(viewer):
    errors = assert_refused(preview(viewer, NESTED_10_KB))
    assert "nested more than" in errors[0]["message"]
    assert_refused(preview(viewer, wrapped(NESTED_10_KB.decode())))


def test_preview_refuses_900_nested_branches_with_a_400(viewer):
    # Refused on the raw text, before any parsing: the message stands above the groups.
    errors = assert_refused(preview(viewer, wrapped(deep_branches_text(900))))
    assert errors[0]["message"] == "The JSON is nested more than 64 levels deep (the limit)."


def test_preview_refuses_5000_levels_of_raw_nesting(viewer):
    raw = '{"filterBranchType": "OR", "filterBranches": ' + "[" * 5_000 + "]" * 5_000 + "}"
    assert_refused(preview(viewer, wrapped(raw)))


def test_preview_names_the_filter_of_a_5000_digit_number(viewer):
    errors = assert_refused(preview(viewer, wrapped(with_raw_number(FIVE_THOUSAND_DIGITS))))
    assert (errors[0]["group"], errors[0]["filter"]) == (0, 1)
    assert errors[0]["message"].startswith("Group 1, filter 2 (numemployees):")
    assert "more than 100 digits" in errors[0]["message"]


@pytest.mark.parametrize(
    ("operation", "fragment"),
    [
        ({"operationType": {"type": "STRING"}, "operator": "IS_EQUAL_TO"}, "unsupported operation type"),
        ({"operationType": ["STRING"], "operator": "IS_EQUAL_TO"}, "unsupported operation type"),
    ],
)
def test_preview_names_the_filter_of_a_badly_typed_operation(viewer, operation, fragment):
    branch = filter_branch([{"filterType": "PROPERTY", "property": "country", "operation": operation}])
    errors = assert_refused(preview(viewer, json.dumps({"filter_branch": branch})))
    assert (errors[0]["group"], errors[0]["filter"]) == (0, 0)
    assert fragment in errors[0]["message"]


def test_preview_explains_filter_branches_given_as_text(viewer):
    body = {"filter_branch": {"filterBranchType": "OR", "filters": [], "filterBranches": "AND"}}
    errors = assert_refused(preview(viewer, json.dumps(body)))
    assert "filterBranches must be a list" in errors[0]["message"]


@pytest.mark.parametrize(
    "list_id", ["²", "9" * 40, {"a": 1}, -3, FIVE_THOUSAND_DIGITS], ids=["superscript", "40", "object", "-3", "5000"]
)
def test_preview_ignores_a_list_id_that_is_not_one(viewer, list_id):
    branch = filter_branch([property_filter("country", "ALL_PROPERTY", "IS_KNOWN")])
    body = json.dumps({"filter_branch": branch, "list_id": "LIST_ID"}).replace('"LIST_ID"', json.dumps(list_id))
    if list_id == FIVE_THOUSAND_DIGITS:
        body = body.replace(f'"{FIVE_THOUSAND_DIGITS}"', FIVE_THOUSAND_DIGITS)
    assert preview(viewer, body).status_code == 200


@pytest.mark.parametrize("header", ["abc", "-1", "99999999999"])
def test_preview_refuses_a_malformed_or_huge_content_length(viewer, header):
    response = preview(viewer, b'{"filter_branch": {}}', CONTENT_LENGTH=header)
    assert_refused(response, status=413 if header.isdigit() else 400)


def save(client, criteria_text: str, contact_list: ContactList | None = None):
    url = reverse("admin:lists_contactlist_change", args=[contact_list.pk]) if contact_list else ADD
    data = {"name": "Guarded", "filter_branch": criteria_text}
    if contact_list is None:
        data["processing_type"] = ContactList.ProcessingType.DYNAMIC
    return client.post(url, data)


def criteria_errors(response) -> list[str]:
    assert response.status_code == 400, response.status_code
    return response.context["adminform"].form.errors["filter_branch"]


@pytest.mark.parametrize(
    "criteria_text",
    [
        NESTED_10_KB.decode(),
        deep_branches_text(900),
        '{"filterBranchType": "OR", "filterBranches": ' + "[" * 5_000 + "]" * 5_000 + "}",
        "{" * 5_000,
    ],
    ids=["10 kB of arrays", "900 branches", "5000 raw levels", "5000 open braces"],
)
def test_save_refuses_deep_criteria_with_a_400_and_keeps_the_stored_list(editor, criteria_text):
    good = filter_branch([property_filter("country", "STRING", "IS_EQUAL_TO", value="FR")])
    contact_list = ContactListFactory(name="Kept", filter_branch=good)
    for target in (None, contact_list):
        errors = criteria_errors(save(editor, criteria_text, target))
        assert any("nested more than" in e for e in errors), errors
    contact_list.refresh_from_db()
    assert (contact_list.name, contact_list.filter_branch) == ("Kept", good)
    assert ContactList.objects.count() == 1


def test_save_names_the_filter_of_a_5000_digit_number_and_keeps_the_text(editor):
    text = with_raw_number(FIVE_THOUSAND_DIGITS)
    response = save(editor, text)
    errors = criteria_errors(response)
    assert any(e.startswith("Group 1, filter 2 (numemployees):") and "100 digits" in e for e in errors), errors
    # The textarea shows what was sent, digits included, so nothing typed is lost.
    assert FIVE_THOUSAND_DIGITS in response.content.decode()
    assert not ContactList.objects.exists()


@pytest.mark.parametrize(
    ("branch", "fragment"),
    [
        (
            filter_branch([{"filterType": "PROPERTY", "property": "country", "operation": {"operationType": {}}}]),
            "Group 1, filter 1 (country): unsupported operation type",
        ),
        (
            filter_branch([{"filterType": "PROPERTY", "property": "country", "operation": {"operationType": []}}]),
            "Group 1, filter 1 (country): unsupported operation type",
        ),
        ({"filterBranchType": "OR", "filters": [], "filterBranches": "x"}, "filterBranches must be a list"),
    ],
)
def test_save_explains_badly_typed_criteria(editor, branch, fragment):
    errors = criteria_errors(save(editor, json.dumps(branch)))
    assert any(fragment in e for e in errors), errors


@pytest.mark.parametrize("payload", [b"[" * 5_000, b'{"name": "a\\u0000b"}', b'{"name": 1e999}', b"x" * 20_000])
def test_rename_refuses_bad_json_without_a_500(editor, payload):
    contact_list = ContactListFactory(
        filter_branch=filter_branch([property_filter("country", "ALL_PROPERTY", "IS_KNOWN")])
    )
    url = reverse("admin:lists_contactlist_rename", args=[contact_list.pk])
    response = editor.post(url, data=payload, content_type="application/json")
    assert response.status_code in (400, 413)
    assert response.json()["ok"] is False


# --- the development server ---------------------------------------------------------------------


def raw_request(address: str, request: bytes) -> bytes:
    host, port = address.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("length", [b"abc", b"-5", b"1e9"])
def test_the_development_server_answers_a_malformed_content_length_on_the_webhook_with_a_400(live_server, length):
    """Django's development server (the live server runs the same handler) passes any
    Content-Length on; the webhook must refuse it, not fail reading it."""
    reply = raw_request(
        live_server.url,
        b"POST /webhooks/hubspot/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + length + b"\r\nConnection: close\r\n\r\n[]",
    )
    status_line = reply.split(b"\r\n", 1)[0]
    assert b" 400 " in status_line, reply[:300]
    assert b"Content-Length" in reply.split(b"\r\n\r\n", 1)[1]
