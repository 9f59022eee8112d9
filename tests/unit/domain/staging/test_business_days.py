"""The business-day calendar: cut-off, national holidays (checked against the library), company
closed days, and the basis each due date carries."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest

from provisioner.domain.errors import Invalid
from provisioner.domain.staging.business_days import JST, BusinessCalendar, parse_cutoff
from provisioner.settings import Settings, SettingsError


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=JST)


def test_friday_evening_after_cutoff_before_a_national_holiday_monday() -> None:
    # 2026-07-20 is Marine Day (Monday). Received Friday 18:30, after the 15:00 cut-off:
    # day 0 is Tuesday 21st, two business days later is Thursday 23rd.
    calendar = BusinessCalendar(cutoff=dt.time(15, 0))
    due = calendar.due(at("2026-07-17T18:30"))
    assert due.day_zero == dt.date(2026, 7, 21)
    assert due.due_at == at("2026-07-23T15:00")
    assert "after the 15:00 cut-off" in due.basis
    assert "2026-07-20 (Mon) national holiday: Marine Day" in due.basis


def test_before_the_cutoff_the_day_counts() -> None:
    due = BusinessCalendar().due(at("2026-07-17T14:59"))
    assert due.day_zero == dt.date(2026, 7, 17)
    assert due.due_at == at("2026-07-22T15:00")  # Fri -> (weekend, Mon holiday) Tue, Wed


def test_a_company_closed_day_moves_it() -> None:
    plain = BusinessCalendar().due(at("2026-07-17T18:30"))
    closed = BusinessCalendar({dt.date(2026, 7, 22)}).due(at("2026-07-17T18:30"))
    assert plain.due_at.date() == dt.date(2026, 7, 23)
    assert closed.due_at.date() == dt.date(2026, 7, 24)
    assert "2026-07-22 (Wed) company closed day" in closed.basis


def test_received_on_a_closed_day_counts_from_the_next_business_day() -> None:
    year_end = {dt.date(2026, 12, 29), dt.date(2026, 12, 30), dt.date(2026, 12, 31)}
    due = BusinessCalendar(year_end).due(at("2026-12-29T09:00"))
    # 2027-01-01 New Year's Day, 01-02/03 weekend: day 0 is Monday 4th.
    assert due.day_zero == dt.date(2027, 1, 4)
    assert due.due_at == at("2027-01-06T15:00")


def test_utc_input_is_read_on_the_warehouse_clock() -> None:
    # 2026-07-17 05:00 UTC is 14:00 JST: before the cut-off.
    due = BusinessCalendar().due(dt.datetime(2026, 7, 17, 5, 0, tzinfo=dt.UTC))
    assert due.day_zero == dt.date(2026, 7, 17)


@pytest.mark.parametrize("year", [2026, 2027])
def test_every_national_holiday_of_the_year_is_closed(year: int) -> None:
    calendar = BusinessCalendar()
    listed = holidays.country_holidays("JP", years=year)
    assert len(listed) >= 16  # Japan has 16 fixed and moving holidays plus substitutes
    for day in listed:
        assert not calendar.is_business_day(day), day
    days = [dt.date(year, 1, 1) + dt.timedelta(days=n) for n in range(365)]
    open_days = [d for d in days if d.weekday() < 5 and d not in listed]
    assert all(calendar.is_business_day(d) for d in open_days)


def test_known_holidays_2026_and_2027() -> None:
    # A few fixed points, so a library that forgot Japan would fail here, not pass silently.
    calendar = BusinessCalendar()
    for day in ("2026-05-06", "2026-09-22", "2027-03-22", "2027-11-23"):
        assert calendar.national_holiday(dt.date.fromisoformat(day)), day
    assert calendar.national_holiday(dt.date(2026, 7, 21)) is None


def test_a_bad_cutoff_is_refused() -> None:
    assert parse_cutoff("15:30") == dt.time(15, 30)
    with pytest.raises(Invalid, match="HH:MM"):
        parse_cutoff("3pm")


@pytest.mark.parametrize(("name", "value"), [("order_cutoff", "25:00"), ("order_cutoff", "3pm"),
                                              ("order_due_days", "31")])  # fmt: skip
def test_order_settings_are_checked(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(f"PROVISIONER_{name.upper()}", value)
    with pytest.raises(SettingsError, match=name.upper()):
        Settings.load().validate()
    monkeypatch.setenv(f"PROVISIONER_{name.upper()}", "16:30" if name == "order_cutoff" else "3")
    assert Settings.load().validate()
