"""`python -m bench`: run the benchmarks and rewrite bench/RESULTS.md.

    .venv/bin/python -m bench                  # everything, full size (~10 min on 2 cores)
    .venv/bin/python -m bench --quick          # smaller, faster pass (~2 min)
    .venv/bin/python -m bench --only fanout    # one benchmark (repeatable)
    .venv/bin/python -m bench --backends sqlite

The full run of every benchmark rewrites bench/RESULTS.md; a partial or --quick run prints its
tables and writes a results file only when --results PATH is given. Exit status 0 even when a
target is not met (the report says which and why); 1 when a benchmark itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    BACKEND_NAMES,
    BACKENDS,
    ROOT,
    Context,
    Report,
    machine,
    markdown_table,
    postgres_version,
    progress,
)

BENCHMARKS = ("throughput", "fanout", "due_scan", "memory", "latency", "flood")
RESULTS = Path(__file__).with_name("RESULTS.md")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about 2 minutes")
    parser.add_argument(
        "--only", action="append", choices=BENCHMARKS, help="run only this benchmark (repeatable)"
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated databases to measure: sqlite,postgresql (default both)",
    )
    parser.add_argument(
        "--results", type=Path, help="write the markdown results here (default for a full run: "
        "bench/RESULTS.md)"
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    unknown = set(args.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    return args


def git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
            check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + (" + uncommitted changes of the working tree" if dirty else "")


def versions() -> list[tuple[str, str]]:
    from importlib.metadata import version

    return [
        (name, version(name))
        for name in ("python-telegram-bot", "SQLAlchemy", "aiosqlite", "asyncpg")
    ]


async def main_async(args: argparse.Namespace) -> int:
    pg = await postgres_version() if "postgresql" in args.backends else None
    backends = tuple(b for b in args.backends if b != "postgresql" or pg is not None)
    skipped = {} if pg is not None or "postgresql" not in args.backends else {
        "postgresql": "PostgreSQL did not answer at the admin URL (BENCH_POSTGRES_URL)"
    }  # fmt: skip
    if skipped:
        progress("PostgreSQL is not reachable: measuring SQLite only")
    names = [name for name in BENCHMARKS if not args.only or name in args.only]
    started_at = datetime.now(UTC)
    started = time.monotonic()
    reports: list[Report] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="prospect-bench-") as workdir:
        ctx = Context(
            quick=args.quick, backends=backends, workdir=Path(workdir), skipped_backends=skipped
        )
        for name in names:
            module = importlib.import_module(f"bench.{name}")
            progress(f"--- {name} ---")
            began = time.monotonic()
            try:
                report: Report = await module.run(ctx)
            except Exception as exc:  # one broken benchmark must not hide the others
                traceback.print_exc()
                report = Report(name, module.TITLE, (module.__doc__ or "").strip().split("\n")[0])
                report.error = f"{type(exc).__name__}: {exc}"
                failed = True
            report.seconds = time.monotonic() - began
            report.print()
            reports.append(report)
    total = time.monotonic() - started
    progress(f"all done in {total:.0f} s")
    summary(reports)
    target = args.results or (RESULTS if not args.only and not args.quick else None)
    if target is not None:
        target.write_text(results_markdown(args, reports, started_at, total, pg, skipped))
        progress(f"wrote {target}")
    return 1 if failed else 0


def summary(reports: list[Report]) -> None:
    print("\nSummary")
    for report in reports:
        if report.error:
            print(f"  {report.name:<11} FAILED: {report.error}")
        for check in report.checks:
            print(f"  {report.name:<11} {check.name}: {check.value} ({check.target}) "
                  f"{check.verdict}")  # fmt: skip


def results_markdown(
    args: argparse.Namespace,
    reports: list[Report],
    started_at: datetime,
    total: float,
    pg: str | None,
    skipped: dict[str, str],
) -> str:
    command = ".venv/bin/python -m bench" + (" --quick" if args.quick else "")
    facts = machine() + [
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", pg or "not reachable"),
        *versions(),
        ("databases measured", ", ".join(BACKEND_NAMES[b] for b in args.backends if b not in
                                         skipped)),
        ("git", git_revision()),
        ("date (UTC)", f"{started_at:%Y-%m-%d %H:%M}"),
        ("total run time", f"{total:.0f} s"),
    ]  # fmt: skip
    rows = []
    for report in reports:
        if report.error:
            rows.append([report.title, "-", "-", "**failed**", report.error])
        for check in report.checks:
            rows.append([report.title.split(" (")[0], check.name, check.value, check.target,
                         f"**{check.verdict}**"])  # fmt: skip
    parts = [
        "# Benchmark results",
        "",
        f"Written by `{command}` (see `bench/__main__.py`); rerun it rather than editing this "
        "file. Each benchmark compares two measurements taken in the same run, so the ratios "
        "hold on a noisy shared machine even when the absolute numbers move.",
        "",
        "## Machine",
        "",
        markdown_table(["what", "value"], facts),
        "",
        "## Summary",
        "",
        markdown_table(["benchmark", "target", "measured", "wanted", "verdict"], rows),
        "",
    ]
    parts += [report.markdown() for report in reports]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
