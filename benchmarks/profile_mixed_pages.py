"""Server time of each page of the mixed read load, in process (issue #15, "Load").

``bench_mixed_load`` measures the whole server from outside; this one says which page costs
what: it opens a prepared demo data folder (or PostgreSQL demo database) with Django's test
client as the demo's ``street`` user and times every path of the mix ``--repeat`` times
(median, p95, queries per request). ``--profile PATH`` prints a cProfile of one path.

    .venv/bin/python -m benchmarks.profile_mixed_pages --data-dir /tmp/mixed
    .venv/bin/python -m benchmarks.profile_mixed_pages --data-dir /tmp/mixed --profile /cases/all/
    LINLI_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/linli_mixed \\
        .venv/bin/python -m benchmarks.profile_mixed_pages --data-dir /tmp/mixed-pg
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import statistics
import time
import urllib.parse

from benchmarks.bench_mixed_load import CASE_LISTS, SEARCH_WORDS, USERNAME


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="a LINLI_DATA_DIR prepared by `linli demo --no-serve`")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--profile", default="", help="print a cProfile of this path instead")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: cumulative, tottime …")
    parser.add_argument("--lines", type=int, default=40, help="cProfile lines shown")
    args = parser.parse_args()

    os.environ["LINLI_DATA_DIR"] = args.data_dir
    os.environ.pop("LINLI_TESTING", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    import django

    django.setup()
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from linli.accounts.models import User

    # Django empties the query log when a request starts: keep it, to count the queries.
    request_started.disconnect(reset_queries)
    client = Client()
    client.force_login(User.objects.get(username=USERNAME))
    if args.profile:
        client.get(args.profile)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.repeat):
            client.get(args.profile)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.lines)
        return

    paths = ["/search/?q=" + urllib.parse.quote(w) for w in SEARCH_WORDS[:3] + SEARCH_WORDS[-3:]]
    paths += CASE_LISTS
    found: list[str] = []
    for source in ("/search/?q=" + urllib.parse.quote("王"), "/cases/all/"):
        html = client.get(source).content.decode()
        found += sorted(set(re.findall(r'href="(/(?:persons|cases)/\d+/)"', html)))[:2]
    paths += ["/", *found, "/areas/", "/services/"]
    print(f"{connection.vendor}, {args.repeat} requests a path, load average {os.getloadavg()[0]:.1f}")
    # CPU ms (this process's own CPU time) is the figure to compare on a loaded machine: wall
    # time counts the minutes other processes held the cores.
    print(f"{'path':<40} {'median ms':>9} {'p95 ms':>7} {'CPU ms':>7} {'queries':>7} {'KiB':>5}")
    cpu_total = 0.0
    for path in paths:
        response = client.get(path)  # warm
        timings = []
        cpu = []
        for _ in range(args.repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        cpu_total += statistics.median(cpu)
        with CaptureQueriesContext(connection) as queries:
            client.get(path)
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
        print(f"{urllib.parse.unquote(path):<40} {statistics.median(timings):9.1f} {p95:7.1f} {statistics.median(cpu):7.1f} "
              f"{len(queries):7d} {len(response.content) // 1024:5d}  {response.status_code}", flush=True)
    print(f"sum of the median CPU ms over the paths: {cpu_total:.1f} (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
