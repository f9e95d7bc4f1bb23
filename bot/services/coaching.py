"""The slowdown diagnosis: from an owner's history and a date to a verdict, a confidence, evidence.

Pure: plain dataclasses in, plain dataclasses out (no database, no Telegram, no clock).

Verdicts: `unaware` (no system: prospecting slips when work piles up), `intentional` ("my pipeline
is full"), `comfortable` (things feel fine, nothing to aim for), `on_track`, `not_enough_data`.

Rules, in order:

1. Windows (local dates, `on_date` included): RECENT = the 14 days ending on `on_date`,
   BASELINE = the 28 days before those. A *reported day* is a day with a check-in that has
   numbers or any /log or imported activity (weekends and unanswered days are not zeros).
   Rates are per reported day, so Monday-to-Friday owners and imports compare fairly.
2. `not_enough_data` when either window has fewer than 5 reported days (confidence 0).
3. The core pattern, measured against the owner's own baseline:
   - SLOWDOWN: new contacts a day in RECENT <= 75 % of BASELINE (down 25 % or more), or no new
     contact at all in either window;
   - BUSY HELD: meetings + proposals a day in RECENT >= 90 % of BASELINE (and above zero), or more
     open quotes on `on_date` than on the first day of RECENT;
   - PATTERN = SLOWDOWN and BUSY HELD ("busier, less prospecting").
4. No SLOWDOWN -> `on_track`, confidence 0.5 + 0.4 x (reported days in both windows / 30, max 1).
5. SLOWDOWN -> each type scores the signals below (reasons and blocks from RECENT; plan, goal and
   quotes as they stand on `on_date`). The highest score wins. A tie goes to the type with more
   points from the owner's own answers (the reasons), then in the order unaware, intentional,
   comfortable. The runner-up (second highest, above zero) is named in the evidence. With no
   signal at all the verdict is `unaware`: the drop happened without the owner saying why.

   | type        | signal (code)            | when                                   | points    |
   | ----------- | ------------------------ | -------------------------------------- | --------- |
   | unaware     | no_plan                  | no prospecting block planned, or "no   | 2         |
   |             |                          | plan" on half the block answers (2+)   |           |
   | unaware     | blocks_skipped           | days a block did not happen (check-in  | 1 (2+),   |
   |             |                          | "no" or a skipped block session)       | 2 (4+)    |
   | unaware     | reason_no_time_set_aside | "I didn't set time aside", per day     | 1 each, 3 |
   | unaware     | reason_busy              | "busy delivering for clients", per day | 1 each, 3 |
   | intentional | reason_pipeline_full     | "my pipeline is full", per day         | 1 each, 3 |
   | intentional | quotes_not_followed_up   | open quotes sent 7+ days ago, never    | 1 (1-2),  |
   |             |                          | followed up                            | 2 (3+)    |
   | intentional | quotes_waited_on         | open quotes past their expiry date or  | 1         |
   |             |                          | sent 30+ days ago                      |           |
   | comfortable | reason_no_need           | "no need right now", per day           | 1 each, 3 |
   | comfortable | no_goal                  | no active goal                         | 1         |
   | comfortable | goal_without_reward      | an active goal with no reward          | 1         |
   | comfortable | comfortable_numbers      | deals signed in the last 28 days and   | 1         |
   |             |                          | no goal                                |           |
   ("1 each, 3": one point a day, three at most.)

6. Confidence of a type: 0.5 with the PATTERN (0.3 for a slowdown while busyness fell)
   + 0.05 per point of the winner (at most 0.2) + 0.1 per point of lead over the runner-up
   (at most 0.2), capped at 0.95.

The quiz (/diagnose) has its own table, `QUIZ`, scored by `score_quiz`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    UNAWARE = "unaware"
    INTENTIONAL = "intentional"
    COMFORTABLE = "comfortable"
    ON_TRACK = "on_track"
    NOT_ENOUGH_DATA = "not_enough_data"


SLOWDOWN_TYPES = (Verdict.UNAWARE, Verdict.INTENTIONAL, Verdict.COMFORTABLE)

RECENT_DAYS = 14
BASELINE_DAYS = 28
MIN_REPORTED_DAYS = 5
SLOWDOWN_RATIO = 0.75  # recent contacts at or under 75 % of the usual: down by a quarter or more
BUSY_HELD_RATIO = 0.9
FOLLOW_UP_AFTER_DAYS = 7
LONG_WAIT_DAYS = 30
DEALS_WINDOW_DAYS = 28
REASON_CAP = 3

# Check-in reasons (bot.services.checkins.Reason values) and the type each one points to.
REASON_TYPES = {
    "no_time_set_aside": Verdict.UNAWARE,
    "busy": Verdict.UNAWARE,
    "pipeline_full": Verdict.INTENTIONAL,
    "no_need": Verdict.COMFORTABLE,
}
SKIPPED_BLOCK_STATUSES = frozenset({"skipped", "missed"})


# ---------------------------------------------------------------------------- the history


@dataclass(frozen=True)
class DayActivity:
    """One reported day: check-in numbers plus /log and imported entries."""

    day: date
    contacts: int = 0
    meetings: int = 0
    proposals: int = 0
    deals: int = 0


@dataclass(frozen=True)
class CheckInAnswer:
    """What a check-in said about the prospecting block and, when it was low, why."""

    day: date
    block_done: str | None = None  # yes / no / no_plan
    reason: str | None = None  # busy / pipeline_full / no_time_set_aside / no_need / other


@dataclass(frozen=True)
class QuoteRecord:
    sent_on: date
    expires_on: date
    status: str = "open"  # open / signed / lost
    closed_on: date | None = None
    followed_up_on: date | None = None
    client: str = ""
    amount: Decimal = Decimal(0)
    currency: str = "EUR"

    def is_open_on(self, day: date) -> bool:
        """Sent by `day`, not closed by then and still valid that day."""
        if self.sent_on > day or self.expires_on < day:
            return False
        return self.status == "open" or (self.closed_on is not None and self.closed_on > day)


@dataclass(frozen=True)
class BlockRecord:
    """One occurrence of a planned prospecting block."""

    day: date
    status: str  # pending / done / moved / skipped
    reason: str | None = None


@dataclass(frozen=True)
class GoalRecord:
    weekly_contacts: int
    reward: str
    started_on: date


@dataclass(frozen=True)
class History:
    """Everything the diagnosis, the forecast and the review read about one owner."""

    days: Sequence[DayActivity] = ()
    answers: Sequence[CheckInAnswer] = ()
    quotes: Sequence[QuoteRecord] = ()
    plan_blocks: int = 0
    blocks: Sequence[BlockRecord] = ()
    goal: GoalRecord | None = None

    def between(self, first: date, last: date) -> list[DayActivity]:
        return [d for d in self.days if first <= d.day <= last]

    def open_quotes_on(self, day: date) -> int:
        return sum(1 for q in self.quotes if q.is_open_on(day))


# ---------------------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class Window:
    """Totals over a stretch of days, and how many of them were reported."""

    first: date
    last: date
    days: int
    contacts: int
    meetings: int
    proposals: int
    deals: int

    @classmethod
    def of(cls, history: History, first: date, last: date) -> Window:
        days = history.between(first, last)
        return cls(
            first=first,
            last=last,
            days=len(days),
            contacts=sum(d.contacts for d in days),
            meetings=sum(d.meetings for d in days),
            proposals=sum(d.proposals for d in days),
            deals=sum(d.deals for d in days),
        )

    @property
    def busy(self) -> int:
        return self.meetings + self.proposals

    def rate(self, total: int) -> float:
        return total / self.days if self.days else 0.0


@dataclass(frozen=True)
class Signal:
    """One observation pointing at a type, with what a person can check: a count and a date."""

    type: Verdict
    code: str
    points: int
    count: int = 0
    last: date | None = None  # the latest day it was seen, when it has one


@dataclass(frozen=True)
class Evidence:
    recent: Window
    baseline: Window
    usual_contacts: float  # the baseline rate over as many reported days as RECENT has
    usual_busy: float
    contacts_change: int | None  # percent against the usual (-60 = down 60 %)
    open_quotes: int
    open_quotes_before: int  # on the first day of RECENT
    slowdown: bool
    busy_held: bool
    pattern: bool
    scores: Mapping[str, int] = field(default_factory=dict)
    signals: Sequence[Signal] = ()
    runner_up: Verdict | None = None

    def signals_of(self, verdict: Verdict) -> list[Signal]:
        return [s for s in self.signals if s.type == verdict]


@dataclass(frozen=True)
class Assessment:
    """A verdict as of a date, how sure it is (0 to 1), and the evidence behind it."""

    on_date: date
    verdict: Verdict
    confidence: float
    evidence: Evidence

    @property
    def is_slowdown(self) -> bool:
        return self.verdict in SLOWDOWN_TYPES

    def to_json(self) -> dict[str, Any]:
        """The evidence as stored in the `diagnosis` table (dates as ISO strings)."""
        ev = self.evidence

        def window(w: Window) -> dict[str, Any]:
            return {
                "first": w.first.isoformat(),
                "last": w.last.isoformat(),
                "days": w.days,
                "contacts": w.contacts,
                "meetings": w.meetings,
                "proposals": w.proposals,
                "deals": w.deals,
            }

        return {
            "recent": window(ev.recent),
            "baseline": window(ev.baseline),
            "usual_contacts": round(ev.usual_contacts, 2),
            "usual_busy": round(ev.usual_busy, 2),
            "contacts_change": ev.contacts_change,
            "open_quotes": ev.open_quotes,
            "open_quotes_before": ev.open_quotes_before,
            "slowdown": ev.slowdown,
            "busy_held": ev.busy_held,
            "pattern": ev.pattern,
            "scores": dict(ev.scores),
            "signals": [
                {
                    "type": s.type.value,
                    "code": s.code,
                    "points": s.points,
                    "count": s.count,
                    "last": s.last.isoformat() if s.last else None,
                }
                for s in ev.signals
            ],
            "runner_up": ev.runner_up.value if ev.runner_up else None,
        }


def diagnose(history: History, on_date: date) -> Assessment:
    """The owner's slowdown type as of `on_date`, following the rules in the module docstring."""
    recent_first = on_date - timedelta(days=RECENT_DAYS - 1)
    baseline_last = recent_first - timedelta(days=1)
    baseline_first = baseline_last - timedelta(days=BASELINE_DAYS - 1)
    recent = Window.of(history, recent_first, on_date)
    baseline = Window.of(history, baseline_first, baseline_last)

    usual_contacts = baseline.rate(baseline.contacts) * recent.days
    usual_busy = baseline.rate(baseline.busy) * recent.days
    contacts_change = (
        round((recent.contacts - usual_contacts) / usual_contacts * 100)
        if usual_contacts > 0
        else None
    )
    open_now = history.open_quotes_on(on_date)
    open_before = history.open_quotes_on(recent_first)
    slowdown = (
        recent.contacts <= SLOWDOWN_RATIO * usual_contacts
        if usual_contacts > 0
        else recent.contacts == 0
    )
    busy_held = (recent.busy > 0 and recent.busy >= BUSY_HELD_RATIO * usual_busy) or (
        open_now > open_before
    )
    signals = _signals(history, on_date, recent_first)
    scores = {t.value: sum(s.points for s in signals if s.type == t) for t in SLOWDOWN_TYPES}
    ranking = _rank(scores, signals)
    enough = recent.days >= MIN_REPORTED_DAYS and baseline.days >= MIN_REPORTED_DAYS
    evidence = Evidence(
        recent=recent,
        baseline=baseline,
        usual_contacts=usual_contacts,
        usual_busy=usual_busy,
        contacts_change=contacts_change,
        open_quotes=open_now,
        open_quotes_before=open_before,
        slowdown=enough and slowdown,
        busy_held=busy_held,
        pattern=enough and slowdown and busy_held,
        scores=scores,
        signals=signals,
        runner_up=None,
    )
    if not enough:
        return Assessment(on_date, Verdict.NOT_ENOUGH_DATA, 0.0, evidence)
    if not slowdown:
        weight = min(1.0, (recent.days + baseline.days) / 30)
        return Assessment(on_date, Verdict.ON_TRACK, round(0.5 + 0.4 * weight, 2), evidence)

    winner, second = ranking[0], ranking[1]
    runner_up = second if scores[second] > 0 else None
    lead = scores[winner] - scores[second]
    confidence = (
        (0.5 if evidence.pattern else 0.3) + min(0.2, 0.05 * scores[winner]) + min(0.2, 0.1 * lead)
    )
    evidence = replace(evidence, runner_up=runner_up)
    return Assessment(on_date, winner, round(min(0.95, confidence), 2), evidence)


def _rank(scores: Mapping[str, int], signals: Sequence[Signal]) -> list[Verdict]:
    """Types from strongest to weakest: score, then points from the owner's answers, then order."""
    said = {
        t: sum(s.points for s in signals if s.type == t and s.code.startswith("reason_"))
        for t in SLOWDOWN_TYPES
    }
    order = {t: i for i, t in enumerate(SLOWDOWN_TYPES)}
    return sorted(SLOWDOWN_TYPES, key=lambda t: (-scores[t.value], -said[t], order[t]))


def _signals(history: History, on_date: date, recent_first: date) -> list[Signal]:
    signals: list[Signal] = []
    answers = [a for a in history.answers if recent_first <= a.day <= on_date]
    blocks = [b for b in history.blocks if recent_first <= b.day <= on_date]

    # Unaware: no plan, blocks that did not happen.
    no_plan_days = sorted(a.day for a in answers if a.block_done == "no_plan")
    block_answers = [a for a in answers if a.block_done is not None]
    if history.plan_blocks == 0 or (
        len(no_plan_days) >= 2 and len(no_plan_days) * 2 >= len(block_answers)
    ):
        signals.append(
            Signal(
                Verdict.UNAWARE,
                "no_plan",
                2,
                count=len(no_plan_days),
                last=no_plan_days[-1] if no_plan_days else None,
            )
        )
    skipped = sorted(
        {a.day for a in answers if a.block_done == "no"}
        | {b.day for b in blocks if b.status in SKIPPED_BLOCK_STATUSES}
    )
    if len(skipped) >= 2:
        signals.append(
            Signal(
                Verdict.UNAWARE,
                "blocks_skipped",
                2 if len(skipped) >= 4 else 1,
                count=len(skipped),
                last=skipped[-1],
            )
        )

    # The owner's own words, from check-ins and from skipped blocks, once per day.
    reason_days: dict[str, set[date]] = {reason: set() for reason in REASON_TYPES}
    for day, reason in [(a.day, a.reason) for a in answers] + [(b.day, b.reason) for b in blocks]:
        if reason in reason_days:
            reason_days[reason].add(day)
    for reason, days in reason_days.items():
        if days:
            signals.append(
                Signal(
                    REASON_TYPES[reason],
                    f"reason_{reason}",
                    min(len(days), REASON_CAP),
                    count=len(days),
                    last=max(days),
                )
            )

    # Intentional: quotes left waiting.
    open_quotes = [q for q in history.quotes if q.status == "open" and q.sent_on <= on_date]
    follow_up_by = on_date - timedelta(days=FOLLOW_UP_AFTER_DAYS)
    not_followed = [
        q
        for q in open_quotes
        if q.followed_up_on is None and q.sent_on <= follow_up_by and q.expires_on >= on_date
    ]
    if not_followed:
        signals.append(
            Signal(
                Verdict.INTENTIONAL,
                "quotes_not_followed_up",
                2 if len(not_followed) >= 3 else 1,
                count=len(not_followed),
                last=min(q.sent_on for q in not_followed),  # the oldest one waiting
            )
        )
    waited_on = [
        q
        for q in open_quotes
        if q.expires_on < on_date or (on_date - q.sent_on).days >= LONG_WAIT_DAYS
    ]
    if waited_on:
        signals.append(
            Signal(
                Verdict.INTENTIONAL,
                "quotes_waited_on",
                1,
                count=len(waited_on),
                last=min(q.sent_on for q in waited_on),
            )
        )

    # Comfortable: nothing to aim for.
    if history.goal is None:
        signals.append(Signal(Verdict.COMFORTABLE, "no_goal", 1))
    elif not history.goal.reward.strip():
        signals.append(Signal(Verdict.COMFORTABLE, "goal_without_reward", 1))
    deals_first = on_date - timedelta(days=DEALS_WINDOW_DAYS - 1)
    signed = sum(
        1
        for q in history.quotes
        if q.status == "signed" and q.closed_on and deals_first <= q.closed_on <= on_date
    ) + sum(d.deals for d in history.between(deals_first, on_date))
    if signed and history.goal is None:
        signals.append(Signal(Verdict.COMFORTABLE, "comfortable_numbers", 1, count=signed))
    return signals


def verdict_changed(previous: str | None, previous_pattern: bool, current: Assessment) -> bool:
    """Whether a fresh assessment is news worth coaching: a new slowdown type, or the pattern."""
    if not current.is_slowdown:
        return False
    return previous != current.verdict or (current.evidence.pattern and not previous_pattern)


# ---------------------------------------------------------------------------- the quiz


@dataclass(frozen=True)
class QuizQuestion:
    id: str
    # option -> points per type ("on_track" points count against a slowdown verdict)
    options: Mapping[str, Mapping[str, int]]


UNA, INT, COM, OK = "unaware", "intentional", "comfortable", "on_track"

QUIZ: tuple[QuizQuestion, ...] = (
    QuizQuestion("pace", {"less": {}, "same": {OK: 2}, "more": {OK: 3}}),
    QuizQuestion("calendar", {"fixed": {OK: 1}, "sometimes": {UNA: 1}, "never": {UNA: 2}}),
    QuizQuestion(
        "skipped", {"forgot": {UNA: 3}, "pipeline": {INT: 3}, "fine": {COM: 3}, "never": {OK: 2}}
    ),
    QuizQuestion("waiting", {"few": {}, "some": {INT: 1}, "many": {INT: 2}}),
    QuizQuestion("expiry", {"always": {}, "sometimes": {}, "never": {INT: 1}}),
    QuizQuestion("promise", {"yes": {INT: 2}, "bit": {INT: 1}, "no": {}}),
    QuizQuestion("goal", {"reward": {}, "no_reward": {COM: 1}, "none": {COM: 2}}),
    QuizQuestion("feeling", {"tight": {}, "fine": {COM: 2}, "swamped": {UNA: 1, INT: 1}}),
)
QUIZ_BY_ID = {q.id: q for q in QUIZ}
QUIZ_ON_TRACK_AT = 5  # "on track" points needed (pace held, nothing skipped, calendar...)


@dataclass(frozen=True)
class QuizResult:
    verdict: Verdict
    confidence: float
    scores: Mapping[str, int]
    runner_up: Verdict | None


def next_quiz_question(answers: Mapping[str, str]) -> QuizQuestion | None:
    """The first question not answered yet, or None when the quiz is complete."""
    return next((q for q in QUIZ if q.id not in answers), None)


def is_valid_quiz_answer(question_id: str, option: str) -> bool:
    question = QUIZ_BY_ID.get(question_id)
    return question is not None and option in question.options


def score_quiz(answers: Mapping[str, str]) -> QuizResult:
    """The type the owner's own answers point to.

    Each option adds the points in `QUIZ`. `on_track` when its points reach QUIZ_ON_TRACK_AT and
    beat every type; else the highest type wins (ties: the type picked in the "skipped" question,
    then unaware, intentional, comfortable). Confidence: 0.4 + 0.1 per point of lead, max 0.9.
    """
    totals = {UNA: 0, INT: 0, COM: 0, OK: 0}
    for question_id, option in answers.items():
        question = QUIZ_BY_ID.get(question_id)
        if question is None or option not in question.options:
            continue
        for kind, points in question.options[option].items():
            totals[kind] += points
    picked = {"forgot": UNA, "pipeline": INT, "fine": COM}.get(answers.get("skipped", ""))
    order = {t.value: i for i, t in enumerate(SLOWDOWN_TYPES)}
    ranked = sorted(order, key=lambda t: (-totals[t], t != picked, order[t]))
    scores = {t: totals[t] for t in order}
    best, second = ranked[0], ranked[1]
    if totals[OK] >= QUIZ_ON_TRACK_AT and totals[OK] > totals[best]:
        lead = totals[OK] - totals[best]
        return QuizResult(Verdict.ON_TRACK, round(min(0.9, 0.4 + 0.1 * lead), 2), scores, None)
    lead = totals[best] - totals[second]
    runner_up = Verdict(second) if totals[second] > 0 else None
    return QuizResult(Verdict(best), round(min(0.9, 0.4 + 0.1 * lead), 2), scores, runner_up)


def iso_week(day: date) -> str:
    """ "2026-W48": the key of a week, for once-a-week messages."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def signals_text_order(signals: Iterable[Signal]) -> list[Signal]:
    """Strongest first, then most recent: the order evidence is shown in."""
    return sorted(signals, key=lambda s: (-s.points, -(s.last.toordinal() if s.last else 0)))
