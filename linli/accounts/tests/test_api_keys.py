"""Integration API keys: shown once, stored hashed, scoped, revocable."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from linli.accounts.auth import ApiKeyAuth
from linli.accounts.choices import Permission
from linli.accounts.models import ApiKey
from linli.accounts.selectors import scope_for
from linli.accounts.services import api_key_authenticate, api_key_create, api_key_revoke
from linli.core.errors import ValidationFailed
from linli.core.models import AuditEntry


@pytest.fixture
def key_and_secret(users, tree):
    return api_key_create(actor=users.district_admin, name="12345 热线",
                          scopes=[Permission.VIEW_REGISTRY], areas=[tree.community_a])


@pytest.mark.django_db
def test_created_key_authenticates_and_sees_its_areas_only(key_and_secret, tree):
    # given
    key, secret = key_and_secret
    # when
    found = api_key_authenticate(raw=secret)
    # then
    assert found == key
    scope = scope_for(found)
    assert scope.grid_ids == {tree.grid_a1.pk, tree.grid_a2.pk}
    assert scope.can(Permission.VIEW_REGISTRY)
    assert not scope.can(Permission.REVEAL_PII)


@pytest.mark.django_db
def test_only_a_hash_of_the_secret_is_stored(key_and_secret):
    key, secret = key_and_secret
    row = ApiKey.objects.values().get(pk=key.pk)
    assert all(secret not in str(value) for value in row.values())
    # ll_<prefix>_<token>: the token itself may contain "_", so split twice only
    assert secret.split("_", 2)[2] not in str(row)


@pytest.mark.django_db
def test_revoked_key_is_refused_and_has_an_empty_scope(key_and_secret, users):
    # given
    key, secret = key_and_secret
    # when
    api_key_revoke(actor=users.district_admin, key=key)
    # then
    assert api_key_authenticate(raw=secret) is None
    assert scope_for(key).area_ids == frozenset()
    assert scope_for(key).permissions == frozenset()
    assert AuditEntry.objects.filter(action="apikey.revoke", target_id=str(key.pk)).count() == 1


@pytest.mark.django_db
def test_revoking_twice_keeps_the_first_time_and_one_audit_entry(key_and_secret, users):
    key, _secret = key_and_secret
    first = api_key_revoke(actor=users.district_admin, key=key).revoked_at
    again = api_key_revoke(actor=users.district_admin, key=key).revoked_at
    assert first == again
    assert AuditEntry.objects.filter(action="apikey.revoke").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["", "ll_nope", "x" * 200])
def test_unknown_secret_is_refused(key_and_secret, raw):
    assert api_key_authenticate(raw=raw) is None


@pytest.mark.django_db
def test_unknown_scope_is_refused_naming_the_field(users, tree):
    with pytest.raises(ValidationFailed) as info:
        api_key_create(actor=users.district_admin, name="x", scopes=["reveal_pii"], areas=[tree.street])
    assert info.value.field == "scopes"
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_api_header_authentication_uses_the_key(key_and_secret):
    # given
    key, secret = key_and_secret
    request = RequestFactory().get("/api/v1/areas", HTTP_X_API_KEY=secret)
    # when / then
    assert ApiKeyAuth()(request) == key
    assert ApiKeyAuth()(RequestFactory().get("/", HTTP_X_API_KEY="wrong")) is None


@pytest.mark.django_db
def test_cached_key_is_forgotten_at_once_when_revoked_in_this_process(key_and_secret, users, settings):
    # given a process that caches keys and has just seen this one
    settings.LINLI_API_KEY_CACHE_SECONDS = 60
    key, secret = key_and_secret
    assert api_key_authenticate(raw=secret) == key
    # when it is revoked here
    api_key_revoke(actor=users.district_admin, key=key)
    # then the next request with it is refused, cache or not
    assert api_key_authenticate(raw=secret) is None


@pytest.mark.django_db
def test_cached_key_answer_is_reread_after_the_cache_time(key_and_secret, settings, monkeypatch):
    import time

    # given a cached answer
    settings.LINLI_API_KEY_CACHE_SECONDS = 5
    key, secret = key_and_secret
    assert api_key_authenticate(raw=secret) == key
    # when another process revokes the key (the row changes behind this process's cache)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=key.created_at)
    # then within the cache time the answer stands, after it the key is refused
    assert api_key_authenticate(raw=secret) == key
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 6)
    assert api_key_authenticate(raw=secret) is None


@pytest.mark.django_db
def test_key_cache_is_off_when_the_cache_time_is_zero(key_and_secret, settings):
    settings.LINLI_API_KEY_CACHE_SECONDS = 0
    key, secret = key_and_secret
    assert api_key_authenticate(raw=secret) == key
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=key.created_at)
    assert api_key_authenticate(raw=secret) is None
