"""The warehouse's business-day calendar: when an order is due (docs/architecture.md, "Orders").

A business day is a weekday that is neither a Japanese national holiday (the ``holidays``
package, country JP, which follows the Cabinet Office's list including substitute holidays)
nor one of the company's own closed days (year-end, summer; set by an admin). An order
received on a business day before the daily cut-off counts that day as day 0; received later,
or on a closed day, it counts from the next business day. It is due at the cut-off time of
the business day ``due_days`` after day 0: the carrier's last pick-up of that day.

Every due date comes with the steps that made it (:attr:`DueDate.basis`), because "why is this
due on Wednesday?" is the first question the bench asks about a long weekend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import holidays

from provisioner.domain.errors import Invalid

JST = dt.timezone(dt.timedelta(hours=9), "JST")  # the warehouse's clock; Japan has no DST
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LOOKAHEAD = 400  # days: more closed days than that in a row is a mistake, not a calendar


def parse_cutoff(text: str) -> dt.time:
    """``HH:MM`` on the warehouse's clock (a setting), else Invalid naming the value."""
    try:
        hours, minutes = (int(part) for part in text.strip().split(":"))
        return dt.time(hours, minutes)
    except ValueError as exc:
        raise Invalid(f"the order cut-off must be HH:MM, not {text!r}") from exc


@dataclass(frozen=True)
class DueDate:
    due_at: dt.datetime  # aware, JST
    day_zero: dt.date
    basis: str  # how it was computed, for the pages and the API


class BusinessCalendar:
    """National holidays of Japan plus the company's closed days, with a daily cut-off."""

    def __init__(
        self, closed_days: Collection[dt.date] = (), cutoff: dt.time = dt.time(15, 0)
    ) -> None:
        self._closed = frozenset(closed_days)
        self._cutoff = cutoff
        self._national = holidays.country_holidays("JP", language="en_US")

    def national_holiday(self, day: dt.date) -> str | None:
        """The holiday's name (English), or None."""
        name = self._national.get(day)
        return str(name) if name else None

    def closed_reason(self, day: dt.date) -> str | None:
        """Why the warehouse is closed that day (weekend, holiday, company), or None."""
        if day.weekday() >= 5:
            return "weekend"
        holiday = self.national_holiday(day)
        if holiday:
            return f"national holiday: {holiday}"
        if day in self._closed:
            return "company closed day"
        return None

    def is_business_day(self, day: dt.date) -> bool:
        return self.closed_reason(day) is None

    def next_business_day(self, day: dt.date, skipped: list[str] | None = None) -> dt.date:
        """The first business day after ``day``; the closed days passed are noted in skipped."""
        for _ in range(_LOOKAHEAD):
            day += dt.timedelta(days=1)
            reason = self.closed_reason(day)
            if reason is None:
                return day
            if skipped is not None and reason != "weekend":
                skipped.append(f"{_day(day)} {reason}")
        raise Invalid(f"no business day within {_LOOKAHEAD} days of {day}: check the closed days")

    def due(self, received_at: dt.datetime, due_days: int = 2) -> DueDate:
        """When an order received at that moment must ship, and why."""
        local = received_at.astimezone(JST)
        cutoff = self._cutoff.strftime("%H:%M")
        skipped: list[str] = []
        if self.is_business_day(local.date()) and local.time() < self._cutoff:
            day_zero = local.date()
            steps = [f"received {_moment(local)}, before the {cutoff} cut-off: day 0"]
        else:
            why = self.closed_reason(local.date()) or f"after the {cutoff} cut-off"
            day_zero = self.next_business_day(local.date(), skipped)
            steps = [f"received {_moment(local)} ({why}): day 0 is {_day(day_zero)}"]
        due_day = day_zero
        for _ in range(due_days):
            due_day = self.next_business_day(due_day, skipped)
        steps.append(f"+{due_days} business days: {_day(due_day)} {cutoff}")
        if skipped:
            steps.append("skipped " + ", ".join(skipped))
        due_at = dt.datetime.combine(due_day, self._cutoff, tzinfo=JST)
        return DueDate(due_at, day_zero, "; ".join(steps))


def _day(day: dt.date) -> str:
    return f"{day.isoformat()} ({_WEEKDAYS[day.weekday()]})"


def _moment(local: dt.datetime) -> str:
    return f"{_day(local.date())} {local.strftime('%H:%M')} JST"
