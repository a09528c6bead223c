"""The French catalog: complete, faithful to its placeholders, compiled, and used by the admin."""

from __future__ import annotations

import ast
import gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import translation

LOCALE = Path(__file__).resolve().parents[1] / "locale" / "fr" / "LC_MESSAGES"
PO = LOCALE / "django.po"
MO = LOCALE / "django.mo"

# What must survive translation untouched: printf placeholders (named or not, with flags and
# precision), literal percents, str.format fields and HTML tags.
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdif]|%%|\{[^{}]*\}|<[^<>]+>")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    line: int = 0


def parse_po(text: str) -> list[Entry]:
    """A .po reader for what makemessages writes: comments, flags, (plural) msgid/msgstr, continuations."""
    entries: list[Entry] = []
    current = Entry()
    target: tuple[str, int] | None = None

    def flush() -> None:
        nonlocal current, target
        if target is not None:
            entries.append(current)
        current, target = Entry(), None

    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            flush()
        elif line.startswith("#~"):
            current.obsolete = True
        elif line.startswith("#,"):
            current.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert target is not None, f"line {number}: continuation without a keyword"
            value = ast.literal_eval(line)
            if target[0] == "msgstr":
                current.msgstr[target[1]] += value
            else:
                setattr(current, target[0], getattr(current, target[0]) + value)
        else:
            match = re.fullmatch(r"(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])? (\".*\")", line)
            assert match, f"line {number}: cannot read {line!r}"
            keyword, index, value = match.group(1), int(match.group(2) or 0), ast.literal_eval(match.group(3))
            if keyword == "msgid":
                current.line = number
            if keyword == "msgstr":
                current.msgstr[index] = value
            else:
                setattr(current, keyword, value)
            target = (keyword, index)
    flush()
    return entries


@pytest.fixture(scope="module")
def catalog() -> list[Entry]:
    return parse_po(PO.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def messages(catalog: list[Entry]) -> list[Entry]:
    return [e for e in catalog if e.msgid and not e.obsolete]


def test_parser_reads_plurals_and_continuations():
    sample = (
        'msgid ""\nmsgstr "Language: fr\\n"\n\n'
        '#, python-format\nmsgid "%(n)s record"\nmsgid_plural "%(n)s records"\n'
        'msgstr[0] "%(n)s enregistrement"\nmsgstr[1] ""\n"%(n)s enregistrements"\n\n'
        '#, fuzzy\nmsgid "A"\nmsgstr "B"\n'
    )
    header, plural, fuzzy = parse_po(sample)
    assert header.msgstr == {0: "Language: fr\n"}
    assert plural.msgid_plural == "%(n)s records"
    assert plural.msgstr == {0: "%(n)s enregistrement", 1: "%(n)s enregistrements"}
    assert "fuzzy" in fuzzy.flags


def test_header_declares_french_utf8_and_two_plural_forms(catalog: list[Entry]):
    header = catalog[0]
    assert header.msgid == "" and "fuzzy" not in header.flags
    text = header.msgstr[0]
    assert "Language: fr\n" in text
    assert "charset=UTF-8" in text
    assert "Plural-Forms: nplurals=2; plural=(n > 1);" in text


def test_catalog_is_not_a_stub(messages: list[Entry]):
    assert len(messages) > 700
    assert sum(1 for e in messages if e.msgid_plural) >= 10


def test_every_message_is_translated_and_none_is_fuzzy(messages: list[Entry]):
    untranslated = [
        e.msgid
        for e in messages
        if sorted(e.msgstr) != ([0, 1] if e.msgid_plural else [0]) or not all(s.strip() for s in e.msgstr.values())
    ]
    assert not untranslated, untranslated
    assert not [e.msgid for e in messages if "fuzzy" in e.flags]


def test_placeholders_html_and_edge_whitespace_survive(messages: list[Entry]):
    problems = []
    for e in messages:
        sources = [e.msgid, e.msgid_plural] if e.msgid_plural else [e.msgid]
        for index, translated in sorted(e.msgstr.items()):
            source = sources[min(index, len(sources) - 1)]
            expected, got = Counter(PLACEHOLDER.findall(source)), Counter(PLACEHOLDER.findall(translated))
            if expected != got:
                problems.append((e.line, source, translated))
            for edge in (str.startswith, str.endswith):
                for blank in ("\n", " "):
                    if edge(source, blank) != edge(translated, blank):
                        problems.append((e.line, source, translated))
    assert not problems, problems


def test_compiled_catalog_matches_the_po(messages: list[Entry]):
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for e in messages:
        if e.msgid_plural:
            pairs = [(compiled.ngettext(e.msgid, e.msgid_plural, 1), e.msgstr[0])]
            pairs.append((compiled.ngettext(e.msgid, e.msgid_plural, 2), e.msgstr[1]))
        else:
            pairs = [(compiled.gettext(e.msgid), e.msgstr[0])]
        stale += [e.msgid for got, want in pairs if got != want]
    assert not stale, "django.mo is older than django.po: run compilemessages -l fr. " + repr(stale[:5])


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("Limit syncs", "Limiter les synchronisations"),
        ("+ Create inclusion list", "+ Créer une liste d'inclusion"),
        ("Contacts and lists", "Contacts et listes"),
        ("Connected apps", "Applications connectées"),
        ("Sync", "Synchronisation"),
        ("Sync settings", "Paramètres de synchronisation"),
        ("Inclusion list", "Liste d'inclusion"),
        ("Sync log", "Journal de synchronisation"),
        ("Sync health", "État de la synchronisation"),
        ("Save", "Enregistrer"),
    ],
)
def test_key_strings_come_out_in_hubspot_french(english: str, french: str):
    with translation.override("fr"):
        assert translation.gettext(english) == french
    with translation.override("en"):
        assert translation.gettext(english) == english


def test_plural_follows_french_rules():
    with translation.override("fr"):
        assert translation.ngettext("%(count)s contact", "%(count)s contacts", 0) % {"count": 0} == "0 contact"
        assert translation.ngettext("%(count)s contact", "%(count)s contacts", 1) % {"count": 1} == "1 contact"
        assert translation.ngettext("%(count)s contact", "%(count)s contacts", 2) % {"count": 2} == "2 contacts"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/admin/", ["Contacts et listes", "Applications connectées", "Synchronisation"]),
        ("/admin/sync/health/", ["État de la synchronisation", "Erreurs par catégorie", "Exécutions récentes"]),
        ("/admin/lists/contactlist/add/", ["Critères", "Aperçu", "+ Ajouter un groupe de filtres"]),
    ],
)
def test_admin_pages_render_in_french(admin_client, url: str, expected: list[str]):
    response = admin_client.get(url, headers={"accept-language": "fr"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="fr"' in html
    for text in expected:
        assert text in html, text


@pytest.mark.django_db
def test_health_page_and_sync_log_in_french_from_the_project_catalog(admin_client):
    from sync.models import Category
    from tests.sync.factories import SyncRecordFactory

    SyncRecordFactory.create_batch(3, failed=True, category=Category.DUPLICATE, error_code="DUPLICATES_DETECTED")
    html = admin_client.get("/admin/sync/health/", headers={"accept-language": "fr"}).content.decode()
    for text in (
        "3 enregistrements sont en échec actuellement.",
        "enregistrements concernés",
        "3 erreurs en 24 h",
        "Exporter les erreurs (CSV)",
        "Utilisation de l'API Salesforce",
        "Aucune synchronisation en cours.",
        "Doublon",
    ):
        assert text in html, text
    log = admin_client.get("/admin/sync/syncrecord/", headers={"accept-language": "fr"}).content.decode()
    assert "Journal de synchronisation" in log and "Resynchroniser la sélection" in log
    assert "3 enregistrements" in log


@pytest.mark.django_db
def test_the_language_switch_in_the_header_turns_every_admin_page_french_and_back(admin_client):
    page = admin_client.get("/admin/sync/health/").content.decode()
    assert 'name="language" value="fr"' in page and "Français" in page

    response = admin_client.post("/i18n/setlang/", {"language": "fr", "next": "/admin/sync/health/"})
    assert response.status_code == 302 and response["Location"] == "/admin/sync/health/"
    french = admin_client.get("/admin/sync/health/").content.decode()
    assert 'lang="fr"' in french and "État de la synchronisation" in french
    assert 'name="language" value="en"' in french and "English" in french

    admin_client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    assert "Sync health" in admin_client.get("/admin/sync/health/").content.decode()
