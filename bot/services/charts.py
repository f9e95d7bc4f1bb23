"""The weekly review chart: new contacts a day (bars) against meetings and proposals (lines).

matplotlib is imported inside the function (a bot that never draws does not pay for it) and
drawn with the Agg canvas through the object API: no pyplot, no global state, safe in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

from bot.services.coaching import DayActivity

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CONTACTS_COLOUR = "#2a7de1"
MEETINGS_COLOUR = "#e8833a"
PROPOSALS_COLOUR = "#3aa76d"


@dataclass(frozen=True)
class ChartLabels:
    """Words drawn on the chart, in the owner's language; `days` labels each bar."""

    title: str
    contacts: str
    meetings: str
    proposals: str
    days: Sequence[str]


def activity_chart(days: Sequence[DayActivity], labels: ChartLabels) -> bytes:
    """A PNG of the days given (four weeks in the review), so "busier, prospecting less" shows."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(days)))
    bars = axes.bar(
        positions,
        [d.contacts for d in days],
        color=CONTACTS_COLOUR,
        alpha=0.85,
        label=labels.contacts,
    )
    (meetings,) = axes.plot(
        positions,
        [d.meetings for d in days],
        color=MEETINGS_COLOUR,
        marker="o",
        markersize=3,
        linewidth=2,
        label=labels.meetings,
    )
    (proposals,) = axes.plot(
        positions,
        [d.proposals for d in days],
        color=PROPOSALS_COLOUR,
        marker="s",
        markersize=3,
        linewidth=2,
        label=labels.proposals,
    )
    # One tick a week (the first day of each week shown) keeps the axis readable on a phone.
    ticks = positions[::7]
    axes.set_xticks(ticks, [labels.days[i] for i in ticks])
    for week_start in ticks[1:]:
        axes.axvline(week_start - 0.5, color="#cccccc", linewidth=0.8, zorder=0)
    axes.set_xlim(-0.6, max(len(days) - 0.4, 0.4))
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(labels.title, fontsize=12)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(
        handles=[bars, meetings, proposals],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.1),
        frameon=False,
        fontsize=9,
        ncols=3,
    )
    figure.tight_layout()
    buffer = BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
