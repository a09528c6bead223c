"""The ops view in French: ``sync/locale_fr.txt`` compiled into a catalog renders the pages in French.

The lead merges ``locale_fr.txt`` into the project's catalog; this test compiles it on its own
(a GNU .mo written here, no gettext tools needed) to check the msgids match what the pages ask for.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from sync.models import Category
from tests.sync.factories import SyncRecordFactory

pytestmark = pytest.mark.django_db

SOURCE = Path(__file__).resolve().parents[2] / "sync" / "locale_fr.txt"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def entries() -> list[tuple[str, str]]:
    """(key, value) pairs as a .mo stores them: plurals joined by NUL."""
    out = [("", "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n > 1);\n")]
    for line in SOURCE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        assert len(parts) in (2, 4), line
        if len(parts) == 2:
            out.append((parts[0], parts[1]))
        else:
            out.append((f"{parts[0]}\0{parts[1]}", f"{parts[2]}\0{parts[3]}"))
    return out


def write_mo(path: Path, pairs: list[tuple[str, str]]) -> None:
    pairs = sorted(pairs)
    keys = [k.encode() for k, _v in pairs]
    values = [v.encode() for _k, v in pairs]
    start = 7 * 4 + 16 * len(pairs)
    key_table, value_table, blob = [], [], b""
    for data, table in ((keys, key_table), (values, value_table)):
        for item in data:
            table.append((len(item), start + len(blob)))
            blob += item + b"\0"
    header = struct.pack("Iiiiiii", 0x950412DE, 0, len(pairs), 7 * 4, 7 * 4 + 8 * len(pairs), 0, 0)
    tables = b"".join(struct.pack("ii", *t) for t in key_table + value_table)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + tables + blob)


def test_every_line_is_well_formed_and_keeps_its_placeholders():
    for key, value in entries()[1:]:
        for original, translated in zip(key.split("\0"), value.split("\0"), strict=False):
            assert translated.strip(), key
            assert set(PLACEHOLDER.findall(original)) <= set(PLACEHOLDER.findall(translated)) | {"n"}, key
            assert original.count("%%") == translated.count("%%"), key


@pytest.fixture
def french(tmp_path, settings):
    write_mo(tmp_path / "fr" / "LC_MESSAGES" / "django.mo", entries())
    settings.LOCALE_PATHS = [tmp_path, *settings.LOCALE_PATHS]
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
