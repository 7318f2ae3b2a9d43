"""The ``linli`` console command: a thin wrapper over Django management commands.

No business logic lives here; every subcommand ends in a management command (or in granian
for serving), so what ``linli seed`` does is exactly what ``manage.py linli_seed`` does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import django
from django.conf import settings
from django.core.management import call_command, execute_from_command_line
from granian.constants import Interfaces
from granian.server import Server

SETTINGS_MODULE = "linli.settings"
Handler = Callable[[argparse.Namespace], int]
WSGI_TARGET = "linli.wsgi:application"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    django.setup()


def _manage(*argv: str) -> None:
    """Run one management command exactly as ``manage.py`` would (same parsing, same errors)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    execute_from_command_line(["linli", *argv])


def default_threads() -> int:
    """Python threads per web worker: a WSGI thread mostly waits on the database, and case
    intake commits the reports that wait together in one transaction (group commit), so
    more waiting threads make larger batches (docs/benchmarks.md: 5 → 16 threads took
    intake from ~220 to ~330 req/s). Each thread may hold a database connection: keep
    workers × threads below PostgreSQL's ``max_connections``."""
    return min(32, 8 * (os.cpu_count() or 1))


def _serve(*, host: str, port: int, workers: int, threads: int) -> None:
    """Serve the WSGI application with granian until interrupted (Ctrl-C / SIGTERM)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    server = Server(
        WSGI_TARGET,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        # Bounded: granian's default (backlog / 2) would allow hundreds of Python threads.
        blocking_threads=threads,
        backpressure=threads,
    )
    server.serve()


def _worker_command(extra: Sequence[str] = ()) -> list[str]:
    return [sys.executable, "-m", "linli.cli", "worker", *extra]


def _print_demo_banner(*, host: str, port: int, serving: bool) -> None:
    shown_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
    url = f"http://{shown_host}:{port}/"
    from linli.demo.selectors import demo_accounts  # needs Django set up

    print("\ndemo accounts (one per role):")
    print(f"  {'username':<12} {'password':<12} {'role':<16} area")
    for account in demo_accounts(one_per_role=True):
        print(f"  {account.username:<12} {account.password:<12} {account.role_label:<16} {account.area}")
    if serving:
        print(f"\nlinli demo: open {url} and log in with one of these accounts.")
        print("Stop with Ctrl-C. The data stays in the data folder; the next run reuses it.\n")
    else:
        print(f"\nlinli demo: ready. `linli serve` and `linli worker` serve it at {url}\n")


def cmd_demo(args: argparse.Namespace) -> int:
    """Migrate, collect static files, seed the demo street once, then serve it with a worker."""
    _setup_django()
    print("linli demo: migrating the database …", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    print("linli demo: seeding the demo street if the database is empty …", flush=True)
    call_command("linli_demo_seed_if_empty")
    print("linli demo: service catalogue, case history and departmental exports if missing …", flush=True)
    call_command("linli_demo_extras")
    call_command("linli_demo_exports", "--if-missing")
    print("linli demo: importing the departmental exports (all but 计生) if no import has run …", flush=True)
    call_command("linli_demo_imports")
    _print_demo_banner(host=args.host, port=args.port, serving=not args.no_serve)
    if args.no_serve:
        return 0
    # The worker runs in its own process so tasks enqueued by the web server get done.
    worker = subprocess.Popen(_worker_command())  # noqa: S603 — our own interpreter and module
    try:
        _serve(host=args.host, port=args.port, workers=1, threads=default_threads())
    finally:
        _stop(worker)
    return 0


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cmd_serve(args: argparse.Namespace) -> int:
    _setup_django()
    # WhiteNoise warns on every start when the folder is missing (before collectstatic).
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    _serve(host=args.host, port=args.port, workers=args.workers, threads=args.threads)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _manage("db_worker", *args.rest)
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    options = [f"--{name}={value}" for name, value in
               (("residents", args.residents), ("seed", args.seed)) if value is not None]
    _manage("linli_seed", *options, *args.rest)
    return 0


def cmd_createadmin(args: argparse.Namespace) -> int:
    _manage("linli_createadmin", *args.rest)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    _manage("linli_audit", args.action, *args.rest)
    return 0


def cmd_areas(args: argparse.Namespace) -> int:
    _manage("linli_areas_load", *args.rest)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    _manage("linli_import", *args.rest)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    _manage("migrate", *args.rest)
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    _manage(*args.rest)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``linli`` parser. Unknown options of pass-through commands go to the Django command."""
    parser = argparse.ArgumentParser(
        prog="linli",
        description="邻里 linli — platform for street offices and communities.",
        epilog="Options not listed here are passed on to the management command "
               "(e.g. `linli worker --help`, `linli seed --residents 1000 --street-only`).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, text: str, *, passthrough: bool = False,
            own_help: bool = True) -> argparse.ArgumentParser:
        command: argparse.ArgumentParser = sub.add_parser(
            name, help=text, description=text, add_help=own_help)
        command.set_defaults(handler=handler, passthrough=passthrough, rest=[])
        return command

    demo = add("demo", cmd_demo, "migrate, seed the demo street if empty, serve it with a worker")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--no-serve", action="store_true", help="prepare the data, do not serve")

    serve = add("serve", cmd_serve, "serve the web application with granian (WSGI)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="web processes (PostgreSQL: more)")
    serve.add_argument("--threads", type=int, default=default_threads(),
                       help="Python threads per web process (default: 8 x CPUs, at most 32)")

    # Their --help is the management command's own, so it is not swallowed here.
    add("worker", cmd_worker, "run the background task worker (db_worker)",
        passthrough=True, own_help=False)
    add("createadmin", cmd_createadmin, "create a district administrator (and the district on a fresh site)",
        passthrough=True, own_help=False)
    add("migrate", cmd_migrate, "apply database migrations", passthrough=True, own_help=False)
    add("import", cmd_import, "import a departmental export: linli import SOURCE FILE [--dry-run]",
        passthrough=True, own_help=False)
    add("manage", cmd_manage, "run any Django management command: linli manage <command> …",
        passthrough=True, own_help=False)

    seed = add("seed", cmd_seed, "generate a synthetic street (linli_seed)", passthrough=True)
    seed.add_argument("--residents", type=int, help="default: the demo street's 74,000")
    seed.add_argument("--seed", type=int, help="random seed (same seed, same street)")

    areas = add("areas", cmd_areas, "area tree: linli areas load FILE [--dry-run] (GeoJSON or CSV)",
                passthrough=True)
    areas.add_argument("action", choices=["load"])

    audit = add("audit", cmd_audit, "audit log: verify the MAC chain, write a checkpoint, or tail it",
                passthrough=True)
    audit.add_argument("action", choices=["verify", "checkpoint", "tail"])
    return parser


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not args.passthrough:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.rest = [*args.rest, *unknown]
    return args


def _keys_refused() -> str | None:
    """The key check (linli/core/key_check.py) before any command: the refusal's message when
    the configured keys cannot read the database."""
    _setup_django()
    from linli.core.key_check import keys_refused_at_start

    return keys_refused_at_start()


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    args = parse(argv)
    handler: Handler = args.handler
    refused = _keys_refused()
    if refused:
        print(refused, file=sys.stderr)
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
