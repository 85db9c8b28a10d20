"""The review page's charts as shapes for inline SVG: drawn on the server, a few hundred bytes
each, no script. The template writes the shapes, so every label is escaped there."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm.reports.figures import Breakdown, WeekFigures

WIDTH, TREND_HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 44, 12, 28
ROW_HEIGHT, LABEL_WIDTH = 22, 210
ISSUES_SHOWN = 12
NEW, CLOSED, OPEN = "#0b5394", "#9fc5e8", "#e69500"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass
class Chart:
    """What the template draws: bars, one line of points, labels."""

    width: int
    height: int
    title: str
    bars: list[Bar] = field(default_factory=list)
    line: str = ""
    dots: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)


def trend_chart(trend: list[WeekFigures]) -> Chart:
    """New and closed as bars (left scale), open at each week's end as a line (right scale)."""
    chart = Chart(WIDTH, TREND_HEIGHT, "New, closed and open cases, last 12 weeks")
    plot_width, plot_height = WIDTH - LEFT - RIGHT, TREND_HEIGHT - TOP - BOTTOM
    bars_top = max([1, *(max(w.new, w.closed) for w in trend)])
    open_top = max([1, *(w.open for w in trend)])
    slot = plot_width / max(1, len(trend))
    points = []
    for i, week in enumerate(trend):
        x = LEFT + i * slot
        day = f"{week.week.ending:%d/%m}"
        for offset, value, colour, what in (
            (0.15, week.new, NEW, "new"),
            (0.5, week.closed, CLOSED, "closed"),
        ):
            height = plot_height * value / bars_top
            chart.bars.append(
                Bar(
                    x + slot * offset,
                    TOP + plot_height - height,
                    slot * 0.33,
                    height,
                    colour,
                    f"week ending {day}: {value} {what}",
                )
            )
        y = TOP + plot_height * (1 - week.open / open_top)
        points.append(f"{x + slot / 2:.1f},{y:.1f}")
        chart.dots.append(
            Bar(x + slot / 2 - 3, y - 3, 6, 6, OPEN, f"week ending {day}: {week.open} open")
        )
        if i % 2 == len(trend) % 2 or i == len(trend) - 1:
            chart.labels.append(Label(x + slot / 2, TREND_HEIGHT - 10, day, "middle"))
    chart.line = " ".join(points)
    chart.labels += [
        Label(LEFT - 6, TOP + 10, str(bars_top), "end"),
        Label(LEFT - 6, TOP + plot_height, "0", "end"),
        Label(WIDTH - RIGHT + 6, TOP + 10, str(open_top)),
        Label(WIDTH - RIGHT + 6, TOP + plot_height, "0"),
    ]
    return chart


def issue_chart(issues: list[Breakdown]) -> Chart:
    """Open cases per issue as horizontal bars, the biggest first, new ones beside them."""
    shown = issues[:ISSUES_SHOWN]
    chart = Chart(WIDTH, max(1, len(shown)) * ROW_HEIGHT + 8, "Open cases by primary issue")
    top = max([1, *(b.open for b in shown)])
    room = WIDTH - LABEL_WIDTH - 60
    for i, issue in enumerate(shown):
        y = 4 + i * ROW_HEIGHT
        width = room * issue.open / top
        chart.labels.append(Label(LABEL_WIDTH - 6, y + 14, _short(issue.label), "end"))
        chart.bars.append(
            Bar(
                LABEL_WIDTH,
                y + 3,
                width,
                ROW_HEIGHT - 8,
                NEW,
                f"{issue.label}: {issue.open} open, {issue.new} new this week",
            )
        )
        chart.labels.append(Label(LABEL_WIDTH + width + 6, y + 14, f"{issue.open} (+{issue.new})"))
    return chart


def _short(text: str, most: int = 30) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
