"""The ops view in French, from the project's catalog (``locale/fr``): the msgids match what the
pages ask for."""

from __future__ import annotations

import pytest

from sync.models import Category
from tests.sync.factories import SyncRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def french(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_health_page_and_log_in_french(french, admin_client):
    SyncRecordFactory.create_batch(3, failed=True, category=Category.DUPLICATE, error_code="DUPLICATES_DETECTED")
    html = admin_client.get("/admin/sync/health/", headers={"accept-language": "fr"}).content.decode()
    for text in (
        "État de la synchronisation",
        "Erreurs par catégorie",
        "3 enregistrements sont en échec actuellement.",
        "enregistrements concernés",
        "3 erreurs en 24 h",
        "Exporter les erreurs (CSV)",
        "Utilisation de l'API Salesforce",
        "Aucune synchronisation en cours.",
        "Synchronisés",
    ):
        assert text in html, text
    log = admin_client.get("/admin/sync/syncrecord/", headers={"accept-language": "fr"}).content.decode()
    assert "Journal de synchronisation" in log and "Resynchroniser la sélection" in log
    assert "3 enregistrements" in log
