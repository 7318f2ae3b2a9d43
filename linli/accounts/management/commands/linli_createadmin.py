"""``linli createadmin``: the first account, a district admin (or a superuser) for the district.

Interactive by default; ``--username U --password P --noinput`` for scripts. The password
must pass Django's validators (``AUTH_PASSWORD_VALIDATORS``). The creation is audited with
the command as the actor.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.accounts.choices import AssignmentKind, Role
from linli.accounts.models import User
from linli.accounts.services import user_create
from linli.core.actors import SystemActor
from linli.core.errors import ApplicationError
from linli.geo.choices import AreaLevel
from linli.geo.models import Area


class Command(BaseCommand):
    help = "Create a district admin bound to the root district area (or a superuser)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username")
        parser.add_argument("--password", help="only with --noinput; prefer the prompt")
        parser.add_argument("--display-name", default="")
        parser.add_argument("--district", help="district code, when there is more than one")
        parser.add_argument("--superuser", action="store_true",
                            help="also a Django superuser (every permission in the admin)")
        parser.add_argument("--noinput", "--no-input", action="store_true", dest="noinput")

    def handle(self, *args: Any, **options: Any) -> None:
        interactive = not options["noinput"]
        superuser: bool = options["superuser"]
        district = _district(options["district"], required=not superuser)
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
        areas = [(district, AssignmentKind.MEMBER)] if district else []
        try:
            user = user_create(
                actor=SystemActor("command:linli_createadmin"), username=username,
                password=password, role=Role.DISTRICT_ADMIN,
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


def _district(code: str | None, *, required: bool) -> Area | None:
    districts = Area.objects.filter(level=AreaLevel.DISTRICT, parent__isnull=True)
    if code:
        found = districts.filter(code=code).first()
        if found is None:
            raise CommandError(f"no district with code {code}")
        return found
    candidates = list(districts[:2])
    if len(candidates) > 1:
        raise CommandError("several districts exist: choose one with --district CODE")
    if not candidates and required:
        raise CommandError(
            "no district area yet: load the areas first (or run `linli demo`), "
            "or create a --superuser"
        )
    return candidates[0] if candidates else None
