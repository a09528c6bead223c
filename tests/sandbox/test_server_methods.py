"""What both emulators answer for a request their service does not offer, over real HTTP: a method
no route has (TRACE, a made-up word) is the client's error, a 405 in the service's error shape on
every path, never the HTTP server's HTML 501; a JSON body that is not UTF-8 JSON, or holds a lone
UTF-16 surrogate, is a 400 in the same shape, never a 500."""

from __future__ import annotations

import json

import pytest
import requests

from sandbox.testing import trusting_session
from tests.sandbox.hubspot_helpers import AUTH as HUBSPOT_AUTH
from tests.sandbox.salesforce_helpers import AUTH as SALESFORCE_AUTH

SALESFORCE_PATHS = [
    "/services/data/v59.0/sobjects/Lead",
    "/services/data/v59.0/query",
    "/services/data/v59.0/composite/sobjects",
    "/services/data/v59.0/no/such/resource",
    "/_sandbox/status",
    "/",
]
HUBSPOT_PATHS = [
    "/crm/v3/objects/contacts",
    "/crm/v3/objects/contacts/batch/upsert",
    "/crm/v3/lists/",
    "/no/such/resource",
    "/",
]
UNOFFERED = ["TRACE", "CONNECT", "PROPFIND", "BREW"]


def assert_salesforce_error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["errorCode"] == code and body[0]["message"]
    return body[0]


def assert_hubspot_error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "error" and body["message"] and body["correlationId"]
    assert body["category"] == "VALIDATION_ERROR"
    return body


@pytest.mark.parametrize("method", UNOFFERED)
@pytest.mark.parametrize("path", SALESFORCE_PATHS)
def test_salesforce_answers_a_method_it_does_not_offer_with_405_in_its_error_shape(server, method, path):
    session = trusting_session(server.cert_path)
    response = session.request(method, server.url + path, headers=SALESFORCE_AUTH)
    error = assert_salesforce_error(response, 405, "METHOD_NOT_ALLOWED")
    assert method in error["message"]
    assert "TRACE" not in response.headers["Allow"] and "GET" in response.headers["Allow"]


def test_salesforce_names_the_methods_a_known_path_has_when_another_is_used(server):
    session = trusting_session(server.cert_path)
    response = session.put(server.url + "/services/data/v59.0/composite/sobjects", headers=SALESFORCE_AUTH)
    assert_salesforce_error(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["Allow"].split(", ")) == {"POST", "PATCH", "DELETE"}


def test_salesforce_unknown_path_is_its_not_found_error(server):
    session = trusting_session(server.cert_path)
    response = session.get(server.url + "/services/data/v59.0/no/such/resource", headers=SALESFORCE_AUTH)
    assert_salesforce_error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize("method", UNOFFERED)
@pytest.mark.parametrize("path", HUBSPOT_PATHS)
def test_hubspot_answers_a_method_it_does_not_offer_with_405_in_its_error_shape(hs, method, path):
    response = requests.request(method, hs[0] + path, headers=HUBSPOT_AUTH, timeout=30)
    body = assert_hubspot_error(response, 405)
    assert method in body["message"]


LONE_SURROGATES = [
    b'{"LastName": "\\ud800", "Company": "Acme"}',
    b'{"LastName": "x\\uDFFFy", "Company": "Acme"}',
    b'{"\\udc00": "key", "LastName": "L", "Company": "Acme"}',
    b'{"LastName": "L", "Company": ["\\uD83D"]}',
]
NOT_UTF8_JSON = [b'{"LastName": "\xff\xfe"}', b'{"LastName": ', b"\xef\xbb", b"not json"]


@pytest.mark.parametrize("body", LONE_SURROGATES + NOT_UTF8_JSON)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/services/data/v59.0/sobjects/Lead"),
        ("PATCH", "/services/data/v59.0/composite/sobjects"),
        ("POST", "/services/data/v59.0/jobs/ingest"),
        ("POST", "/_sandbox/settings"),
    ],
)
def test_salesforce_refuses_a_body_that_is_not_utf8_json_with_400(server, control, body, method, path):
    session = trusting_session(server.cert_path)
    response = session.request(
        method, server.url + path, data=body, headers={**SALESFORCE_AUTH, "Content-Type": "application/json"}
    )
    assert_salesforce_error(response, 400, "JSON_PARSER_ERROR")


def test_salesforce_keeps_an_escaped_surrogate_pair_as_one_character(sf):
    created = sf.Lead.create({"LastName": "L", "Company": "Acme", "Title": "\U0001f600"})
    body = b'{"Title": "smile \\ud83d\\ude00"}'
    session = sf.session
    url = f"{sf.base_url}sobjects/Lead/{created['id']}"
    response = session.patch(url, data=body, headers={**SALESFORCE_AUTH, "Content-Type": "application/json"})
    assert response.status_code == 204, response.text
    assert sf.Lead.get(created["id"])["Title"] == "smile \U0001f600"


@pytest.mark.parametrize("body", LONE_SURROGATES + NOT_UTF8_JSON)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/crm/v3/objects/contacts"),
        ("POST", "/crm/v3/objects/contacts/batch/upsert"),
        ("POST", "/crm/v3/objects/contacts/search"),
    ],
)
def test_hubspot_refuses_a_body_that_is_not_utf8_json_with_400(hs, body, method, path):
    response = requests.request(
        method, hs[0] + path, data=body, headers={**HUBSPOT_AUTH, "Content-Type": "application/json"}, timeout=30
    )
    assert_hubspot_error(response, 400)


def _raw(url: str, request: bytes, cert_path=None) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as is (no client would) and read the answer: (status, headers, body)."""
    import socket
    import ssl

    host, port = url.split("://", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    if url.startswith("https"):
        context = ssl.create_default_context(cafile=str(cert_path))
        sock = context.wrap_socket(sock, server_hostname=host)
    with sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n", 400),
        (b"POST /services/data/v59.0/sobjects/Lead HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(101)) + b"\r\n", 431),
    ],
)
def test_the_http_servers_own_errors_come_in_the_services_shape(server, hs, request_bytes, status):
    code, headers, body = _raw(server.url, request_bytes, server.cert_path)
    assert (
        code == status and headers["Content-Type"].startswith("application/json") and headers["Connection"] == "close"
    )
    (error,) = json.loads(body)
    assert set(error) == {"message", "errorCode"} and error["message"]
    code, headers, body = _raw(hs[0], request_bytes)
    assert code == status and headers["Content-Type"].startswith("application/json")
    error = json.loads(body)
    assert error["status"] == "error" and error["message"] and error["correlationId"] and error["category"]
