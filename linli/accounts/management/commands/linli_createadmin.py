"""``linli createadmin``: the first account, a district admin (or a superuser) for the district.

Interactive by default; ``--username U --password P --noinput`` for scripts. The password
must pass Django's validators (``AUTH_PASSWORD_VALIDATORS``). The creation is audited with
the command as the actor.

On a fresh, empty database the district is created too: ``--district CODE --district-name
NAME`` (or the prompts ask for them). With areas loaded (``linli areas load``) the single
district is used, or the one ``--district`` names.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import QuerySet

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import User
from linli.accounts.services import user_create
from linli.core.actors import SystemActor
from linli.core.errors import ApplicationError
from linli.geo.choices import AreaLevel
from linli.geo.models import Area
from linli.geo.services import area_create


class Command(BaseCommand):
    help = "Create a district admin bound to the root district area (or a superuser)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username")
        parser.add_argument("--password", help="only with --noinput; prefer the prompt")
        parser.add_argument("--display-name", default="")
        parser.add_argument("--district", help="district code: the one to bind, or the one to create")
        parser.add_argument("--district-name", default="",
                            help="name of the district to create when no district with that code exists")
        parser.add_argument("--superuser", action="store_true",
                            help="also a Django superuser (every permission in the admin)")
        parser.add_argument("--noinput", "--no-input", action="store_true", dest="noinput")

    def handle(self, *args: Any, **options: Any) -> None:
        interactive = not options["noinput"]
        superuser: bool = options["superuser"]
        code: str = (options["district"] or "").strip()
        name: str = options["district_name"].strip()
        if interactive and not superuser and not _districts().exists():
            code = code or input("No district yet. District code (6 digits, e.g. 330102): ").strip()
            name = name or input("District name (e.g. 上城区): ").strip()
        # A district to create (``code`` and ``name`` of a code not in use), else an existing one.
        new_district = bool(code and name) and not _districts().filter(code=code).exists()
        district = None if new_district else _district(code or None, required=not superuser)
        username: str = options["username"] or ""
        password: str = options["password"] or ""
        if interactive:
            username = username or input("Username: ").strip()
            password = password or self._prompt_password()
        if not username:
            raise CommandError("--username is required")
        if not password:
            raise CommandError("--password is required with --noinput")
        try:
            # The validators compare the password with the username, hence an unsaved user.
            validate_password(password, user=User(username=username))
        except ValidationError as exc:
            raise CommandError("password refused: " + " ".join(exc.messages)) from None
        actor = SystemActor("command:linli_createadmin")
        try:
            # The district (when new) and its administrator commit together or not at all.
            with transaction.atomic():
                if new_district:
                    district = area_create(actor=actor, level=AreaLevel.DISTRICT, code=code, name=name, parent=None)
                areas = [(district, AssignmentKind.MEMBER)] if district else []
                user = user_create(
                    actor=actor, username=username, password=password, role=Role.DISTRICT_ADMIN,
                    display_name=options["display_name"] or username, areas=areas,
                    is_superuser=superuser,
                )
        except ApplicationError as exc:
            raise CommandError(f"{exc.field or 'error'}: {exc.message}") from None
        kind = "superuser" if superuser else "district admin"
        where = f" for {district.name} ({district.code})" if district else ""
        self.stdout.write(f"created {kind} {user.username}{where}")

    def _prompt_password(self) -> str:
        for _attempt in range(3):
            first = getpass.getpass("Password: ")
            if first and first == getpass.getpass("Password (again): "):
                return first
            self.stderr.write("Passwords do not match or are empty; try again.")
        raise CommandError("no password given")


def _districts() -> QuerySet[Area]:
    return Area.objects.filter(level=AreaLevel.DISTRICT, parent__isnull=True)


def _district(code: str | None, *, required: bool) -> Area | None:
    districts = _districts()
    if code:
        found = districts.filter(code=code).first()
        if found is None:
            raise CommandError(f"no district with code {code}: give --district-name NAME to create it")
        return found
    candidates = list(districts[:2])
    if len(candidates) > 1:
        raise CommandError("several districts exist: choose one with --district CODE")
    if not candidates and required:
        raise CommandError(
            "no district area yet: give --district CODE --district-name NAME to create it, "
            "or load the areas first (`linli areas load FILE`)"
        )
    return candidates[0] if candidates else None
