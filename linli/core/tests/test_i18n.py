"""The English catalogue: complete, compiled, placeholder-safe, and used when chosen.

The msgids are Chinese, so a missing English entry would silently show Chinese in the English
workbench; these tests read the committed .po/.mo directly to catch that.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from conftest import Users

LOCALE_DIR = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"
NAMED_PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]")
_LINE = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"\s*$')
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


@dataclass
class PoEntry:
    """One message of the .po file: msgid (and plural), translations, flags."""

    msgid: str = ""
    msgid_plural: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def read_po(path: Path) -> list[PoEntry]:
    """Every live (not obsolete) entry except the header."""
    entries: list[PoEntry] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8").strip()):
        entry = PoEntry()
        parts: dict[str, str] = {}
        current = ""
        for line in block.splitlines():
            if line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif match := _LINE.match(line):
                current = match.group(1)
                parts[current] = _unescape(match.group(2))
            elif line.startswith('"') and current:
                parts[current] += _unescape(line.strip()[1:-1])
        if "msgid" not in parts or parts["msgid"] == "":
            continue
        entry.msgid = parts["msgid"]
        entry.msgid_plural = parts.get("msgid_plural")
        entry.msgstrs = [value for key, value in sorted(parts.items()) if key.startswith("msgstr")]
        entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def po_entries() -> list[PoEntry]:
    return read_po(PO_FILE)


def test_english_catalogue_has_entries_and_none_is_fuzzy(po_entries: list[PoEntry]) -> None:
    # then: a fuzzy entry is skipped by msgfmt, so it would show Chinese
    assert len(po_entries) > 500
    assert [e.msgid for e in po_entries if "fuzzy" in e.flags] == []


def test_every_english_entry_is_translated(po_entries: list[PoEntry]) -> None:
    # then
    untranslated = [e.msgid for e in po_entries if not e.msgstrs or not all(s.strip() for s in e.msgstrs)]
    assert untranslated == []


def test_plural_entries_have_both_english_forms(po_entries: list[PoEntry]) -> None:
    # then
    plurals = [e for e in po_entries if e.msgid_plural is not None]
    assert plurals
    assert [e.msgid for e in plurals if len(e.msgstrs) != 2] == []


def test_translations_keep_the_named_placeholders(po_entries: list[PoEntry]) -> None:
    # then: a lost or renamed %(name)s raises KeyError or drops a value at run time
    broken = []
    for entry in po_entries:
        expected = set(NAMED_PLACEHOLDER.findall(entry.msgid))
        for text in entry.msgstrs:
            found = set(NAMED_PLACEHOLDER.findall(text))
            # English singular may say "one …" without the count; anything else must match.
            if found != expected and not (entry.msgid_plural is not None and found <= expected):
                broken.append(entry.msgid)
    assert broken == []


@pytest.mark.skipif(shutil.which("xgettext") is None and not os.environ.get("CI"), reason="gettext not installed")
def test_the_catalogue_holds_every_message_the_code_marks(tmp_path: Path, settings: Any) -> None:
    # given the committed catalogue copied aside, refreshed from the sources as makemessages does
    copy = tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po"
    copy.parent.mkdir(parents=True)
    shutil.copy(PO_FILE, copy)
    settings.LOCALE_PATHS = [str(tmp_path / "locale")]
    project = Path(settings.PROJECT_DIR)  # where the documented makemessages runs
    here = Path.cwd()
    try:
        os.chdir(project)
        # The committed catalogue's folder ignored: makemessages would otherwise write there.
        call_command("makemessages", locale=["en"], verbosity=0,
                     ignore_patterns=[".venv/*", "node_modules/*", ".test-data/*", "linli/locale"])
    finally:
        os.chdir(here)
    # then: a message added to the code without an English entry comes back empty or fuzzy
    refreshed = read_po(copy)
    missing = [e.msgid for e in refreshed if "fuzzy" in e.flags or not e.msgstrs or not all(s.strip() for s in e.msgstrs)]
    assert missing == []


def test_compiled_catalogue_matches_the_po_file(po_entries: list[PoEntry]) -> None:
    # given
    with MO_FILE.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    # then: every .po entry is in the committed .mo with a non-empty translation
    stale = []
    for entry in po_entries:
        if entry.msgid_plural is None:
            if not compiled.gettext(entry.msgid).strip() or compiled.gettext(entry.msgid) != entry.msgstrs[0]:
                stale.append(entry.msgid)
        elif compiled.ngettext(entry.msgid, entry.msgid_plural, 2) != entry.msgstrs[1]:
            stale.append(entry.msgid)
    assert stale == []


def test_django_translates_a_message_when_english_is_active() -> None:
    # when
    with translation.override("en"):
        text = translation.gettext("登录工作台")
    # then
    assert text == "Log in to the workbench"


@pytest.mark.django_db
def test_login_page_renders_in_english_with_the_language_cookie(client: Client) -> None:
    # given
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    # when
    body = client.get(reverse("web:login")).content.decode()
    # then
    assert "Log in to the workbench" in body
    assert "登录工作台" not in body
    assert "Username" in body


@pytest.mark.django_db
def test_login_page_renders_in_chinese_without_the_cookie(client: Client) -> None:
    # when
    body = client.get(reverse("web:login")).content.decode()
    # then
    assert "登录工作台" in body
    assert "Log in to the workbench" not in body


def test_home_page_renders_in_english_with_the_language_cookie(client: Client, users: Users) -> None:
    # given
    client.force_login(users.street)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    # when
    body = client.get(reverse("web:home")).content.decode()
    # then
    assert "Area overview" in body
    assert "Log out" in body
    assert "辖区概况" not in body
