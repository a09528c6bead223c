"""The Salesforce sandbox driven by the unmodified simple-salesforce over real HTTPS: versions, OAuth
grants, describe and the daily API allowance.

Each error code is produced by the input that produces it in Salesforce.
"""

from __future__ import annotations

import time

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceRefusedRequest,
)

from sandbox.testing import trusting_session
from tests.sandbox.salesforce_helpers import error_of


class TestAuthAndMeta:
    def test_versions_and_resources(self, sf, server):
        versions = trusting_session(server.cert_path).get(server.url + "/services/data/").json()
        assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
        assert "sobjects" in sf.restful("")

    def test_unknown_token_is_invalid_session(self, server, control):
        bad = Salesforce(instance_url=server.url, session_id="nope", session=trusting_session(server.cert_path))
        with pytest.raises(SalesforceExpiredSession) as exc:
            bad.query("SELECT Id FROM Lead")
        assert exc.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]

    def test_oauth_grants_issue_usable_tokens(self, server, control):
        session = trusting_session(server.cert_path)
        token_url = server.url + "/services/oauth2/token"
        answer = session.post(token_url, data={"grant_type": "client_credentials"}, auth=("key", "secret")).json()
        assert set(answer) >= {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}
        assert answer["instance_url"] == server.url and answer["token_type"] == "Bearer"
        issued = Salesforce(instance_url=answer["instance_url"], session_id=answer["access_token"], session=session)
        assert issued.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
        refused = session.post(token_url, data={"grant_type": "client_credentials"})
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_client"
        unsupported = session.post(token_url, data={"grant_type": "magic"})
        assert unsupported.json() == {
            "error": "unsupported_grant_type",
            "error_description": "grant type not supported",
        }

    def test_jwt_bearer_checks_structure_expiry_and_registered_key(self, server, control):
        import jwt
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        control("/_sandbox/settings", {"jwt_public_key": public.decode()})
        session = trusting_session(server.cert_path)

        def token(claims, signing_key=pem):
            assertion = jwt.encode(claims, signing_key, algorithm="RS256")
            return session.post(
                server.url + "/services/oauth2/token",
                data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
            )

        claims = {"iss": "key", "sub": "admin@example.com", "aud": "https://login.salesforce.com"}
        # simple-salesforce sends exp as a string: accepted like Salesforce does.
        assert token({**claims, "exp": str(int(time.time()) + 120)}).status_code == 200
        assert token({**claims, "exp": int(time.time()) - 10}).json()["error"] == "invalid_grant"
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        assert token({**claims, "exp": int(time.time()) + 120}, other).json() == {
            "error": "invalid_grant",
            "error_description": "invalid assertion",
        }
        garbage = session.post(
            server.url + "/services/oauth2/token",
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "not-a-jwt"},
        )
        assert garbage.json()["error"] == "invalid_grant"

    def test_refresh_token_grant(self, server, control):
        session = trusting_session(server.cert_path)
        url = server.url + "/services/oauth2/token"
        code = session.post(
            url, data={"grant_type": "authorization_code", "code": "abc", "client_id": "k", "client_secret": "s"}
        ).json()
        refreshed = session.post(url, data={"grant_type": "refresh_token", "refresh_token": code["refresh_token"]})
        assert refreshed.status_code == 200 and refreshed.json()["access_token"] != code["access_token"]
        assert session.post(url, data={"grant_type": "refresh_token", "refresh_token": "nope"}).json() == {
            "error": "invalid_grant",
            "error_description": "expired access/refresh token",
        }

    def test_describe(self, sf):
        describe = sf.Lead.describe()
        fields = {f["name"]: f for f in describe["fields"]}
        assert describe["keyPrefix"] == "00Q"
        assert fields["LastName"]["nillable"] is False and fields["LastName"]["length"] == 80
        assert fields["Company"]["createable"] and not fields["Company"]["nillable"]
        assert fields["Status"]["defaultedOnCreate"] and any(
            p["defaultValue"] for p in fields["Status"]["picklistValues"]
        )
        assert fields["LeadSource"]["restrictedPicklist"] and fields["LeadSource"]["type"] == "picklist"
        assert fields["HubSpot_Id__c"]["externalId"] and fields["HubSpot_Id__c"]["unique"]
        assert fields["HubSpot_Id__c"]["length"] == 64 and fields["HubSpot_Id__c"]["custom"]
        assert fields["NumberOfEmployees"]["type"] == "int"
        assert not fields["CreatedDate"]["createable"]
        contact = {f["name"] for f in sf.Contact.describe()["fields"]}
        assert {"MailingCity", "MailingCountry", "AccountId"} <= contact and "Company" not in contact


class TestLimits:
    def test_limits_and_header_count_down(self, sf):
        first = sf.limits()["DailyApiRequests"]
        sf.query("SELECT Id FROM Lead")
        second = sf.limits()["DailyApiRequests"]
        assert first["Max"] == second["Max"] == 100_000
        assert second["Remaining"] == first["Remaining"] - 2
        assert sf.api_usage["api-usage"].used == first["Max"] - second["Remaining"]

    def test_request_limit_exceeded_when_allowance_spent(self, sf, control):
        control("/_sandbox/settings", {"daily_api_max": 5, "api_usage_used": 4})
        sf.query("SELECT Id FROM Lead")
        with pytest.raises(SalesforceRefusedRequest) as exc:
            sf.query("SELECT Id FROM Lead")
        assert error_of(exc) == {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
