"""Diagnose every corpus history and count labels against verdicts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.services.coaching import Assessment, Verdict, diagnose
from tests.coaching_corpus.histories import SPECS, TODAY, Spec, build

COLUMNS = (
    Verdict.UNAWARE,
    Verdict.INTENTIONAL,
    Verdict.COMFORTABLE,
    Verdict.ON_TRACK,
    Verdict.NOT_ENOUGH_DATA,
)


@dataclass(frozen=True)
class Outcome:
    spec: Spec
    assessment: Assessment

    @property
    def right(self) -> bool:
        """The verdict is the label (or an accepted reading of an ambiguous history), the
        separating question is asked exactly when it should be, and mixed profiles are named."""
        ev = self.assessment.evidence
        verdict_ok = self.assessment.verdict == self.spec.label or (
            self.assessment.verdict in self.spec.ambiguous and ev.uncertain
        )
        asks_ok = ev.uncertain == self.spec.asks
        secondary_ok = self.spec.secondary is None or ev.secondary == self.spec.secondary
        return verdict_ok and asks_ok and secondary_ok


def outcomes() -> list[Outcome]:
    return [Outcome(spec, diagnose(build(spec), TODAY)) for spec in SPECS]


def render(results: list[Outcome]) -> str:
    counts = Counter((o.spec.label, o.assessment.verdict) for o in results)
    head = "| label \\ verdict | " + " | ".join(c.value for c in COLUMNS) + " |"
    lines = [head, "|" + " --- |" * (len(COLUMNS) + 1)]
    for row in COLUMNS[:4]:
        cells = " | ".join(str(counts[(row, col)]) for col in COLUMNS)
        lines.append(f"| {row.value} | {cells} |")
    right = sum(o.right for o in results)
    asked = sum(o.assessment.evidence.uncertain for o in results)
    mixed = sum(o.assessment.evidence.secondary is not None for o in results)
    lines += [
        "",
        f"{len(results)} histories, {right} right "
        f"(verdict, question asked when it should be, mixed named); "
        f"{asked} ask the separating question, {mixed} named as mixed.",
    ]
    wrong = [o for o in results if not o.right]
    for o in wrong:
        ev = o.assessment.evidence
        lines.append(
            f"WRONG {o.spec.id}: label {o.spec.label}, verdict {o.assessment.verdict} "
            f"(uncertain {ev.uncertain}, secondary {ev.secondary}, scores {dict(ev.scores)})"
        )
    return "\n".join(lines)
