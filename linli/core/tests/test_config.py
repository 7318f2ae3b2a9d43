"""Strict configuration: a bad LINLI_* value stops start-up, naming the variable."""

from __future__ import annotations

import json
import stat

import pytest

from linli.config import (
    SECRETS_FILE,
    ConfigError,
    env_bool,
    env_database_url,
    env_int,
    load_secrets,
    new_key,
    secrets_discard_generated,
)

SECRET_VARIABLES = ("LINLI_SECRET_KEY", "LINLI_PII_KEYS", "LINLI_BLIND_INDEX_KEY", "LINLI_AUDIT_KEYS")


@pytest.fixture
def clean_env(monkeypatch):
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("raw", ["maybe", "2", "yes please"])
def test_bad_debug_value_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("LINLI_DEBUG", raw)
    with pytest.raises(ConfigError, match="LINLI_DEBUG") as info:
        env_bool("LINLI_DEBUG", default=False)
    assert info.value.variable == "LINLI_DEBUG"


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), (" off ", False), ("", False)])
def test_boolean_spellings_are_understood(monkeypatch, raw, expected):
    monkeypatch.setenv("LINLI_DEBUG", raw)
    assert env_bool("LINLI_DEBUG", default=not expected) is expected


def test_unset_variable_takes_the_default(monkeypatch):
    monkeypatch.delenv("LINLI_DEBUG", raising=False)
    assert env_bool("LINLI_DEBUG", default=True) is True


@pytest.mark.parametrize("raw", ["ten", "3.5", "0"])
def test_bad_or_too_small_integer_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("LINLI_LOCKOUT_MINUTES", raw)
    with pytest.raises(ConfigError, match="LINLI_LOCKOUT_MINUTES"):
        env_int("LINLI_LOCKOUT_MINUTES", default=15, minimum=1)


@pytest.mark.parametrize("url", ["mysql://u@h/db", "oracle://x", "/just/a/path", "http://x/y"])
def test_database_url_with_an_unsupported_scheme_names_the_variable(monkeypatch, url):
    monkeypatch.setenv("LINLI_DATABASE_URL", url)
    with pytest.raises(ConfigError, match="LINLI_DATABASE_URL"):
        env_database_url("LINLI_DATABASE_URL", default="sqlite:///x")


@pytest.mark.parametrize("url", ["sqlite:////tmp/x.sqlite3", "postgresql://u@127.0.0.1:5432/linli"])
def test_supported_database_urls_pass(monkeypatch, url):
    monkeypatch.setenv("LINLI_DATABASE_URL", url)
    assert env_database_url("LINLI_DATABASE_URL", default="sqlite:///x") == url


# Fixed keys so test ids are the same in every pytest-xdist worker.
_KEY_A = "A" * 43 + "="
_KEY_B = "B" * 43 + "="


@pytest.mark.parametrize("raw", [
    "k1",                           # no key material
    "k1:not-base64!!",              # not base64
    "k1:" + "QUJD",                 # 3 bytes, not 32
    f"k1:{_KEY_A},k1:{_KEY_B}",     # the same id twice
    f"k-1:{_KEY_A}",                # id with a separator in it
    " , ",                          # nothing at all
], ids=["no-material", "not-base64", "short", "duplicate-id", "bad-id", "empty"])
def test_bad_pii_keys_name_the_variable(clean_env, tmp_path, raw):
    clean_env.setenv("LINLI_PII_KEYS", raw)
    with pytest.raises(ConfigError, match="LINLI_PII_KEYS"):
        load_secrets(tmp_path, generate=True)


def test_first_pii_key_is_current_and_all_keys_decrypt(clean_env, tmp_path):
    clean_env.setenv("LINLI_PII_KEYS", f"k2:{new_key()},k1:{new_key()}")
    found = load_secrets(tmp_path, generate=True)
    assert found.pii_current_key == "k2"
    assert set(found.pii_keys) == {"k1", "k2"}


def test_short_secret_key_names_the_variable(clean_env, tmp_path):
    clean_env.setenv("LINLI_SECRET_KEY", "too-short")
    with pytest.raises(ConfigError, match="LINLI_SECRET_KEY"):
        load_secrets(tmp_path, generate=True)


def test_bad_blind_index_key_names_the_variable(clean_env, tmp_path):
    clean_env.setenv("LINLI_BLIND_INDEX_KEY", "QUJD")
    with pytest.raises(ConfigError, match="LINLI_BLIND_INDEX_KEY"):
        load_secrets(tmp_path, generate=True)


def test_missing_secrets_without_generation_name_the_variable(clean_env, tmp_path):
    with pytest.raises(ConfigError, match="LINLI_PII_KEYS"):
        load_secrets(tmp_path / "empty", generate=False)


def test_secrets_are_generated_private_and_reused(clean_env, tmp_path):
    # given an empty data folder
    data_dir = tmp_path / "data"
    # when loaded twice
    first = load_secrets(data_dir, generate=True)
    second = load_secrets(data_dir, generate=True)
    # then the file is readable by its owner only, and the same secrets come back
    path = data_dir / SECRETS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first == second
    assert len(first.secret_key) >= 32
    assert len(first.blind_index_key) == 32
    assert set(json.loads(path.read_text())) == set(SECRET_VARIABLES)


def test_environment_overrides_the_generated_file(clean_env, tmp_path):
    # given
    load_secrets(tmp_path, generate=True)
    # when
    clean_env.setenv("LINLI_SECRET_KEY", "x" * 40)
    # then
    assert load_secrets(tmp_path, generate=True).secret_key == "x" * 40


def test_an_upgrade_adds_the_missing_audit_key_to_an_existing_secrets_file(clean_env, tmp_path):
    # given a secrets file written by a linli without audit keys
    path = tmp_path / SECRETS_FILE
    old = {"LINLI_SECRET_KEY": "s" * 50, "LINLI_PII_KEYS": f"k1:{_KEY_A}", "LINLI_BLIND_INDEX_KEY": _KEY_B}
    path.write_text(json.dumps(old))
    # when
    found = load_secrets(tmp_path, generate=True)
    # then only the audit key is new; the old keys are untouched
    stored = json.loads(path.read_text())
    assert {k: stored[k] for k in old} == old
    assert stored["LINLI_AUDIT_KEYS"].startswith("a1:")
    assert found.generated == {"LINLI_AUDIT_KEYS"}
    assert found.audit_current_key == "a1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert found.sources["LINLI_PII_KEYS"] == str(path)


def test_keys_from_the_environment_are_not_generated_and_named_as_such(clean_env, tmp_path):
    # given every key in the environment
    clean_env.setenv("LINLI_SECRET_KEY", "e" * 40)
    clean_env.setenv("LINLI_PII_KEYS", f"k1:{_KEY_A}")
    clean_env.setenv("LINLI_BLIND_INDEX_KEY", _KEY_B)
    clean_env.setenv("LINLI_AUDIT_KEYS", f"a2:{_KEY_B},a1:{_KEY_A}")
    # when
    found = load_secrets(tmp_path, generate=True)
    # then
    assert not (tmp_path / SECRETS_FILE).exists()
    assert found.generated == frozenset()
    assert set(found.sources.values()) == {"environment"}
    assert (found.audit_current_key, set(found.audit_keys)) == ("a2", {"a1", "a2"})


def test_generated_keys_the_database_refused_are_moved_aside_or_taken_out(clean_env, tmp_path):
    # given a whole file generated at this start
    whole = load_secrets(tmp_path / "whole", generate=True)
    # when it is discarded
    aside = secrets_discard_generated(whole)
    # then it is out of the way, kept for inspection
    assert aside is not None
    assert aside.name.startswith(f"{SECRETS_FILE}.rejected-")
    assert not whole.path.exists()
    # given a file of which only the audit key was generated now
    (tmp_path / "part").mkdir()
    part_path = tmp_path / "part" / SECRETS_FILE
    part_path.write_text(json.dumps({"LINLI_SECRET_KEY": "s" * 50, "LINLI_PII_KEYS": f"k1:{_KEY_A}",
                                     "LINLI_BLIND_INDEX_KEY": _KEY_B}))
    part = load_secrets(tmp_path / "part", generate=True)
    # when / then only that key is taken out again
    assert secrets_discard_generated(part) is None
    assert set(json.loads(part_path.read_text())) == {"LINLI_SECRET_KEY", "LINLI_PII_KEYS", "LINLI_BLIND_INDEX_KEY"}
