"""``linli_createadmin``: the first district admin (or superuser), validated and audited."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from linli.accounts.choices import Role
from linli.accounts.models import User
from linli.accounts.selectors import scope_for
from linli.core.models import AuditEntry
from linli.geo.choices import AreaLevel
from linli.geo.models import Area

GOOD = "Wangjiang-2026-admin"
SAMPLE = Path(__file__).resolve().parents[2] / "geo" / "samples" / "areas-example.csv"


def create(*args: str) -> str:
    out = StringIO()
    call_command("linli_createadmin", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_noinput_creates_a_district_admin_bound_to_the_district(tree):
    # when
    out = create("--username", "boss", "--password", GOOD, "--noinput")
    # then
    user = User.objects.get(username="boss")
    assert "created district admin boss for 上城区 (330102)" in out
    assert user.role == Role.DISTRICT_ADMIN
    assert user.is_staff
    assert not user.is_superuser
    assert user.check_password(GOOD)
    assert user.password.startswith("argon2")
    assert scope_for(user).area_ids >= {tree.district.pk, tree.grid_b1.pk}
    entry = AuditEntry.objects.get(action="user.create")
    assert entry.actor_label == "command:linli_createadmin"
    assert GOOD not in str(entry.fields) + entry.reason


@pytest.mark.django_db
def test_superuser_flag_creates_a_superuser_even_without_areas():
    create("--username", "root", "--password", GOOD, "--noinput", "--superuser")
    user = User.objects.get(username="root")
    assert user.is_superuser
    assert user.is_staff


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["short", "12345678901234", "qwertyuiop", "boss12"])
def test_weak_password_is_refused_and_nothing_is_created(tree, password):
    with pytest.raises(CommandError, match="password refused"):
        create("--username", "boss", "--password", password, "--noinput")
    assert not User.objects.filter(username="boss").exists()


@pytest.mark.django_db
def test_district_admin_needs_a_district():
    with pytest.raises(CommandError, match="no district area"):
        create("--username", "boss", "--password", GOOD, "--noinput")


@pytest.mark.django_db
def test_several_districts_need_a_choice(tree):
    # given a second root district
    other = Area.objects.create(level=AreaLevel.DISTRICT, code="330105", name="拱墅区", path="")
    other.path = f"/{other.pk}/"
    other.save()
    # when / then
    with pytest.raises(CommandError, match="--district"):
        create("--username", "boss", "--password", GOOD, "--noinput")
    create("--username", "boss", "--password", GOOD, "--noinput", "--district", "330105")
    assert scope_for(User.objects.get(username="boss")).area_ids == {other.pk}


@pytest.mark.django_db
def test_existing_username_is_refused(users):
    with pytest.raises(CommandError, match="username"):
        create("--username", "ADMIN", "--password", GOOD, "--noinput")


@pytest.mark.django_db
def test_noinput_without_password_is_refused(tree):
    with pytest.raises(CommandError, match="--password"):
        create("--username", "boss", "--noinput")


@pytest.mark.django_db
def test_interactive_prompts_for_username_and_password_twice(tree, monkeypatch):
    # given
    monkeypatch.setattr("builtins.input", lambda prompt: "boss")
    answers = iter(["mismatch-1-Aa", "mismatch-2-Aa", GOOD, GOOD])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    # when
    create()
    # then
    assert User.objects.get(username="boss").check_password(GOOD)


@pytest.mark.django_db
def test_on_an_empty_database_the_district_is_created_with_its_administrator():
    # given a fresh database: no area at all
    assert not Area.objects.exists()
    # when
    out = create("--username", "boss", "--password", GOOD, "--noinput", "--district", "330105",
                 "--district-name", "拱墅区")
    # then
    district = Area.objects.get(code="330105")
    assert (district.level, district.name, district.path) == (AreaLevel.DISTRICT, "拱墅区", f"/{district.pk}/")
    assert "created district admin boss for 拱墅区 (330105)" in out
    assert scope_for(User.objects.get(username="boss")).area_ids == {district.pk}
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {"area.create", "user.create", "user.assign_area"}


@pytest.mark.django_db
def test_on_an_empty_database_the_prompts_ask_for_the_district(monkeypatch):
    # given
    answers = iter(["330105", "拱墅区", "boss"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    monkeypatch.setattr("getpass.getpass", lambda prompt: GOOD)
    # when
    create()
    # then
    assert scope_for(User.objects.get(username="boss")).area_ids == {Area.objects.get(code="330105").pk}


@pytest.mark.django_db
def test_a_bad_district_code_creates_neither_district_nor_account():
    with pytest.raises(CommandError, match="code"):
        create("--username", "boss", "--password", GOOD, "--noinput", "--district", "33010",
               "--district-name", "拱墅区")
    assert not Area.objects.exists()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_after_loading_the_areas_the_loaded_district_is_used():
    # given a district's areas loaded from the sample file
    call_command("linli_areas_load", str(SAMPLE), stdout=StringIO())
    # when
    out = create("--username", "boss", "--password", GOOD, "--noinput")
    # then
    assert "for 上城区 (330102)" in out
    assert len(scope_for(User.objects.get(username="boss")).grid_ids) == 4
