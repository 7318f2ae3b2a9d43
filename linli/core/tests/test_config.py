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
)

SECRET_VARIABLES = ("LINLI_SECRET_KEY", "LINLI_PII_KEYS", "LINLI_BLIND_INDEX_KEY")


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
