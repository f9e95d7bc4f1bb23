"""The slowdown diagnosis: from an owner's history and a date to a verdict, a confidence, evidence.

Pure: plain dataclasses in, plain dataclasses out (no database, no Telegram, no clock).

Verdicts: `unaware` (no system: prospecting slips without a decision), `intentional` ("my
pipeline is full"), `comfortable` (things feel fine, nothing to aim for), `on_track`,
`not_enough_data`. The article defines the three types by *why* the owner slows down, so the
owner's own answers decide; what the bot sees (no plan, skipped blocks, no goal, quotes waiting)
only says *that* prospecting slipped, so it corroborates and breaks ties.

Rules, in order:

1. Windows (local dates, `on_date` included): RECENT = the 14 days ending on `on_date`,
   BASELINE = the 28 days before those. A *reported day* has check-in numbers or any /log or
   imported activity (weekends and unanswered days are not zeros); rates are per reported day.
2. The usual pace: the BASELINE's rate when it has MIN_REPORTED_DAYS (5) reported days; else the
   usual week the owner gave at onboarding (`History.usual_weekly`, spread over their check-in
   days), from MIN_DAYS_WITH_PACE (3) reported days in RECENT. Otherwise `not_enough_data`, with
   `checkins_needed`: how many more check-ins would let the comparison start.
3. SLOWDOWN: new contacts in RECENT <= 75 % of the usual pace over as many days (or none at all
   in either). BUSY HELD: meetings + proposals in RECENT >= 90 % of the measured baseline's and
   above zero (never claimed against a stated pace, which has no meetings). PATTERN = both.
   No SLOWDOWN -> `on_track`.
4. Signals (reasons and blocks from RECENT; plan, goal and quotes as they stand on `on_date`):

   | type        | signal (code)          | when                                     | points   |
   | ----------- | ---------------------- | ---------------------------------------- | -------- |
   | (reason's)  | reason_<code>          | a day the owner gave that reason: the    | 2 a day  |
   |             |                        | button, or free text read through        | (busy 1) |
   |             |                        | bot.services.reasons; 5 days at most     |          |
   | unaware     | no_plan                | no block planned, or "no plan" on half   | 1        |
   |             |                        | the block answers (2+)                   |          |
   | unaware     | blocks_skipped         | 2+ days a block did not happen with no   | 1, 2 (4+)|
   |             |                        | reason given that day                    |          |
   | (reason's)  | blocks_skipped_said    | 2+ blocks skipped on days whose reason   | 1        |
   |             |                        | points to that type                      |          |
   | intentional | quotes_not_followed_up | open quotes sent 7+ days ago, never      | 1, 2 (3+)|
   |             |                        | followed up                              |          |
   | intentional | quotes_waited_on       | open quotes past expiry or 30+ days old  | 1        |
   | comfortable | no_goal                | no active goal                           | 1        |
   | comfortable | goal_without_reward    | an active goal with no reward            | 1        |
   | comfortable | comfortable_numbers    | deals signed in 28 days and no goal      | 1        |

5. Deciding. SAID = reason points per type, SEEN = the other points, SCORE = both.
   - Reasons are *consistent* when they total 4+ points (two days of a clear reason) and one
     type holds 60 % of them: that type wins whatever the structure says (basis "said").
   - Otherwise the highest SCORE wins (ties: more SAID, then unaware, intentional,
     comfortable; basis "seen"). The verdict is *uncertain* when the runner-up has points and
     the winner leads by under 2, or nothing points anywhere: the coach then asks one
     separating question instead of guessing (`question`, from the /diagnose bank).
   - A quiz answer (the full /diagnose or that one question) from the last QUIZ_FRESH_DAYS
     settles an uncertain verdict when it names one of the two candidates (basis "quiz"); when
     the data are sure and the quiz says otherwise, the data win and `quiz_disagrees` names
     what the owner said, so both are shown.
   - The runner-up (second, above zero) is *secondary* when its SCORE reaches half the winner's
     and 3+: "mostly X, with some Y signs", its remedy given second.
6. Confidence: 0.5 with the PATTERN (0.3 without) + 0.05 per SAID point of the winner (max 0.25)
   + 0.05 per SEEN point (max 0.1) + 0.05 per point of lead (max 0.15) + 0.1 when a quiz agrees;
   uncertain verdicts stay at or under 0.5; capped at 0.95.

The next step (`next_step`) never proposes what the owner already has: a plan gets "keep your
blocks", quotes (which all carry an expiry: /quote sets one) get the follow-up step, an active goal
gets its progress and a nudge to keep it.
The quiz (/diagnose) has its own table, `QUIZ`, scored by `score_quiz`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bot.services.reasons import read_reason, shown


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
MIN_DAYS_WITH_PACE = 3  # one day is noise; three reported days against a stated pace coach
SLOWDOWN_RATIO = 0.75  # recent contacts at or under 75 % of the usual: down by a quarter or more
BUSY_HELD_RATIO = 0.9
FOLLOW_UP_AFTER_DAYS = 7
LONG_WAIT_DAYS = 30
DEALS_WINDOW_DAYS = 28
REASON_DAY_CAP = 5
CONSISTENT_SAID = 4
CONSISTENT_SHARE = 0.6
UNCERTAIN_LEAD = 2
SECONDARY_SCORE = 3
QUIZ_FRESH_DAYS = 56
MAX_WORDS_SHOWN = 2
PACE_CHOICES = (3, 5, 10, 15, 25)  # new contacts in a usual week, one tap each at onboarding

# Check-in reasons (bot.services.checkins.Reason values): the type each points to, points a day.
REASON_TYPES = {
    "no_time_set_aside": Verdict.UNAWARE,
    "busy": Verdict.UNAWARE,
    "pipeline_full": Verdict.INTENTIONAL,
    "no_need": Verdict.COMFORTABLE,
}
REASON_POINTS = {"no_time_set_aside": 2, "busy": 1, "pipeline_full": 2, "no_need": 2}
SKIPPED_BLOCK_STATUSES = frozenset({"skipped", "missed"})

# The /diagnose question that best separates two candidates, and what each option points to.
SEPARATING_QUESTION = "skipped"
SEPARATING_OPTIONS = {
    Verdict.UNAWARE: "forgot",
    Verdict.INTENTIONAL: "pipeline",
    Verdict.COMFORTABLE: "fine",
}


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
    reason_text: str | None = None  # the owner's words for "other"

    def reasons(self) -> tuple[str, ...]:
        """The reason codes this answer gives: the button's, or those its free text speaks of."""
        if self.reason in REASON_TYPES:
            return (self.reason,)
        return read_reason(self.reason_text) if self.reason == "other" else ()


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
class QuizHint:
    """What the owner last said in /diagnose (or the one separating question), and when."""

    verdict: Verdict
    on_date: date


@dataclass(frozen=True)
class History:
    """Everything the diagnosis, the forecast and the review read about one owner."""

    days: Sequence[DayActivity] = ()
    answers: Sequence[CheckInAnswer] = ()
    quotes: Sequence[QuoteRecord] = ()
    plan_blocks: int = 0
    blocks: Sequence[BlockRecord] = ()
    goal: GoalRecord | None = None
    usual_weekly: int | None = None  # new contacts in a usual week, as given at onboarding
    days_per_week: int = 5  # check-in days a week: spreads the usual week over reported days
    plan_since: date | None = None  # the day the first block still planned was set
    follow_ups: Sequence[date] = ()  # days a follow-up was recorded (quotes and follow-up records)
    quiz: QuizHint | None = None

    def between(self, first: date, last: date) -> list[DayActivity]:
        return [d for d in self.days if first <= d.day <= last]

    def open_quotes_on(self, day: date) -> int:
        return sum(1 for q in self.quotes if q.is_open_on(day))

    @property
    def usual_daily(self) -> float | None:
        if self.usual_weekly is None:
            return None
        return self.usual_weekly / max(1, self.days_per_week)


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
    words: tuple[str, ...] = ()  # the owner's own words behind it (free-text reasons)

    @property
    def said(self) -> bool:
        return self.code.startswith("reason_")


@dataclass(frozen=True)
class Evidence:
    recent: Window
    baseline: Window
    usual_contacts: float  # the usual pace over as many reported days as RECENT has
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
    baseline_source: str = "measured"  # measured / stated (the usual week given at onboarding)
    usual_weekly: int | None = None
    said: Mapping[str, int] = field(default_factory=dict)
    basis: str = ""  # said / seen / quiz: what decided the verdict
    secondary: Verdict | None = None  # "mostly X, with some Y signs"
    uncertain: bool = False
    question: str | None = None  # the one /diagnose question to ask when uncertain
    candidates: tuple[Verdict, ...] = ()
    quiz_disagrees: Verdict | None = None
    checkins_needed: int = 0  # before the comparison can start (not_enough_data)

    def signals_of(self, verdict: Verdict) -> list[Signal]:
        return [s for s in self.signals if s.type == verdict]

    @property
    def usual_contacts_daily(self) -> float:
        return self.usual_contacts / self.recent.days if self.recent.days else 0.0

    @property
    def recent_contacts_daily(self) -> float:
        return self.recent.rate(self.recent.contacts)


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
            "baseline_source": ev.baseline_source,
            "usual_contacts": round(ev.usual_contacts, 2),
            "usual_busy": round(ev.usual_busy, 2),
            "contacts_change": ev.contacts_change,
            "open_quotes": ev.open_quotes,
            "open_quotes_before": ev.open_quotes_before,
            "slowdown": ev.slowdown,
            "busy_held": ev.busy_held,
            "pattern": ev.pattern,
            "scores": dict(ev.scores),
            "said": dict(ev.said),
            "basis": ev.basis,
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
            "secondary": ev.secondary.value if ev.secondary else None,
            "uncertain": ev.uncertain,
            "quiz_disagrees": ev.quiz_disagrees.value if ev.quiz_disagrees else None,
        }


def diagnose(history: History, on_date: date) -> Assessment:
    """The owner's slowdown type as of `on_date`, following the rules in the module docstring."""
    recent_first = on_date - timedelta(days=RECENT_DAYS - 1)
    baseline_last = recent_first - timedelta(days=1)
    baseline_first = baseline_last - timedelta(days=BASELINE_DAYS - 1)
    recent = Window.of(history, recent_first, on_date)
    baseline = Window.of(history, baseline_first, baseline_last)

    measured = baseline.days >= MIN_REPORTED_DAYS
    stated = not measured and history.usual_daily is not None
    if measured:
        enough = recent.days >= MIN_REPORTED_DAYS
        usual_contacts = baseline.rate(baseline.contacts) * recent.days
        usual_busy = baseline.rate(baseline.busy) * recent.days
        needed = max(0, MIN_REPORTED_DAYS - recent.days)
    elif stated:
        enough = recent.days >= MIN_DAYS_WITH_PACE
        usual_contacts = (history.usual_daily or 0.0) * recent.days
        usual_busy = 0.0
        needed = max(0, MIN_DAYS_WITH_PACE - recent.days)
    else:
        enough = False
        usual_contacts = usual_busy = 0.0
        # the recent days have to age into the baseline: count both windows' shortfall
        needed = max(0, MIN_REPORTED_DAYS - baseline.days) + max(0, MIN_REPORTED_DAYS - recent.days)
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
    # "busier" is said only from meetings and proposals that held or rose against a measured pace
    busy_held = measured and recent.busy > 0 and recent.busy >= BUSY_HELD_RATIO * usual_busy
    signals = _signals(history, on_date, recent_first)
    said = {
        t.value: sum(s.points for s in signals if s.type == t and s.said) for t in SLOWDOWN_TYPES
    }
    scores = {t.value: sum(s.points for s in signals if s.type == t) for t in SLOWDOWN_TYPES}
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
        baseline_source="stated" if stated else "measured",
        usual_weekly=history.usual_weekly,
        said=said,
        checkins_needed=0 if enough else max(1, needed),
    )
    if not enough:
        return Assessment(on_date, Verdict.NOT_ENOUGH_DATA, 0.0, evidence)
    if not slowdown:
        weight = min(1.0, (recent.days + max(baseline.days, recent.days)) / 30)
        return Assessment(on_date, Verdict.ON_TRACK, round(0.5 + 0.4 * weight, 2), evidence)
    return _decide(history, on_date, evidence)


def _decide(history: History, on_date: date, evidence: Evidence) -> Assessment:
    """Which type, how sure, and what else is seen: rule 5 of the module docstring."""
    scores, said = evidence.scores, evidence.said
    order = {t: i for i, t in enumerate(SLOWDOWN_TYPES)}
    ranking = sorted(SLOWDOWN_TYPES, key=lambda t: (-scores[t], -said[t], order[t]))
    total_said = sum(said.values())
    top_said = max(SLOWDOWN_TYPES, key=lambda t: (said[t], -order[t]))
    consistent = total_said >= CONSISTENT_SAID and said[top_said] >= CONSISTENT_SHARE * total_said
    if consistent:
        ranking = [top_said] + [t for t in ranking if t != top_said]
    winner, second = ranking[0], ranking[1]
    lead = scores[winner] - scores[second]
    # thin or conflicting: two candidates close together, or nothing pointing anywhere
    uncertain = not consistent and (
        (scores[second] > 0 and lead < UNCERTAIN_LEAD) or scores[winner] == 0
    )
    basis = "said" if consistent else "seen"

    quiz = history.quiz
    fresh_quiz = (
        quiz
        if quiz is not None
        and quiz.verdict in SLOWDOWN_TYPES
        and (on_date - quiz.on_date).days <= QUIZ_FRESH_DAYS
        else None
    )
    quiz_disagrees: Verdict | None = None
    quiz_agrees = False
    if fresh_quiz is not None:
        if uncertain and fresh_quiz.verdict in (winner, second):
            if fresh_quiz.verdict == second:
                winner, second = second, winner
            uncertain, basis, quiz_agrees = False, "quiz", True
        elif fresh_quiz.verdict == winner:
            quiz_agrees = True
        else:
            quiz_disagrees = fresh_quiz.verdict

    runner_up = second if scores[second] > 0 else None
    secondary = (
        runner_up
        if runner_up is not None
        and scores[second] >= SECONDARY_SCORE
        and scores[second] * 2 >= scores[winner]
        else None
    )
    seen = scores[winner] - said[winner]
    confidence = (
        (0.5 if evidence.pattern else 0.3)
        + min(0.25, 0.05 * said[winner])
        + min(0.1, 0.05 * seen)
        + min(0.15, 0.05 * max(0, scores[winner] - scores[second]))
        + (0.1 if quiz_agrees else 0.0)
    )
    if uncertain:
        confidence = min(confidence, 0.5)
    evidence = replace(
        evidence,
        runner_up=runner_up,
        basis=basis,
        secondary=None if uncertain else secondary,
        uncertain=uncertain,
        question=SEPARATING_QUESTION if uncertain else None,
        candidates=(winner, second) if uncertain else (),
        quiz_disagrees=quiz_disagrees,
    )
    return Assessment(on_date, winner, round(min(0.95, confidence), 2), evidence)


def _signals(history: History, on_date: date, recent_first: date) -> list[Signal]:
    signals: list[Signal] = []
    answers = [a for a in history.answers if recent_first <= a.day <= on_date]
    blocks = [b for b in history.blocks if recent_first <= b.day <= on_date]

    # The owner's own words, from check-ins and from skipped blocks, once per day and reason.
    reason_days: dict[str, set[date]] = {reason: set() for reason in REASON_TYPES}
    words: dict[str, list[tuple[date, str]]] = {reason: [] for reason in REASON_TYPES}
    for answer in answers:
        for reason in answer.reasons():
            reason_days[reason].add(answer.day)
            if answer.reason == "other" and answer.reason_text:
                words[reason].append((answer.day, shown(answer.reason_text)))
    for block in blocks:
        if block.reason in reason_days:
            reason_days[block.reason].add(block.day)
    day_types: dict[date, set[Verdict]] = {}
    for reason, days in reason_days.items():
        for day in days:
            day_types.setdefault(day, set()).add(REASON_TYPES[reason])
        if days:
            latest = sorted(words[reason], reverse=True)
            signals.append(
                Signal(
                    REASON_TYPES[reason],
                    f"reason_{reason}",
                    REASON_POINTS[reason] * min(len(days), REASON_DAY_CAP),
                    count=len(days),
                    last=max(days),
                    words=tuple(dict.fromkeys(w for _, w in latest))[:MAX_WORDS_SHOWN],
                )
            )

    # No system: no plan.
    no_plan_days = sorted(a.day for a in answers if a.block_done == "no_plan")
    block_answers = [a for a in answers if a.block_done is not None]
    if history.plan_blocks == 0 or (
        len(no_plan_days) >= 2 and len(no_plan_days) * 2 >= len(block_answers)
    ):
        signals.append(
            Signal(
                Verdict.UNAWARE,
                "no_plan",
                1,
                count=len(no_plan_days),
                last=no_plan_days[-1] if no_plan_days else None,
            )
        )

    # Skipped blocks, read for what the owner said that day.
    skipped = sorted(
        {a.day for a in answers if a.block_done == "no"}
        | {b.day for b in blocks if b.status in SKIPPED_BLOCK_STATUSES}
    )
    unexplained = [d for d in skipped if d not in day_types]
    if len(unexplained) >= 2:
        signals.append(
            Signal(
                Verdict.UNAWARE,
                "blocks_skipped",
                2 if len(unexplained) >= 4 else 1,
                count=len(unexplained),
                last=unexplained[-1],
            )
        )
    for kind in SLOWDOWN_TYPES:
        explained = [d for d in skipped if kind in day_types.get(d, set())]
        if len(explained) >= 2:
            signals.append(
                Signal(kind, "blocks_skipped_said", 1, count=len(explained), last=explained[-1])
            )

    # Quotes left waiting.
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

    # Nothing to aim for.
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


# ---------------------------------------------------------------------------- the next step


@dataclass(frozen=True)
class NextStep:
    """The remedy to offer, given what the owner already has (never what is already in place)."""

    verdict: Verdict
    code: str  # plan_create / plan_keep / quotes_follow_up / quotes_register / goal_create /
    #            goal_add_reward / goal_keep
    count: int = 0  # quotes to follow up, or new contacts so far toward the goal
    target: int = 0  # the goal's weekly target


def next_step(verdict: Verdict, history: History, on_date: date) -> NextStep | None:
    """One type's remedy, adapted to what the owner already has in place."""
    if verdict == Verdict.UNAWARE:
        return NextStep(verdict, "plan_keep" if history.plan_blocks else "plan_create")
    if verdict == Verdict.INTENTIONAL:
        follow_up_by = on_date - timedelta(days=FOLLOW_UP_AFTER_DAYS)
        waiting = [
            q
            for q in history.quotes
            if q.status == "open"
            and q.sent_on <= follow_up_by
            and q.expires_on >= on_date
            and (q.followed_up_on is None or q.followed_up_on <= follow_up_by)
        ]
        open_now = history.open_quotes_on(on_date)
        if waiting or open_now:
            return NextStep(verdict, "quotes_follow_up", count=len(waiting))
        return NextStep(verdict, "quotes_register")
    if verdict == Verdict.COMFORTABLE:
        goal = history.goal
        if goal is None:
            return NextStep(verdict, "goal_create")
        if not goal.reward.strip():
            return NextStep(verdict, "goal_add_reward", target=goal.weekly_contacts)
        monday = monday_of(on_date)
        so_far = sum(d.contacts for d in history.between(monday, on_date))
        return NextStep(verdict, "goal_keep", count=so_far, target=goal.weekly_contacts)
    return None


def next_steps(assessment: Assessment, history: History) -> list[NextStep]:
    """The main remedy first, the secondary type's after (mixed verdicts)."""
    if not assessment.is_slowdown:
        return []
    verdicts = [assessment.verdict]
    if assessment.evidence.secondary is not None:
        verdicts.append(assessment.evidence.secondary)
    steps = [next_step(v, history, assessment.on_date) for v in verdicts]
    return [s for s in steps if s is not None]


# ---------------------------------------------------------------------------- closing the loop


@dataclass(frozen=True)
class RemedyEffect:
    """What changed since a remedy was taken: new contacts a reported day, before and since."""

    kind: str  # plan / goal / follow_up
    since: date
    after: float
    before: float
    days_after: int


EFFECT_MIN_DAYS = 3
EFFECT_LOOKBACK_DAYS = 56


def remedy_effects(history: History, on_date: date) -> list[RemedyEffect]:
    """For each remedy taken in the last 8 weeks (plan, goal, first follow-up), the owner's
    contacts a reported day since then against the 14 days before (3+ reported days each)."""
    taken: list[tuple[str, date]] = []
    if history.plan_since is not None:
        taken.append(("plan", history.plan_since))
    if history.goal is not None:
        taken.append(("goal", history.goal.started_on))
    oldest = on_date - timedelta(days=EFFECT_LOOKBACK_DAYS)
    follow_ups = sorted(d for d in history.follow_ups if oldest <= d <= on_date)
    if follow_ups:
        taken.append(("follow_up", follow_ups[0]))
    effects = []
    for kind, since in taken:
        if since < oldest or since > on_date:
            continue
        after = Window.of(history, since, on_date)
        before = Window.of(history, since - timedelta(days=RECENT_DAYS), since - timedelta(days=1))
        if after.days >= EFFECT_MIN_DAYS and before.days >= EFFECT_MIN_DAYS:
            effects.append(
                RemedyEffect(
                    kind,
                    since,
                    round(after.rate(after.contacts), 1),
                    round(before.rate(before.contacts), 1),
                    after.days,
                )
            )
    return effects


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
