"""`python -m bench`: run the benchmarks and rewrite bench/RESULTS.md.

    .venv/bin/python -m bench                  # everything, full size (~10 min on 2 cores)
    .venv/bin/python -m bench --quick          # smaller, faster pass (~2 min)
    .venv/bin/python -m bench --only fanout    # one benchmark (repeatable)
    .venv/bin/python -m bench --backends sqlite

Each benchmark run writes bench/NAME.json (its measurements, rows, checks and where it ran), then
bench/RESULTS.md is rendered again from every bench/*.json: `--only NAME` rewrites that section
only. A --quick run prints its tables and writes nothing unless --results DIR is given. Exit
status 0 even when a target is not met (the report says which and why); 1 when a benchmark
itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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

BENCHMARKS = ("throughput", "fanout", "due_scan", "memory", "latency", "flood", "weekly")
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
        "--results", type=Path, help="write the JSON and RESULTS.md into this folder (default, "
        "except with --quick: bench/)"
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
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
    directory = args.results or (None if args.quick else RESULTS.parent)
    if directory is not None:
        facts = provenance(args, started_at, pg, skipped)
        for report in reports:
            record = report.to_json() | {"provenance": facts}
            path = directory / f"{report.name}.json"
            path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
            progress(f"wrote {path}")
        (directory / "RESULTS.md").write_text(render_results(directory))
        progress(f"wrote {directory / 'RESULTS.md'} from the JSON files beside it")
    return 1 if failed else 0


def summary(reports: list[Report]) -> None:
    print("\nSummary")
    for report in reports:
        if report.error:
            print(f"  {report.name:<11} FAILED: {report.error}")
        for check in report.checks:
            print(f"  {report.name:<11} {check.name}: {check.value} ({check.target}) "
                  f"{check.verdict}")  # fmt: skip


def provenance(
    args: argparse.Namespace, started_at: datetime, pg: str | None, skipped: dict[str, str]
) -> dict[str, str]:
    """Where and how a section was measured: written into its JSON, shown in RESULTS.md."""
    command = ".venv/bin/python -m bench " + " ".join(args.argv)
    facts = machine() + [
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", pg or "not reachable"),
        *versions(),
        ("databases measured", ", ".join(BACKEND_NAMES[b] for b in args.backends if b not in
                                         skipped)),
    ]  # fmt: skip
    return {
        "command": command.strip(),
        "git": git_revision(),
        "date (UTC)": f"{started_at:%Y-%m-%d %H:%M}",
        **dict(facts),
    }


def render_results(directory: Path) -> str:
    """RESULTS.md, entirely from the JSON each benchmark's last run wrote (never by hand)."""
    records = [
        json.loads(path.read_text())
        for name in BENCHMARKS
        if (path := directory / f"{name}.json").exists()
    ]
    rows = []
    for record in records:
        title = record["title"].split(" (")[0]
        if record["error"]:
            rows.append([title, "-", "-", "-", "**failed**", record["error"]])
        for check in record["checks"]:
            when = record["provenance"]["date (UTC)"]
            rows.append([title, check["name"], check["value"], check["target"],
                         f"**{check['verdict']}**", when])  # fmt: skip
    parts = [
        "# Benchmark results",
        "",
        "Generated by `python -m bench` from the JSON files beside this one (`bench/*.json`); "
        "each section is rewritten by the run that measured it (`--only NAME` rewrites one), "
        "with the commit, date, machine and command of that run. Do not edit: rerun. Ratios "
        "compare measurements alternated within one run, so they hold on a noisy shared "
        "machine even when the absolute numbers move.",
        "",
        "## Summary",
        "",
        markdown_table(
            ["benchmark", "target", "measured", "wanted", "verdict", "measured on"], rows
        ),  # fmt: skip
        "",
    ]
    parts += [section_markdown(record) for record in records]
    return "\n".join(parts)


def section_markdown(record: dict[str, Any]) -> str:
    facts = record["provenance"]
    report = Report.from_json(record)
    where = markdown_table(["run", "value"], [[k, v] for k, v in facts.items()])
    text = report.markdown()
    head, _, rest = text.partition("\n\n")
    return (
        f"{head}\n\n<details><summary>Measured by <code>{facts['command']}</code> at "
        f"{facts['git']}, {facts['date (UTC)']} UTC</summary>\n\n{where}\n\n</details>\n\n{rest}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
