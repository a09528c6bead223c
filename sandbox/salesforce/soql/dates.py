"""SOQL date literals (``TODAY``, ``LAST_N_DAYS:30`` ...) as the range of days each stands for.

"Date Formats and Date Literals in WHERE" (SOQL and SOSL Reference,
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm):
each literal is a range of whole days starting at 00:00:00, compared with a date or a dateTime
field (``=`` inside it, ``<`` before it, ``>`` after it, ``<=``/``>=`` with the range included).
The sandbox reads them in UTC (a real org reads them in the running user's time zone) and with
weeks starting on Sunday (the en_US locale's first day of the week); quarters and years are
calendar ones (the org's default fiscal year). ``LAST_N_DAYS:n`` and ``LAST_90_DAYS`` include
today; ``NEXT_N_DAYS:n`` and ``NEXT_90_DAYS`` start tomorrow; ``N_DAYS_AGO:n`` is that one day.
The ``*_FISCAL_*`` literals are not answered (a ``MALFORMED_QUERY``, as an unknown word is).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sandbox.salesforce.soql.tree import SoqlError

DayRange = tuple[date, date]  # [start, end): the days from start, up to and without end


def _months(day: date, count: int) -> date:
    """The first of the month ``count`` months after ``day``'s (before it when negative)."""
    index = day.year * 12 + day.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _week(today: date, offset: int, weeks: int = 1) -> DayRange:
    start = today - timedelta(days=(today.weekday() + 1) % 7) + timedelta(weeks=offset)
    return start, start + timedelta(weeks=weeks)


def _month(today: date, offset: int, months: int = 1) -> DayRange:
    start = _months(today, offset)
    return start, _months(start, months)


def _quarter(today: date, offset: int) -> DayRange:
    start = _months(date(today.year, (today.month - 1) // 3 * 3 + 1, 1), 3 * offset)
    return start, _months(start, 3)


def _year(today: date, offset: int) -> DayRange:
    return date(today.year + offset, 1, 1), date(today.year + offset + 1, 1, 1)


def _days(today: date, first: int, last: int) -> DayRange:
    """From ``today + first`` days up to and without ``today + last``."""
    return today + timedelta(days=first), today + timedelta(days=last)


FIXED: dict[str, Callable[[date], DayRange]] = {
    "today": lambda t: _days(t, 0, 1),
    "yesterday": lambda t: _days(t, -1, 0),
    "tomorrow": lambda t: _days(t, 1, 2),
    "last_week": lambda t: _week(t, -1),
    "this_week": lambda t: _week(t, 0),
    "next_week": lambda t: _week(t, 1),
    "last_month": lambda t: _month(t, -1),
    "this_month": lambda t: _month(t, 0),
    "next_month": lambda t: _month(t, 1),
    "last_90_days": lambda t: _days(t, -90, 1),
    "next_90_days": lambda t: _days(t, 1, 91),
    "last_quarter": lambda t: _quarter(t, -1),
    "this_quarter": lambda t: _quarter(t, 0),
    "next_quarter": lambda t: _quarter(t, 1),
    "last_year": lambda t: _year(t, -1),
    "this_year": lambda t: _year(t, 0),
    "next_year": lambda t: _year(t, 1),
}

WITH_N: dict[str, Callable[[date, int], DayRange]] = {
    "last_n_days": lambda t, n: _days(t, -n, 1),
    "next_n_days": lambda t, n: _days(t, 1, n + 1),
    "n_days_ago": lambda t, n: _days(t, -n, -n + 1),
    "last_n_weeks": lambda t, n: (_week(t, -n)[0], _week(t, 0)[0]),
    "next_n_weeks": lambda t, n: _week(t, 1, n),
    "last_n_months": lambda t, n: (_months(t, -n), _months(t, 0)),
    "next_n_months": lambda t, n: _month(t, 1, n),
    "last_n_quarters": lambda t, n: (_quarter(t, -n)[0], _quarter(t, 0)[0]),
    "next_n_quarters": lambda t, n: (_quarter(t, 1)[0], _quarter(t, n + 1)[0]),
    "last_n_years": lambda t, n: (date(t.year - n, 1, 1), date(t.year, 1, 1)),
    "next_n_years": lambda t, n: (date(t.year + 1, 1, 1), date(t.year + n + 1, 1, 1)),
}


def is_date_literal(word: str) -> bool:
    """Whether ``word`` (a token, lowercased) is a date literal, ``:n`` ones included."""
    name, sep, _n = word.partition(":")
    return name in WITH_N if sep else name in FIXED


def day_range(word: str, today: date) -> DayRange:
    """The days ``word`` stands for on ``today``; a malformed ``:n`` is Salesforce's error."""
    name, sep, raw = word.lower().partition(":")
    if not sep:
        return FIXED[name](today)
    if not raw.isdigit():
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{word}'")
    n = int(raw)
    # Bounds as Salesforce checks them would be per literal; a huge n only needs to stay a date.
    if n > 100_000:
        raise SoqlError("MALFORMED_QUERY", f"invalid date literal value: '{word}'")
    try:
        return WITH_N[name](today, n)
    except (ValueError, OverflowError):  # before year 1 or after 9999
        raise SoqlError("MALFORMED_QUERY", f"invalid date literal value: '{word}'") from None
