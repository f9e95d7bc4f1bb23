"""The review chart is a real PNG, drawn fast enough to answer /stats right away."""

from __future__ import annotations

from datetime import date, timedelta

from bot.services.charts import PNG_MAGIC, ChartLabels, activity_chart
from bot.services.coaching import DayActivity

FIRST = date(2026, 11, 2)
DAYS = [
    DayActivity(
        FIRST + timedelta(days=n), contacts=max(0, 6 - n // 4), meetings=n % 3, proposals=n % 2
    )
    for n in range(28)
]


def labels(days: list[DayActivity]) -> ChartLabels:
    return ChartLabels(
        title="Nouveaux contacts, rendez-vous et devis : 4 semaines",
        contacts="Nouveaux contacts",
        meetings="Rendez-vous",
        proposals="Devis envoyés",
        days=[d.day.strftime("%d/%m") for d in days],
    )


def test_chart_is_a_png() -> None:
    png = activity_chart(DAYS, labels(DAYS))
    assert png.startswith(PNG_MAGIC) and 5_000 < len(png) < 500_000


def test_chart_of_an_empty_month_and_a_single_day() -> None:
    empty = [DayActivity(FIRST + timedelta(days=n)) for n in range(28)]
    assert activity_chart(empty, labels(empty)).startswith(PNG_MAGIC)
    assert activity_chart(DAYS[:1], labels(DAYS[:1])).startswith(PNG_MAGIC)
