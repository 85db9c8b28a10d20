"""English bank holidays computed by rule, and working-day deadlines across them."""

from __future__ import annotations

from datetime import date

import pytest

from tagging.deadlines import (
    add_working_days,
    bank_holidays,
    easter_sunday,
    is_working_day,
    working_days_between,
)


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2000, date(2000, 4, 23)),
        (2019, date(2019, 4, 21)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
        (2285, date(2285, 3, 22)),
    ],
)
def test_easter_sunday(year, easter):
    assert easter_sunday(year) == easter


def test_2026_as_published():
    assert list(bank_holidays(2026)) == [
        date(2026, 1, 1),
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 4),
        date(2026, 5, 25),
        date(2026, 8, 31),
        date(2026, 12, 25),
        date(2026, 12, 28),  # Boxing Day falls on a Saturday
    ]
    assert bank_holidays(2026)[date(2026, 4, 6)] == "Easter Monday"


@pytest.mark.parametrize(
    ("year", "christmas_days"),
    [
        (2020, [date(2020, 12, 25), date(2020, 12, 28)]),  # Boxing Day on Saturday
        (2021, [date(2021, 12, 27), date(2021, 12, 28)]),  # Christmas on Saturday
        (2022, [date(2022, 12, 26), date(2022, 12, 27)]),  # Christmas on Sunday
        (2027, [date(2027, 12, 27), date(2027, 12, 28)]),
        (2032, [date(2032, 12, 27), date(2032, 12, 28)]),
        (2033, [date(2033, 12, 26), date(2033, 12, 27)]),
    ],
)
def test_christmas_on_a_weekend_gives_substitute_days(year, christmas_days):
    december = [d for d in bank_holidays(year) if d.month == 12]
    assert december == christmas_days


def test_new_year_on_a_weekend_moves_to_monday():
    assert date(2022, 1, 3) in bank_holidays(2022)
    assert date(2022, 1, 1) not in bank_holidays(2022)
    assert bank_holidays(2023)[date(2023, 1, 2)] == "New Year's Day (substitute day)"


def test_moved_and_one_off_holidays():
    assert date(2020, 5, 8) in bank_holidays(2020) and date(2020, 5, 4) not in bank_holidays(2020)
    assert [d for d in bank_holidays(2022) if d.month == 6] == [date(2022, 6, 2), date(2022, 6, 3)]
    assert date(2022, 9, 19) in bank_holidays(2022)
    assert date(2023, 5, 8) in bank_holidays(2023)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2026, 4, 2), 1, date(2026, 4, 7)),  # Thursday before Easter
        (date(2026, 3, 30), 5, date(2026, 4, 8)),  # Easter inside the window
        (date(2026, 12, 24), 1, date(2026, 12, 29)),
        (date(2027, 12, 24), 1, date(2027, 12, 29)),
        (date(2026, 11, 2), 15, date(2026, 11, 23)),
        (date(2026, 3, 7), 0, date(2026, 3, 9)),  # Saturday: the next working day
        (date(2026, 3, 9), 0, date(2026, 3, 9)),
    ],
)
def test_working_days_skip_weekends_and_bank_holidays(start, days, due):
    assert add_working_days(start, days) == due


def test_counting_working_days_between_dates():
    assert working_days_between(date(2026, 4, 2), date(2026, 4, 7)) == 1
    assert working_days_between(date(2026, 4, 7), date(2026, 4, 2)) == -1
    assert not is_working_day(date(2026, 4, 6))
    with pytest.raises(ValueError):
        add_working_days(date(2026, 1, 5), -1)
