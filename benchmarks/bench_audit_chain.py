"""Cost of chaining audit entries: keyed HMAC (now) against the unkeyed SHA-256 (before).

Batched paths (a fusion import, batch case intake) chain up to hundreds of thousands of
entries in one transaction (ADR 0005); this measures what the keyed MAC adds per entry, body
serialisation included, against the old digest in the same run. No database: the inserts and
the single head update are the same for both.

    .venv/bin/python -m benchmarks.bench_audit_chain [--entries 100000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from datetime import UTC, datetime

from benchmarks.harness import Result, best_of, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    os.environ.setdefault("LINLI_DATA_DIR", tempfile.mkdtemp(prefix="linli-bench-audit-"))
    import django

    django.setup()
    from linli.core.audit_mac import EntrySigner, entry_body, legacy_digest

    created = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    n = args.entries

    def chain(mac: object) -> None:
        prev = "0" * 64
        for seq in range(1, n + 1):
            body = entry_body(seq=seq, created_at=created, actor_id=None, actor_label="job:fusion_import",
                              action="person.fuse", target_type="registry.person", target_id=str(seq),
                              fields=["id_number", "name", "phone"], reason="", request_id="")
            prev = mac(prev, body)  # type: ignore[operator]

    keyed = best_of(lambda: chain(EntrySigner().mac), repeat=3)
    unkeyed = best_of(lambda: chain(legacy_digest), repeat=3)
    report([Result(bench="audit chain: entries chained", size=n, unit="entries/s",
                   linli=n / keyed, baseline=n / unkeyed, baseline_name="unkeyed SHA-256 (before)",
                   notes="body serialisation + digest per entry")], name="audit_chain")


if __name__ == "__main__":
    main()
