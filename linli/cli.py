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

from linli.config import ConfigError, env_int, load_env_file

SETTINGS_MODULE = "linli.settings"
Handler = Callable[[argparse.Namespace], int]


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    django.setup()


def _manage(*argv: str) -> None:
    """Run one management command exactly as ``manage.py`` would (same parsing, same errors)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    execute_from_command_line(["linli", *argv])


def default_threads() -> int:
    """Python threads per web worker (``LINLI_WEB_THREADS``, default 8 × CPUs, at most 32): a
    WSGI thread mostly waits on the database, and case intake commits the reports that wait
    together in one transaction (group commit), so more waiting threads make larger batches
    (docs/benchmarks.md). Each thread may hold a database connection: the budget check
    ``linli.W010`` compares workers × threads with PostgreSQL's ``max_connections``."""
    return env_int("LINLI_WEB_THREADS", default=min(32, 8 * (os.cpu_count() or 1)), minimum=1)


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
        print("Stop with Ctrl-C. The data stays in the data folder; the next run reuses it.\n", flush=True)
    else:
        print(f"\nlinli demo: ready. `linli run` (or `linli serve` and `linli worker`) serves it at {url}\n")


def _demo_prepare(args: argparse.Namespace, *, serving: bool) -> None:
    """Migrate, collect static files, seed what is missing. Runs the Polars imports, so it
    runs in a process of its own that ends before anything is served (issue #15.3)."""
    _setup_django()
    size = [f"--residents={args.residents}"] if args.residents else []
    print("linli demo: migrating the database …", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    print("linli demo: seeding the demo street if the database is empty …", flush=True)
    call_command("linli_demo_seed_if_empty", "--no-accounts", *size)
    print("linli demo: service catalogue, case history and departmental exports if missing …", flush=True)
    call_command("linli_demo_extras", *size)
    call_command("linli_demo_exports", "--if-missing", *size)
    print("linli demo: importing the departmental exports (all but 计生) if no import has run …", flush=True)
    call_command("linli_demo_imports")
    call_command("linli_portal_demo")
    _print_demo_banner(host=args.host, port=args.port, serving=serving)


def cmd_demo(args: argparse.Namespace) -> int:
    """Prepare the demo in a child process, then supervise web and worker processes, each
    started fresh: nothing that serves is forked from a process that ran Polars."""
    if args.no_serve:
        _demo_prepare(args, serving=args.serving_banner)
        return 0
    prepare = [sys.executable, "-m", "linli.cli", "demo", "--no-serve", "--serving-banner",
               "--host", args.host, "--port", str(args.port)]
    if args.residents:
        prepare += ["--residents", str(args.residents)]
    done = subprocess.run(prepare, check=False)  # noqa: S603 -- our own interpreter and module
    if done.returncode != 0:
        return done.returncode
    from linli.ops.supervisor import Supervisor, site_processes

    processes = site_processes(host=args.host, port=args.port, web_workers=1, task_workers=1, live_host=args.host)
    return Supervisor(processes, prefix="linli demo").run()


def cmd_run(args: argparse.Namespace) -> int:
    """Every process of this machine under one supervisor (the embedded shape)."""
    from linli.ops.supervisor import Supervisor, site_processes

    processes = site_processes(
        host=args.host, port=args.port,
        web_workers=args.web_workers or env_int("LINLI_WEB_WORKERS", default=1, minimum=1),
        task_workers=(args.task_workers if args.task_workers is not None
                      else env_int("LINLI_TASK_WORKERS", default=1, minimum=0)),
    )
    return Supervisor(processes, prefix="linli run").run()


def cmd_serve(args: argparse.Namespace) -> int:
    _setup_django()
    from linli.ops.checks import serve_checks
    from linli.ops.server import ServeOptions, serve

    # WhiteNoise warns on every start when the folder is missing (before collectstatic).
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    serve_checks(print_to=sys.stderr)
    serve(ServeOptions(
        host=args.host, port=args.port,
        workers=args.workers or settings.LINLI_WEB_WORKERS,
        threads=args.threads or settings.LINLI_WEB_THREADS,
        max_connections=settings.LINLI_WEB_MAX_CONNECTIONS,
        header_timeout=settings.LINLI_WEB_HEADER_TIMEOUT,
        access_log=settings.LINLI_ACCESS_LOG,
        metrics_dir=Path(settings.DATA_DIR) / "run" / f"metrics-{args.port}",
    ))
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    _setup_django()
    from linli.cockpit.live import serve as serve_live

    serve_live(host=args.host or settings.LINLI_LIVE_HOST, port=args.port or settings.LINLI_LIVE_PORT,
               max_streams=settings.LINLI_LIVE_MAX_STREAMS)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _manage("linli_worker", *args.rest)
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    _manage("linli_devices", *args.rest)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    _manage("linli_devices", "ingest", *args.rest)
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    _manage("linli_upgrade", *args.rest)
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    _manage("linli_jobs", args.action, *args.rest)
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


def cmd_roads(args: argparse.Namespace) -> int:
    _manage("linli_roads_load", *args.rest)
    return 0


def cmd_buildings(args: argparse.Namespace) -> int:
    _manage("linli_buildings_load", *args.rest)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    _manage("linli_import", *args.rest)
    return 0


def cmd_care(args: argparse.Namespace) -> int:
    _manage("linli_care", args.action, *args.rest)
    return 0


def cmd_fusion(args: argparse.Namespace) -> int:
    _manage("linli_fusion_sources", *args.rest)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    _manage("migrate", *args.rest)
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    _manage("linli_notify", args.action, *args.rest)
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
    demo.add_argument("--residents", type=int, default=None,
                      help="a smaller street for slow machines (default: 74,000; only for a new data folder)")
    demo.add_argument("--serving-banner", action="store_true", help=argparse.SUPPRESS)

    run = add("run", cmd_run, "run web, task workers and daemons under one supervisor (one machine)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--web-workers", type=int, default=None, help="default: LINLI_WEB_WORKERS (1)")
    run.add_argument("--task-workers", type=int, default=None, help="default: LINLI_TASK_WORKERS (1)")

    serve = add("serve", cmd_serve, "serve the web application with granian (WSGI)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=None,
                       help="web processes (default: LINLI_WEB_WORKERS, 1; PostgreSQL: about one per core)")
    serve.add_argument("--threads", type=int, default=None,
                       help="Python threads per web process (default: LINLI_WEB_THREADS, 8 x CPUs, at most 32)")

    live = add("live", cmd_live, "serve the cockpit's live event streams (Server-Sent Events, asyncio)")
    live.add_argument("--host", default=None, help="default: LINLI_LIVE_HOST (127.0.0.1)")
    live.add_argument("--port", type=int, default=None, help="default: LINLI_LIVE_PORT (8010)")

    # Their --help is the management command's own, so it is not swallowed here.
    add("worker", cmd_worker, "run a background task worker (heartbeat, lease recovery)",
        passthrough=True, own_help=False)
    add("upgrade", cmd_upgrade, "switch the site to this release: backup, migrate, swap web instances "
        "(linli upgrade --help; linli upgrade rollback)", passthrough=True, own_help=False)
    jobs = add("jobs", cmd_jobs, "stuck work: linli jobs stuck | resume ID | sweep", passthrough=True)
    jobs.add_argument("action", choices=["stuck", "resume", "sweep"])
    add("createadmin", cmd_createadmin, "create a district administrator (and the district on a fresh site)",
        passthrough=True, own_help=False)
    add("migrate", cmd_migrate, "apply database migrations", passthrough=True, own_help=False)
    add("import", cmd_import, "import a departmental export: linli import SOURCE FILE [--dry-run]",
        passthrough=True, own_help=False)
    fusion = add("fusion", cmd_fusion, "source definitions: linli fusion sources [--diff|--apply] [FILE|DIR …]",
                 passthrough=True)
    fusion.add_argument("action", choices=["sources"])
    add("manage", cmd_manage, "run any Django management command: linli manage <command> …",
        passthrough=True, own_help=False)

    seed = add("seed", cmd_seed, "generate a synthetic street (linli_seed)", passthrough=True)
    seed.add_argument("--residents", type=int, help="default: the demo street's 74,000")
    seed.add_argument("--seed", type=int, help="random seed (same seed, same street)")

    areas = add("areas", cmd_areas, "area tree: linli areas load FILE [--dry-run] (GeoJSON or CSV)",
                passthrough=True)
    areas.add_argument("action", choices=["load"])
    roads = add("roads", cmd_roads, "base-map roads: linli roads load FILE.geojson [--dry-run]", passthrough=True)
    roads.add_argument("action", choices=["load"])
    buildings = add("buildings", cmd_buildings, "building outlines and positions: linli buildings load FILE.geojson "
                    "[--dry-run]", passthrough=True)
    buildings.add_argument("action", choices=["load"])

    audit = add("audit", cmd_audit, "audit log: verify the MAC chain, write a checkpoint, or tail it",
                passthrough=True)
    audit.add_argument("action", choices=["verify", "checkpoint", "tail"])

    notify = add("notify", cmd_notify, "notifications: linli notify relay | check | dead", passthrough=True)
    notify.add_argument("action", choices=["relay", "check", "dead"])
    care = add("care", cmd_care, "proactive care: linli care sweep [--on DATE] | seed", passthrough=True)
    care.add_argument("action", choices=["sweep", "seed"])
    add("devices", cmd_devices, "devices: linli devices ingest | sweep [--every N] | simulate",
        passthrough=True, own_help=False)
    add("ingest", cmd_ingest, "the MQTT ingestor (same as `linli devices ingest`)", passthrough=True)
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
    try:
        load_env_file()  # before any default is read from the environment
    except ConfigError as error:
        print(f"linli: {error}", file=sys.stderr)
        return 2
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
