"""The Summary's charts, made by openpyxl so the trend is seen, not read."""

from __future__ import annotations

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

CHART_WIDTH_CM = 18.0


def trend_chart(ws: WriteOnlyWorksheet, header_row: int, last_row: int) -> BarChart:
    """Cases opened and closed each week as bars, cases open at each week's end as a line.

    Columns: A week ending, B new, C closed, D open; the header row names the series.
    """
    bars = BarChart()
    bars.type = "col"
    bars.title = "New, closed and open cases, last 12 weeks"
    bars.y_axis.title = "New and closed"
    bars.add_data(
        Reference(ws, min_col=2, max_col=3, min_row=header_row, max_row=last_row),
        titles_from_data=True,
    )
    weeks = Reference(ws, min_col=1, min_row=header_row + 1, max_row=last_row)
    bars.set_categories(weeks)
    bars.x_axis.number_format = "d mmm"
    line = LineChart()
    line.add_data(
        Reference(ws, min_col=4, min_row=header_row, max_row=last_row), titles_from_data=True
    )
    line.y_axis.axId = 200
    line.y_axis.title = "Open at week end"
    line.y_axis.crosses = "max"
    _show_axes(bars, line)
    bars += line
    bars.width, bars.height = CHART_WIDTH_CM, 9.0
    return bars


def issue_chart(ws: WriteOnlyWorksheet, header_row: int, last_row: int) -> BarChart:
    """Open cases and this week's new ones per issue, as horizontal bars.

    Columns: A issue, B new, C closed, D open.
    """
    chart = BarChart()
    chart.type = "bar"
    chart.title = "By primary issue: open at week end and new this week"
    chart.add_data(
        Reference(ws, min_col=4, min_row=header_row, max_row=last_row), titles_from_data=True
    )
    chart.add_data(
        Reference(ws, min_col=2, min_row=header_row, max_row=last_row), titles_from_data=True
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=last_row))
    chart.x_axis.scaling.orientation = "maxMin"  # the biggest issue at the top, as in the table
    _show_axes(chart)
    chart.width = CHART_WIDTH_CM
    chart.height = max(7.0, 0.6 * (last_row - header_row) + 3)
    return chart


def _show_axes(*charts: BarChart | LineChart) -> None:
    """openpyxl 3.1 marks axes deleted by default, and recent Excel then hides them."""
    for chart in charts:
        chart.x_axis.delete = False
        chart.y_axis.delete = False
