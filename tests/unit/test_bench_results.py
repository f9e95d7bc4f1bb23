"""bench/RESULTS.md is generated: it is exactly what the JSON beside it renders to, and every
number in it comes from that JSON (no hand-edited row or summary)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench.__main__ import BENCHMARKS, render_results

BENCH = Path(__file__).resolve().parents[2] / "bench"
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def test_results_md_is_rendered_from_the_json_and_every_number_is_in_it() -> None:
    results = (BENCH / "RESULTS.md").read_text()
    assert results == render_results(BENCH), "RESULTS.md was edited: rerun python -m bench"
    records = [
        (BENCH / f"{name}.json").read_text()
        for name in BENCHMARKS
        if (BENCH / f"{name}.json").exists()
    ]
    assert records, "no bench/*.json beside RESULTS.md"
    everything = "\n".join(json.dumps(json.loads(r), ensure_ascii=False) for r in records)
    missing = sorted({n for n in NUMBER.findall(results) if n not in everything})
    assert missing == []
