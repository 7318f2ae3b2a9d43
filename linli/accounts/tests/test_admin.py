"""Django admin: district admins and superusers only; audit trail read-only; writes audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from linli.accounts.choices import Permission, Role
from linli.accounts.models import ApiKey, User
from linli.accounts.services import api_key_authenticate, user_create
from linli.core.actors import SystemActor
from linli.core.models import AuditEntry


@pytest.fixture
def admin_client(client, users):
    users.district_admin.is_staff = True
    users.district_admin.save()
    client.force_login(users.district_admin)
    return client


@pytest.fixture
def superuser_client(client, db):
    root = User.objects.create_superuser("root", password="Root-pass-2026", role="district_admin")
    client.force_login(root)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["street", "grid_worker_a1", "auditor"])
def test_non_admin_staff_cannot_enter_the_admin(client, users, who):
    # given even with is_staff set by mistake
    user = getattr(users, who)
    user.is_staff = True
    user.save()
    client.force_login(user)
    # when
    response = client.get(reverse("admin:accounts_user_changelist"))
    # then
    assert response.status_code in {302, 403}


@pytest.mark.django_db
def test_district_admin_manages_users_and_areas_but_not_the_audit_trail(admin_client):
    assert admin_client.get(reverse("admin:accounts_user_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:geo_area_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:core_auditentry_changelist")).status_code == 403


@pytest.mark.django_db
def test_user_created_by_service_as_district_admin_may_enter_the_admin(tree):
    user = user_create(actor=SystemActor("test"), username="boss2", password="x-Long-pass-2026",
                       role=Role.DISTRICT_ADMIN)
    other = user_create(actor=SystemActor("test"), username="st2", password="x-Long-pass-2026",
                        role=Role.STREET_STAFF)
    assert user.is_staff
    assert not other.is_staff


@pytest.mark.django_db
def test_audit_entries_are_read_only_even_for_a_superuser(superuser_client, users):
    # given one entry (users' creation wrote none: the fixture uses the ORM)
    user_create(actor=SystemActor("test"), username="x1", password=None, role=Role.STREET_STAFF)
    entry = AuditEntry.objects.get()
    # when / then
    assert superuser_client.get(reverse("admin:core_auditentry_changelist")).status_code == 200
    assert superuser_client.get(reverse("admin:core_auditentry_add")).status_code == 403
    assert superuser_client.post(reverse("admin:core_auditentry_delete", args=[entry.pk])).status_code == 403
    response = superuser_client.post(
        reverse("admin:core_auditentry_change", args=[entry.pk]), {"reason": "forged"})
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.reason == ""


@pytest.mark.django_db
def test_district_admin_cannot_edit_a_superuser_or_grant_superuser(admin_client, users):
    # given
    root = User.objects.create_superuser("root", password="Root-pass-2026")
    # when editing the superuser
    response = admin_client.post(reverse("admin:accounts_user_change", args=[root.pk]), {})
    # then
    assert response.status_code == 403
    # and the superuser box of another account is read-only
    page = admin_client.get(reverse("admin:accounts_user_change", args=[users.street.pk]))
    assert 'name="is_superuser"' not in page.content.decode()


@pytest.mark.django_db
def test_renaming_an_area_in_the_admin_is_audited_with_field_names(admin_client, tree):
    # when
    response = admin_client.post(reverse("admin:geo_area_change", args=[tree.street.pk]),
                                 {"name": "望江街道办事处"})
    # then
    assert response.status_code == 302
    tree.street.refresh_from_db()
    assert tree.street.name == "望江街道办事处"
    entry = AuditEntry.objects.get(action="admin.change")
    assert (entry.target_type, entry.target_id, entry.fields) == ("geo.area", str(tree.street.pk), ["name"])


@pytest.mark.django_db
def test_api_key_added_in_the_admin_goes_through_the_service(admin_client, tree):
    # when
    response = admin_client.post(reverse("admin:accounts_apikey_add"), {
        "name": "AI 摄像头厂商", "scopes": [Permission.VIEW_REGISTRY], "areas": [tree.grid_a1.pk],
    }, follow=True)
    # then the secret is shown once, and it works
    assert response.status_code == 200
    key = ApiKey.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    secret = next(m.split(":", 1)[1].strip() for m in shown if "ll_" in m)
    assert api_key_authenticate(raw=secret) == key
    assert list(key.areas.all()) == [tree.grid_a1]
    assert AuditEntry.objects.filter(action="apikey.create").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("name", [
    "admin:accounts_user_add", "admin:accounts_apikey_add", "admin:accounts_apikey_changelist",
    "admin:accounts_loginthrottle_changelist", "admin:geo_area_changelist",
])
def test_admin_pages_render_for_a_district_admin(admin_client, name):
    assert admin_client.get(reverse(name)).status_code == 200


@pytest.mark.django_db
def test_district_admin_creates_a_grid_worker_in_the_admin_without_staff_rights(admin_client):
    # when
    response = admin_client.post(reverse("admin:accounts_user_add"), {
        "username": "gw_new", "display_name": "新网格员", "role": Role.GRID_WORKER,
        "department": "", "usable_password": "true",
        "password1": "Grid-worker-2026", "password2": "Grid-worker-2026",
        "assignments-TOTAL_FORMS": "0", "assignments-INITIAL_FORMS": "0",
    })
    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="gw_new")
    assert not user.is_staff
    assert AuditEntry.objects.filter(action="admin.add", target_id=str(user.pk)).exists()


@pytest.mark.django_db
def test_district_admin_lifts_every_login_wait_of_the_selected_usernames(admin_client, users):
    # given waits of a source and of a known device of gw_a1, and an address counter
    from linli.accounts.models import LoginThrottle
    from linli.accounts.services import login_failure_record
    from linli.accounts.workflow import LoginClient

    for device in (None, "phone"):
        for _ in range(5):
            login_failure_record(client=LoginClient(username="gw_a1", ip="10.0.0.1", source="10.0.0.1", device=device))
    rows = LoginThrottle.objects.filter(key__in=["src:gw_a1|10.0.0.1", "ip:10.0.0.1"])
    # when the admin runs the action on the source's row (and the address row, which names nobody)
    response = admin_client.post(reverse("admin:accounts_loginthrottle_changelist"), {
        "action": "unlock", "_selected_action": [str(pk) for pk in rows.values_list("pk", flat=True)],
    })
    # then every counter of gw_a1 is gone, the address's stays, and it is audited
    assert response.status_code == 302
    assert set(LoginThrottle.objects.values_list("key", flat=True)) == {"ip:10.0.0.1"}
    assert AuditEntry.objects.filter(action="auth.unlock", target_id="gw_a1").count() == 1
