"""Labelled six-week owner histories, written from the article's definitions.

Each `Spec` describes an owner in a few words: their usual pace and their slump, how they report
(every day or weekdays, regularly or not, noisy numbers), what they have in place (plan, goal,
open quotes) and what they said on their low days (a button's reason, or their own words in
French or English). `build` turns it into a `History` deterministically (seeded).

Labels follow the article: the *why* decides. The unaware owner lets prospecting slip without
deciding (forgot, no time set aside, busy delivering, or says nothing: they may not notice); the
intentional owner decides because the pipeline is full; the comfortable owner feels fine (no
need, a good month, "lazy"). `ambiguous` lists the other verdicts a fair coach could give, with
the reason in `note`; `asks` marks histories where the right move is the separating question.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.services.coaching import (
    BlockRecord,
    CheckInAnswer,
    DayActivity,
    GoalRecord,
    History,
    QuizHint,
    QuoteRecord,
    Verdict,
)

TODAY = date(2026, 11, 27)  # a Friday
SPAN = 42
U, INT, C, OK = Verdict.UNAWARE, Verdict.INTENTIONAL, Verdict.COMFORTABLE, Verdict.ON_TRACK


@dataclass(frozen=True)
class Spec:
    id: str
    label: Verdict
    note: str = ""
    base: float = 4.0  # new contacts a reported day before the slump
    recent: float = 1.0  # and in the last two weeks
    busy_base: float = 1.5  # meetings + proposals a reported day before
    busy_recent: float = 1.8  # and in the last two weeks
    weekdays: bool = True
    reported: float = 1.0  # share of the expected days actually reported
    noise: int = 1  # +/- on every daily number
    plan: bool = False
    skips_unexplained: int = 0  # blocks skipped with no reason given
    open_quotes: int = 0
    followed_up: bool = False
    goal: str = "none"  # none / reward / no_reward
    deals: int = 0  # signed in the last four weeks
    reasons: tuple[str, ...] = ()  # latest first: a reason code, or "~free text"
    quiz: Verdict | None = None
    secondary: Verdict | None = None  # expected "with some … signs"
    ambiguous: tuple[Verdict, ...] = ()
    asks: bool = False  # the coach should ask the separating question
    seed: int = 0


def back(n: int) -> date:
    return TODAY - timedelta(days=n)


def build(spec: Spec) -> History:
    rng = random.Random(f"{spec.id}:{spec.seed}")
    days: list[DayActivity] = []
    for n in range(SPAN - 1, -1, -1):
        day = back(n)
        if spec.weekdays and day.weekday() >= 5:
            continue
        if n > 0 and rng.random() > spec.reported:  # today is always reported
            continue
        mean = spec.recent if n < 14 else spec.base
        busy = spec.busy_recent if n < 14 else spec.busy_base
        contacts = max(0, round(mean + rng.randint(-spec.noise, spec.noise) * 0.6))
        meetings = max(0, round(busy / 2 + rng.randint(-spec.noise, spec.noise) * 0.4))
        proposals = max(0, round(busy / 2 + rng.randint(-spec.noise, spec.noise) * 0.4))
        days.append(DayActivity(day, contacts, meetings, proposals))
    recent_days = [d.day for d in days if (TODAY - d.day).days < 14]
    recent_days.sort(reverse=True)

    answers: list[CheckInAnswer] = []
    blocks: list[BlockRecord] = []
    reason_on = dict(zip(recent_days[::2], spec.reasons, strict=False))  # every other day
    for day in recent_days:
        given = reason_on.get(day)
        if given is None:
            block = "yes" if spec.plan else "no_plan"
            answers.append(CheckInAnswer(day, block))
            continue
        block = "no" if spec.plan else "no_plan"
        if given.startswith("~"):
            answers.append(CheckInAnswer(day, block, "other", given[1:]))
        else:
            answers.append(CheckInAnswer(day, block, given))
    unexplained = [d for d in recent_days if d not in reason_on][: spec.skips_unexplained]
    blocks += [BlockRecord(d, "skipped") for d in unexplained]

    quotes = [
        QuoteRecord(
            sent_on=back(8 + 3 * i),
            expires_on=back(8 + 3 * i) + timedelta(days=30),
            followed_up_on=back(2) if spec.followed_up else None,
            client=f"Client {i}",
            amount=Decimal(1500 + 100 * i),
        )
        for i in range(spec.open_quotes)
    ]
    quotes += [
        QuoteRecord(
            sent_on=back(30 + i),
            expires_on=back(30 + i) + timedelta(days=30),
            status="signed",
            closed_on=back(5 + 4 * i),
            client=f"Signed {i}",
        )
        for i in range(spec.deals)
    ]
    goal = None
    if spec.goal != "none":
        reward = "a weekend away" if spec.goal == "reward" else ""
        goal = GoalRecord(weekly_contacts=15, reward=reward, started_on=back(60))
    return History(
        days=tuple(days),
        answers=tuple(answers),
        quotes=tuple(quotes),
        plan_blocks=2 if spec.plan else 0,
        blocks=tuple(blocks),
        goal=goal,
        quiz=QuizHint(spec.quiz, back(3)) if spec.quiz else None,
    )


PIPE_EN = "~too many client projects, pipeline is full anyway"
PIPE_FR = "~Carnet plein, j'attends les réponses aux devis"
PIPE_FR2 = "~assez de travail en ce moment, je ne peux pas prendre plus"
FORGOT_EN = "~honestly I just forgot, it slipped"
FORGOT_FR = "~J'ai oublié, rien de prévu dans l'agenda"
NEED_EN = "~doing well this month, no rush"
NEED_FR = "~Pas besoin, le mois est bon, un peu la flemme"
BUSY_FR = "~débordé par les livraisons clients"
UNKNOWN = "~dentist appointment"

SPECS: tuple[Spec, ...] = (
    # ------------------------------------------------------------------ unaware
    Spec("U01 no plan, says no time set aside", U, reasons=("no_time_set_aside",) * 4),
    Spec("U02 no plan, busy delivering every low day", U, reasons=("busy",) * 5),
    Spec(
        "U03 plan kept badly: blocks skipped, no reason",
        U,
        plan=True,
        skips_unexplained=5,
        goal="reward",
    ),
    Spec(
        "U04 plan, skipped blocks, 'no time set aside'",
        U,
        plan=True,
        reasons=("no_time_set_aside",) * 3,
        skips_unexplained=2,
    ),
    Spec(
        "U05 open quotes waiting but says he forgot",
        U,
        open_quotes=3,
        reasons=("no_time_set_aside",) * 4,
    ),
    Spec(
        "U06 open quotes, followed up, busy and no time",
        U,
        open_quotes=2,
        followed_up=True,
        reasons=("busy", "no_time_set_aside", "busy", "no_time_set_aside"),
    ),
    Spec("U07 English free text: forgot", U, reasons=(FORGOT_EN,) * 3 + ("busy",)),
    Spec("U08 French free text: oublié", U, reasons=(FORGOT_FR,) * 3, goal="reward"),
    Spec("U09 French: débordé par les livraisons", U, reasons=(BUSY_FR,) * 4 + ("busy",)),
    Spec(
        "U10 irregular reporting (60 %), no time",
        U,
        reported=0.6,
        reasons=("no_time_set_aside",) * 3,
    ),
    Spec(
        "U11 reports weekends too, noisy numbers",
        U,
        weekdays=False,
        noise=2,
        reasons=("no_time_set_aside", "busy", "no_time_set_aside"),
    ),
    Spec(
        "U12 silent drop: no plan, no reasons, a goal",
        U,
        goal="reward",
        note="says nothing; no plan is the only sign: the unaware may not notice",
    ),
    Spec(
        "U13 silent drop, nothing in place",
        U,
        asks=True,
        ambiguous=(C,),
        note="no reasons, no plan, no goal: unaware or comfortable both fit; the coach asks",
    ),
    Spec(
        "U14 quiz settles a silent drop",
        U,
        quiz=U,
        note="same as U13, the owner answered 'I forgot' to the separating question",
    ),
    Spec(
        "U15 weekday owner with a goal, busy + no time",
        U,
        goal="reward",
        plan=True,
        reasons=("busy", "no_time_set_aside", "busy", "busy"),
    ),
    Spec(
        "U16 slump while meetings fell too", U, busy_recent=0.6, reasons=("no_time_set_aside",) * 3
    ),
    Spec(
        "U17 mostly unaware, some comfortable",
        U,
        secondary=C,
        reasons=(
            "no_time_set_aside",
            "no_time_set_aside",
            "no_need",
            "no_time_set_aside",
            "no_need",
        ),
    ),
    # ------------------------------------------------------------------ intentional
    Spec(
        "I01 no plan, pipeline full, quotes open",
        INT,
        open_quotes=4,
        reasons=("pipeline_full",) * 4,
    ),
    Spec(
        "I02 plan, blocks skipped 'pipeline full'",
        INT,
        plan=True,
        open_quotes=3,
        reasons=("pipeline_full",) * 4,
    ),
    Spec(
        "I03 no open quotes, still says pipeline full",
        INT,
        reasons=("pipeline_full",) * 4,
        note="work booked by word of mouth: no quotes in the bot",
    ),
    Spec("I04 plan, no quotes, pipeline full", INT, plan=True, reasons=("pipeline_full",) * 3),
    Spec("I05 issue's owner: English free text", INT, open_quotes=3, reasons=(PIPE_EN,) * 5),
    Spec("I06 French free text: carnet plein", INT, open_quotes=2, reasons=(PIPE_FR,) * 4),
    Spec("I07 French: assez de travail", INT, plan=True, reasons=(PIPE_FR2,) * 3),
    Spec(
        "I08 quotes followed up, pipeline full",
        INT,
        open_quotes=3,
        followed_up=True,
        reasons=("pipeline_full",) * 3,
    ),
    Spec(
        "I09 irregular reporting (60 %)",
        INT,
        reported=0.6,
        open_quotes=2,
        reasons=("pipeline_full",) * 3,
    ),
    Spec(
        "I10 weekends and noise",
        INT,
        weekdays=False,
        noise=2,
        open_quotes=3,
        reasons=("pipeline_full", "busy", "pipeline_full", "pipeline_full"),
    ),
    Spec(
        "I11 pipeline full and busy delivering",
        INT,
        open_quotes=3,
        reasons=("pipeline_full", "busy", "pipeline_full", "busy", "pipeline_full"),
    ),
    Spec(
        "I12 goal with reward, still pipeline full",
        INT,
        goal="reward",
        open_quotes=2,
        reasons=("pipeline_full",) * 3,
    ),
    Spec(
        "I13 silent, four quotes never followed up",
        INT,
        open_quotes=4,
        plan=True,
        goal="reward",
        note="says nothing, but has a plan and a goal: only the quotes speak",
    ),
    Spec(
        "I14 mostly intentional, some comfortable",
        INT,
        open_quotes=3,
        secondary=C,
        reasons=("pipeline_full", "no_need", "pipeline_full", "no_need", "pipeline_full"),
    ),
    Spec(
        "I15 quiz says intentional on thin data",
        INT,
        open_quotes=1,
        quiz=INT,
        note="no reasons; one open quote and no plan tie: the quiz decides",
    ),
    Spec(
        "I16 meetings fell while quotes piled up",
        INT,
        busy_recent=0.5,
        open_quotes=5,
        reasons=("pipeline_full",) * 3,
    ),
    # ------------------------------------------------------------------ comfortable
    Spec("C01 no need, no goal, deals signed", C, deals=2, reasons=("no_need",) * 4),
    Spec("C02 plan kept, no need", C, plan=True, reasons=("no_need",) * 3),
    Spec("C03 goal without reward, no need", C, goal="no_reward", reasons=("no_need",) * 3),
    Spec(
        "C04 open quotes but 'no need'",
        C,
        open_quotes=3,
        reasons=("no_need",) * 4,
        note="quotes waiting, yet the owner says things are fine",
    ),
    Spec("C05 English free text", C, reasons=(NEED_EN,) * 4),
    Spec("C06 French free text: flemme", C, deals=1, reasons=(NEED_FR,) * 3),
    Spec("C07 irregular reporting", C, reported=0.6, reasons=("no_need",) * 3),
    Spec("C08 weekends and noise", C, weekdays=False, noise=2, reasons=("no_need",) * 4),
    Spec("C09 goal with reward, still no need", C, goal="reward", reasons=("no_need",) * 3),
    Spec(
        "C10 no need, some busy days", C, reasons=("no_need", "busy", "no_need", "no_need", "busy")
    ),
    Spec(
        "C11 mostly comfortable, some intentional",
        C,
        open_quotes=2,
        secondary=INT,
        reasons=("no_need", "pipeline_full", "no_need", "no_need", "pipeline_full"),
    ),
    Spec(
        "C12 quiet, deals signed, quiz says fine",
        C,
        deals=3,
        quiz=C,
        note="no reasons; deals and no goal against no plan: the quiz decides",
    ),
    Spec("C13 slump while work fell too", C, busy_recent=0.5, reasons=("no_need",) * 3),
    # ------------------------------------------------------------------ hard and on track
    Spec(
        "X01 pipeline full and forgot in equal parts",
        INT,
        open_quotes=3,
        asks=True,
        ambiguous=(U,),
        reasons=("pipeline_full", "no_time_set_aside") * 2,
        note="two reasons in equal parts: the coach asks rather than guesses",
    ),
    Spec(
        "X02 unreadable free text only",
        U,
        asks=True,
        ambiguous=(C,),
        reasons=(UNKNOWN,) * 3,
        note="words the lexicon can't read point nowhere: a silent drop",
    ),
    Spec("O01 steady prospecting, pipeline full", OK, recent=4.0, reasons=("pipeline_full",) * 2),
    Spec("O02 steady, weekends, noisy", OK, recent=3.8, weekdays=False, noise=2),
    Spec("O03 small dip (about -15 %)", OK, recent=3.5),
)
