"""The year plan (README "The reminder ladder"): properties, named DST and holiday cases, the 2012
golden plan.

Small wheels are written as YAML and loaded with :func:`models.config.loads`, so they pass
the same checks as a real ``aarshjul.yaml``. The properties compare the plan with oracles
that do not use the code under test: business days from an Easter computus
(``test_calendar``), UTC offsets from the EU rule (summer time from the last Sunday of
March to the last Sunday of October).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.calendar import BusinessCalendar
from models.config import load, loads
from models.plan import (
    PlannedRequest,
    Slot,
    YearPlan,
    calendar_for,
    is_after,
    local_instant,
    parse_instant,
    reminder_slots,
    require_aware,
    year_plan,
)
from models.wheel import Wheel
from tests import CPH, ROOT
from tests.models import golden_2012 as golden
from tests.models.test_calendar import oracle_is_business_day

# --- small wheels -----------------------------------------------------------------------

SMALL = """\
version: 1
policy:
  name: Prøvehjul
  owner: EJER
  years: [{y0}, {y1}]
  timezone: {tz}
  country: DK
  closed_days: [{closed}]
  send_time: "{send}"
  sender: {{name: Afsender, email: afsender@kk.example}}
  coordinator: {{name: Koordinator, email: koordinator@kk.example}}
committees:
  - {{key: EJER, name: Ejerudvalget, to: [ejer@kk.example]}}
  - {{key: A, name: Udvalg A, to: [a@kk.example]}}
deliverables:
  - key: plan
    title: Plan
    due: "{due}"
    if_closed: {if_closed}
    reminders: {{before: [{before}], after: [{after}]{escalate}}}
events:
  - key: brev
    title: Brev
    date: "{opens}"
    do: letters
    letter: opfordringsskrivelse
    opens: [plan]
"""


@dataclass(frozen=True)
class Spec:
    year: int
    due: str  # MM-DD
    if_closed: str = "keep"
    before: tuple[int, ...] = ()
    after: tuple[int, ...] = ()
    escalate: int | None = None
    opens: str = "01-10"
    closed: tuple[str, ...] = ()
    send: str = "09:00"
    tz: str = "Europe/Copenhagen"

    def yaml(self) -> str:
        return SMALL.format(
            y0=self.year,
            y1=self.year,
            tz=self.tz,
            closed=", ".join(f'"{c}"' for c in self.closed),
            send=self.send,
            due=self.due,
            if_closed=self.if_closed,
            before=", ".join(map(str, self.before)),
            after=", ".join(map(str, self.after)),
            escalate="" if self.escalate is None else f", escalate_after: {self.escalate}",
            opens=self.opens,
        )

    @property
    def closed_md(self) -> frozenset[tuple[int, int]]:
        return frozenset((int(c[:2]), int(c[3:])) for c in self.closed)

    @property
    def clock(self) -> time:
        return time(int(self.send[:2]), int(self.send[3:]))


@functools.lru_cache(maxsize=256)
def wheel_of(spec: Spec) -> Wheel:
    return loads(spec.yaml(), "proevehjul.yaml").wheel


def plan_of(spec: Spec) -> YearPlan:
    return year_plan(wheel_of(spec), spec.year)


def the_request(plan: YearPlan) -> PlannedRequest:
    (req,) = plan.requests  # committee A only: the owner is left out by default
    assert (req.committee, req.deliverable, req.opened_by) == ("A", "plan", "brev")
    return req


def md(d: date) -> str:
    return f"{d.month:02d}-{d.day:02d}"


# --- oracles --------------------------------------------------------------------------------


def last_sunday(year: int, month: int) -> date:
    d = date(year, month, 31)
    while d.weekday() != 6:
        d -= timedelta(days=1)
    return d


def cph_offset(day: date) -> timedelta:
    """Copenhagen's offset on a day that is not a DST Sunday (so at any time of that day)."""
    assert day not in (last_sunday(day.year, 3), last_sunday(day.year, 10))
    summer = last_sunday(day.year, 3) < day < last_sunday(day.year, 10)
    return timedelta(hours=2 if summer else 1)


def oracle_roll(d: date, how: str, closed: frozenset[tuple[int, int]]) -> date:
    if how == "keep":
        return d
    step = timedelta(days=-1 if how == "previous" else 1)
    while not oracle_is_business_day(d, closed):
        d += step
    return d


def nominal_day(name: str, due: date) -> tuple[str, int, date]:
    """(kind, N, nominal day) of a slot name, counted from the moved due date."""
    kind, _, n = name.partition("-")
    if kind == "escalate":
        raise AssertionError("escalate carries its N in Slot.days")
    days = int(n)
    return (
        kind,
        days,
        due - timedelta(days=days) if kind == "before" else due + timedelta(days=days),
    )


def oracle_utc(day: date, clock: time) -> datetime:
    return (datetime.combine(day, clock) - cph_offset(day)).replace(tzinfo=UTC)


def oracle_slots(
    spec: Spec, due: date, opened_utc: datetime
) -> list[tuple[str, date, tuple[str, ...]]]:
    closed = spec.closed_md
    groups: dict[date, list[tuple[str, int]]] = {}
    for n in spec.before:
        groups.setdefault(oracle_roll(due - timedelta(days=n), "previous", closed), []).append(
            ("before", n)
        )
    for n in spec.after:
        groups.setdefault(oracle_roll(due + timedelta(days=n), "next", closed), []).append(
            ("after", n)
        )
    out: list[tuple[str, date, tuple[str, ...]]] = []
    for day, named in groups.items():
        named.sort(key=lambda kn: kn[1])
        out.append((f"{named[0][0]}-{named[0][1]}", day, tuple(f"{k}-{n}" for k, n in named[1:])))
    if spec.escalate is not None:
        out.append(
            ("escalate", oracle_roll(due + timedelta(days=spec.escalate), "next", closed), ())
        )
    out = [s for s in out if oracle_utc(s[1], spec.clock) > opened_utc]
    out.sort(key=lambda s: (s[1], s[0] == "escalate"))
    return out


# --- strategies -----------------------------------------------------------------------------

NONLEAP_MD = st.dates(date(2001, 1, 1), date(2001, 12, 31)).map(md)
SEND_TIMES = ["00:00", "07:30", "09:00", "12:00", "16:45", "23:59"]  # none in a DST gap
OFFSETS = st.lists(st.integers(1, 40), unique=True, max_size=4).map(tuple)


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    year = draw(st.integers(2011, 2030))
    in_year = st.dates(date(year, 1, 1), date(year, 12, 31)).map(md)
    return Spec(
        year=year,
        due=draw(in_year),
        if_closed=draw(st.sampled_from(["keep", "previous", "next"])),
        before=draw(OFFSETS),
        after=draw(st.lists(st.integers(1, 40), unique=True, max_size=3).map(tuple)),
        escalate=draw(st.none() | st.integers(1, 60)),
        opens=draw(in_year),
        closed=tuple(sorted(draw(st.frozensets(NONLEAP_MD, max_size=6)))),
        send=draw(st.sampled_from(SEND_TIMES)),
    )


PROPS = settings(max_examples=60, deadline=None)


def members(s: Slot) -> tuple[str, ...]:
    return (s.name, *s.merged)


# --- properties -----------------------------------------------------------------------------


@PROPS
@given(spec=specs())
def test_a_moved_due_date_is_a_business_day_except_keep(spec: Spec) -> None:
    pd = plan_of(spec).deliverable("plan")
    assert pd.nominal == date(spec.year, int(spec.due[:2]), int(spec.due[3:]))
    if spec.if_closed == "keep" or oracle_is_business_day(pd.nominal, spec.closed_md):
        assert pd.due == pd.nominal
    else:
        assert oracle_is_business_day(pd.due, spec.closed_md)
        assert (pd.due < pd.nominal) == (spec.if_closed == "previous")


def _assert_no_business_day_between(a: date, b: date, closed: frozenset[tuple[int, int]]) -> None:
    lo, hi = min(a, b), max(a, b)
    crossed = [
        lo + timedelta(days=k)
        for k in range(1, (hi - lo).days)
        if oracle_is_business_day(lo + timedelta(days=k), closed)
    ]
    assert not crossed, f"moving {a} to {b} crosses the business days {crossed}"
    if a != b:
        assert not oracle_is_business_day(a, closed), f"{a} is a business day but moved to {b}"


@PROPS
@given(spec=specs())
def test_a_move_never_crosses_another_business_day(spec: Spec) -> None:
    plan = plan_of(spec)
    closed = spec.closed_md
    pd = plan.deliverable("plan")
    _assert_no_business_day_between(pd.nominal, pd.due, closed)
    for ev in plan.events:
        assert ev.day >= ev.nominal and oracle_is_business_day(ev.day, closed)
        _assert_no_business_day_between(ev.nominal, ev.day, closed)
    for s in the_request(plan).slots:
        assert oracle_is_business_day(s.day, closed)
        if s.kind == "escalate":
            nominal = pd.due + timedelta(days=s.days)
            assert s.day >= nominal
            _assert_no_business_day_between(nominal, s.day, closed)
            continue
        for name in members(s):
            kind, _, nominal = nominal_day(name, pd.due)
            assert kind == s.kind
            assert (s.day <= nominal) if kind == "before" else (s.day >= nominal)
            _assert_no_business_day_between(nominal, s.day, closed)


@PROPS
@given(spec=specs())
def test_the_ladder_order_is_preserved(spec: Spec) -> None:
    plan = plan_of(spec)
    due = plan.deliverable("plan").due
    slots = the_request(plan).slots
    utc = [s.at.astimezone(UTC) for s in slots]
    assert utc == sorted(utc)
    before = [s for s in slots if s.kind == "before"]
    after = [s for s in slots if s.kind == "after"]
    # before slots: N descending, strictly later instants; all of them before the due date
    assert [s.days for s in before] == sorted((s.days for s in before), reverse=True)
    assert all(is_after(b.at, a.at) for a, b in itertools.pairwise(before))
    assert all(s.day < due for s in before)
    # after slots: N ascending, strictly later instants; all after the due date
    assert [s.days for s in after] == sorted(s.days for s in after)
    assert all(is_after(b.at, a.at) for a, b in itertools.pairwise(after))
    assert all(s.day > due for s in after)
    if before and after:
        assert is_after(after[0].at, before[-1].at)
    # escalate is never before an after-slot of the same N or less, and follows it on a tie
    for i, esc in enumerate(slots):
        if esc.kind != "escalate":
            continue
        assert esc.day > due
        for j, s in enumerate(slots):
            if s.kind == "after" and any(nominal_day(m, due)[1] <= esc.days for m in members(s)):
                assert s.day <= esc.day and j < i


@PROPS
@given(spec=specs())
def test_every_instant_carries_the_policy_offset_at_send_time(spec: Spec) -> None:
    plan = plan_of(spec)
    assert plan.timezone == "Europe/Copenhagen"
    req = the_request(plan)
    instants = [(e.day, e.at) for e in plan.events] + [(s.day, s.at) for s in req.slots]
    instants.append((req.opened_at.date(), req.opened_at))
    for day, at in instants:
        assert at.tzinfo is not None and getattr(at.tzinfo, "key", None) == "Europe/Copenhagen"
        assert at.date() == day and at.timetz().replace(tzinfo=None) == spec.clock
        # +01:00 (CET) in winter, +02:00 (CEST) in summer
        assert at.utcoffset() == cph_offset(day), (day, at.isoformat())
        assert at.astimezone(UTC) == oracle_utc(day, spec.clock)


@PROPS
@given(spec=specs())
def test_merged_slots_are_named_after_the_smallest_n(spec: Spec) -> None:
    plan = plan_of(spec)
    due = plan.deliverable("plan").due
    slots = the_request(plan).slots
    reminders = [s for s in slots if s.is_reminder]
    assert len({s.day for s in reminders}) == len(reminders), "two reminder slots on one day"
    for s in reminders:
        assert s.name == f"{s.kind}-{s.days}"
        others = [nominal_day(m, due) for m in s.merged]
        assert all(kind == s.kind and n > s.days for kind, n, _ in others)
        for _, _, nominal in others:
            roll = "previous" if s.kind == "before" else "next"
            assert oracle_roll(nominal, roll, spec.closed_md) == s.day
    # every reminder offset appears exactly once, as a name or merged into one
    named = sorted(m for s in reminders for m in members(s))
    assert len(named) == len(set(named))


@PROPS
@given(spec=specs())
def test_slots_at_or_before_the_opening_are_dropped(spec: Spec) -> None:
    plan = plan_of(spec)
    req = the_request(plan)
    assert req.opened_at == plan.event("brev").at
    for s in req.slots:
        assert s.at.astimezone(UTC) > req.opened_at.astimezone(UTC)
    # ... and only those: the plan equals the oracle's ladder after dropping
    expected = oracle_slots(spec, req.due, req.opened_at.astimezone(UTC))
    assert [(s.name, s.day, s.merged) for s in req.slots] == expected


@PROPS
@given(
    spec=specs(),
    opened=st.datetimes(
        datetime(2010, 11, 1),
        datetime(2031, 3, 1),
        timezones=st.sampled_from([UTC, CPH, timezone(timedelta(hours=5, minutes=30))]),
        allow_imaginary=False,
    ),
)
def test_reminder_slots_drop_exactly_what_is_due_at_or_before_any_opening(
    spec: Spec, opened: datetime
) -> None:
    wheel = wheel_of(spec)
    cal = calendar_for(wheel)
    d = wheel.deliverable["plan"]
    due = plan_of(spec).deliverable("plan").due
    everything = reminder_slots(wheel, cal, d, due, None)
    kept = reminder_slots(wheel, cal, d, due, opened)
    assert kept == tuple(s for s in everything if s.at.astimezone(UTC) > opened.astimezone(UTC))
    assert [(s.name, s.day, s.merged) for s in everything] == oracle_slots(
        spec, due, datetime(1, 1, 1, tzinfo=UTC)
    )


# --- named cases: due dates on holidays -------------------------------------------------------


def moves(
    case: str, nominal: str, previous: str, next_: str, closed: tuple[str, ...] = ()
) -> object:
    """A named case: the due date ``nominal`` (ISO) under keep, previous and next."""
    return pytest.param(date.fromisoformat(nominal), closed, previous, next_, id=case)


@pytest.mark.parametrize(
    ("nominal", "closed", "previous", "next_"),
    [
        moves("1-may-2011-sunday", "2011-05-01", "2011-04-29", "2011-05-02"),
        moves("store-bededag-2012-fri-4-may", "2012-05-04", "2012-05-03", "2012-05-07"),
        moves("store-bededag-2013-fri-26-apr", "2013-04-26", "2013-04-25", "2013-04-29"),
        moves("store-bededag-2024-abolished", "2024-04-26", "2024-04-26", "2024-04-26"),
        moves("kristi-himmelfart-2012-to-fri", "2012-05-17", "2012-05-16", "2012-05-18"),
        moves("kristi-himmelfart-2013-to-fri", "2013-05-09", "2013-05-08", "2013-05-10"),
        moves(
            "kristi-himmelfart-2012-fri-closed-to-mon",
            *("2012-05-17", "2012-05-16", "2012-05-21"),
            closed=("05-18",),
        ),
        moves(
            "juleaften-2012-closed-day",
            *("2012-12-24", "2012-12-21", "2012-12-27"),
            closed=("12-24", "12-31"),
        ),
    ],
)
def test_due_date_on_a_closed_day(
    nominal: date, closed: tuple[str, ...], previous: str, next_: str
) -> None:
    for how, day in (("keep", nominal.isoformat()), ("previous", previous), ("next", next_)):
        spec = Spec(year=nominal.year, due=md(nominal), if_closed=how, closed=closed)
        assert plan_of(spec).deliverable("plan").due.isoformat() == day, how


def test_1_may_2011_in_the_real_wheel_is_due_monday_2_may() -> None:
    plan = year_plan(load(ROOT / "aarshjul.yaml").wheel, 2011)
    hp = plan.deliverable("handleplan")
    assert (hp.nominal, hp.if_closed, hp.due) == (date(2011, 5, 1), "next", date(2011, 5, 2))


# --- named cases: DST ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            Spec(2012, "03-25", before=(1,), after=(1,)),
            [("before-1", "2012-03-23T09:00:00+01:00"), ("after-1", "2012-03-26T09:00:00+02:00")],
            id="spring-forward-2012-sun-25-mar-fri-cet-mon-cest",
        ),
        pytest.param(
            Spec(2012, "03-25", "next", before=(1,), after=(1,)),
            [("before-1", "2012-03-23T09:00:00+01:00"), ("after-1", "2012-03-27T09:00:00+02:00")],
            id="spring-forward-2012-due-moved-to-mon-26-mar",
        ),
        pytest.param(
            Spec(2012, "10-28", before=(1,), after=(1,)),
            [("before-1", "2012-10-26T09:00:00+02:00"), ("after-1", "2012-10-29T09:00:00+01:00")],
            id="fall-back-2012-sun-28-oct-fri-cest-mon-cet",
        ),
        pytest.param(
            # 31 Mar 2013 is also Påskedag: before-1 skips Langfredag and Skærtorsdag,
            # after-1 skips 2. påskedag
            Spec(2013, "03-31", before=(1,), after=(1,)),
            [("before-1", "2013-03-27T09:00:00+01:00"), ("after-1", "2013-04-02T09:00:00+02:00")],
            id="spring-forward-2013-easter-sun-31-mar-wed-cet-tue-cest",
        ),
        pytest.param(
            Spec(2013, "10-27", before=(1,), after=(1,)),
            [("before-1", "2013-10-25T09:00:00+02:00"), ("after-1", "2013-10-28T09:00:00+01:00")],
            id="fall-back-2013-sun-27-oct-fri-cest-mon-cet",
        ),
        pytest.param(
            Spec(2012, "10-28", before=(1,), after=(1,), send="23:59"),
            [("before-1", "2012-10-26T23:59:00+02:00"), ("after-1", "2012-10-29T23:59:00+01:00")],
            id="fall-back-2012-late-send-time",
        ),
    ],
)
def test_slots_around_dst_days(spec: Spec, expected: list[tuple[str, str]]) -> None:
    req = the_request(plan_of(spec))
    assert [(s.name, s.at.isoformat()) for s in req.slots] == expected


@pytest.mark.parametrize(
    ("year", "event_date", "runs"),
    [
        pytest.param(2012, "03-25", "2012-03-26T09:00:00+02:00", id="spring-forward-2012-to-mon"),
        pytest.param(2012, "10-28", "2012-10-29T09:00:00+01:00", id="fall-back-2012-to-mon"),
        pytest.param(2013, "03-31", "2013-04-02T09:00:00+02:00", id="spring-2013-easter-to-tue"),
        pytest.param(2013, "10-27", "2013-10-28T09:00:00+01:00", id="fall-back-2013-to-mon"),
        pytest.param(2012, "05-04", "2012-05-07T09:00:00+02:00", id="store-bededag-2012-to-mon"),
        pytest.param(2012, "03-24", "2012-03-26T09:00:00+02:00", id="saturday-before-spring"),
    ],
)
def test_event_on_a_non_business_day_runs_the_next_one(
    year: int, event_date: str, runs: str
) -> None:
    ev = plan_of(Spec(year, "12-01", opens=event_date)).event("brev")
    assert ev.at.isoformat() == runs
    assert ev.nominal == date(year, int(event_date[:2]), int(event_date[3:]))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2012-10-28T02:30", "2012-10-28T02:30:00+02:00", id="ambiguous-2012-first"),
        pytest.param("2013-10-27T02:30", "2013-10-27T02:30:00+02:00", id="ambiguous-2013-first"),
        pytest.param(
            "2012-10-28T02:30+01:00", "2012-10-28T02:30:00+01:00", id="ambiguous-2012-offset-given"
        ),
        pytest.param("2012-10-28T03:00", "2012-10-28T03:00:00+01:00", id="after-fall-back"),
        pytest.param("2012-03-25T01:59", "2012-03-25T01:59:00+01:00", id="before-spring-gap"),
        pytest.param("2012-03-25T03:00", "2012-03-25T03:00:00+02:00", id="after-spring-gap"),
        pytest.param(
            "2012-03-25T02:30+01:00", "2012-03-25T03:30:00+02:00", id="gap-time-with-offset-given"
        ),
        pytest.param("2012-04-20T10:00Z", "2012-04-20T12:00:00+02:00", id="utc-to-local"),
        pytest.param("2012-01-20T09:00", "2012-01-20T09:00:00+01:00", id="winter-local"),
    ],
)
def test_parse_instant(text: str, expected: str) -> None:
    value = parse_instant(text, CPH)
    assert value.isoformat() == expected
    assert value.tzinfo is CPH


def test_parse_instant_ambiguous_takes_the_first_occurrence() -> None:
    first = parse_instant("2012-10-28T02:30", CPH)
    second = parse_instant("2012-10-28T02:30+01:00", CPH)
    assert first.astimezone(UTC) == datetime(2012, 10, 28, 0, 30, tzinfo=UTC)
    assert second.astimezone(UTC) == datetime(2012, 10, 28, 1, 30, tzinfo=UTC)
    assert is_after(second, first) and not is_after(first, second)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2012-03-25T02:30", id="spring-gap-2012"),
        pytest.param("2013-03-31T02:00", id="spring-gap-2013"),
        pytest.param("2012-03-25T02:59", id="spring-gap-2012-end"),
    ],
)
def test_parse_instant_refuses_a_gap_time(text: str) -> None:
    with pytest.raises(ValueError, match="does not exist in Europe/Copenhagen"):
        parse_instant(text, CPH)


@pytest.mark.parametrize("text", ["30-04-2012", "2012-13-01T09:00", "i morgen", ""])
def test_parse_instant_refuses_what_is_not_iso(text: str) -> None:
    with pytest.raises(ValueError, match="not an ISO 8601 instant"):
        parse_instant(text, CPH)


def test_local_instant_on_dst_days() -> None:
    # ambiguous: first occurrence (still summer time)
    assert local_instant(CPH, date(2012, 10, 28), time(2, 30)).isoformat() == (
        "2012-10-28T02:30:00+02:00"
    )
    # in the gap (the loader refuses such a send_time): the real instant, in summer time
    assert local_instant(CPH, date(2012, 3, 25), time(2, 30)).isoformat() == (
        "2012-03-25T03:30:00+02:00"
    )
    assert local_instant(CPH, date(2012, 3, 26), time(9, 0)).isoformat() == (
        "2012-03-26T09:00:00+02:00"
    )
    assert local_instant(CPH, date(2012, 10, 29), time(9, 0)).isoformat() == (
        "2012-10-29T09:00:00+01:00"
    )


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2012, 1, 20, 9, 0)
    with pytest.raises(ValueError, match="naive datetimes are refused"):
        require_aware(naive)
    spec = Spec(2012, "05-01", before=(14,))
    wheel = wheel_of(spec)
    with pytest.raises(ValueError, match=r"opened_at .*naive"):
        reminder_slots(
            wheel, calendar_for(wheel), wheel.deliverable["plan"], date(2012, 5, 1), naive
        )
    aware = datetime(2012, 1, 20, 9, 0, tzinfo=CPH)
    assert require_aware(aware) is aware


def test_a_slot_at_the_opening_instant_is_dropped() -> None:
    spec = Spec(2012, "05-01", before=(14, 7), after=(1,))
    wheel = wheel_of(spec)
    cal, d = calendar_for(wheel), wheel.deliverable["plan"]
    at_14 = datetime(2012, 4, 17, 9, 0, tzinfo=CPH)  # before-14: Tue 17 Apr 2012 09:00
    names = [s.name for s in reminder_slots(wheel, cal, d, date(2012, 5, 1), at_14)]
    assert names == ["before-7", "after-1"]
    just_before = at_14 - timedelta(seconds=1)
    names = [s.name for s in reminder_slots(wheel, cal, d, date(2012, 5, 1), just_before)]
    assert names == ["before-14", "before-7", "after-1"]
    # the same instant in UTC (07:00Z) is the same opening
    in_utc = at_14.astimezone(UTC)
    assert [s.name for s in reminder_slots(wheel, cal, d, date(2012, 5, 1), in_utc)] == [
        "before-7",
        "after-1",
    ]


def test_opening_in_an_ambiguous_hour_is_compared_as_an_instant() -> None:
    """Regression: slots were compared with the opening by wall clock, ignoring fold.

    Tehran (summer time until 2022) fell back at midnight on Thu 20 Sep 2012: 23:00-24:00
    happened twice, on a business day. A request opened at 23:15 the second time (19:45Z)
    is opened after the after-1 slot at 23:30 the first time (19:00Z): that slot is gone.
    """
    spec = Spec(2012, "09-19", before=(1,), after=(1,), send="23:30", tz="Asia/Tehran")
    wheel = wheel_of(spec)
    tz = wheel.policy.tz
    cal, d = calendar_for(wheel), wheel.deliverable["plan"]
    opened = datetime(2012, 9, 20, 23, 15, tzinfo=tz, fold=1)
    assert opened.astimezone(UTC) == datetime(2012, 9, 20, 19, 45, tzinfo=UTC)
    slot_at = local_instant(tz, date(2012, 9, 20), time(23, 30))
    assert slot_at.astimezone(UTC) == datetime(2012, 9, 20, 19, 0, tzinfo=UTC)
    assert reminder_slots(wheel, cal, d, date(2012, 9, 19), opened) == ()
    opened_first = datetime(2012, 9, 20, 23, 15, tzinfo=tz, fold=0)
    kept = reminder_slots(wheel, cal, d, date(2012, 9, 19), opened_first)
    assert [(s.name, s.at.isoformat()) for s in kept] == [("after-1", "2012-09-20T23:30:00+04:30")]


# --- named cases: merging --------------------------------------------------------------------


def test_easter_2012_merges_before_slots_into_before_1() -> None:
    # due Tue 10 Apr 2012; 9 Apr (2. påskedag), 8/7 (weekend), 6 (Langfredag) and
    # 5 (Skærtorsdag) all move back to Wed 4 Apr
    spec = Spec(2012, "04-10", before=(7, 5, 4, 3, 2, 1), after=(1, 2))
    slots = the_request(plan_of(spec)).slots
    assert [(s.name, s.day, s.merged) for s in slots] == [
        ("before-7", date(2012, 4, 3), ()),
        ("before-1", date(2012, 4, 4), ("before-2", "before-3", "before-4", "before-5")),
        ("after-1", date(2012, 4, 11), ()),
        ("after-2", date(2012, 4, 12), ()),
    ]


def test_easter_2012_merges_after_slots_and_escalate_stays_apart() -> None:
    # due Wed 4 Apr 2012; 5, 6, 7, 8, 9 Apr all move on to Tue 10 Apr
    spec = Spec(2012, "04-04", after=(7, 6, 5, 3, 2, 1), escalate=6)
    slots = the_request(plan_of(spec)).slots
    assert [(s.name, s.day, s.merged) for s in slots] == [
        ("after-1", date(2012, 4, 10), ("after-2", "after-3", "after-5", "after-6")),
        ("escalate", date(2012, 4, 10), ()),
        ("after-7", date(2012, 4, 11), ()),
    ]


def test_a_year_outside_the_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="2015 is not a cycle year of the policy"):
        year_plan(load(ROOT / "aarshjul.yaml").wheel, 2015)


def test_a_given_calendar_is_used() -> None:
    spec = Spec(2012, "05-01", "next", before=(1,))
    # a calendar that also closes 1 May: the due date moves to Wed 2 May
    cal = BusinessCalendar("DK", ((5, 1),))
    plan = year_plan(wheel_of(spec), 2012, cal)
    assert plan.deliverable("plan").due == date(2012, 5, 2)
    assert [(s.name, s.day) for s in plan.requests[0].slots] == [("before-1", date(2012, 4, 30))]


# --- the golden plan ------------------------------------------------------------------------


def test_golden_plan_copenhagen_2012() -> None:
    plan = year_plan(load(ROOT / "aarshjul.yaml").wheel, golden.YEAR)
    assert plan.year == golden.YEAR and plan.timezone == golden.TIMEZONE
    assert [d for d, _ in plan.holidays] == golden.HOLIDAYS_2012
    assert list(plan.closed_days) == golden.CLOSED_2012
    assert [(e.key, e.nominal, e.day, e.at.isoformat()) for e in plan.events] == golden.EVENTS
    assert {e.key: e.opens for e in plan.events if e.opens} == golden.OPENS
    assert [(d.key, d.nominal, d.due) for d in plan.deliverables] == golden.DELIVERABLES
    expected_requests = [(d, c) for d in golden.SLOTS for c in golden.COMMITTEES]
    assert [(r.deliverable, r.committee) for r in plan.requests] == expected_requests
    for r in plan.requests:
        assert (r.year, r.opened_by, r.opened_at.isoformat()) == (
            2012,
            golden.OPENED_BY,
            golden.OPENED_AT,
        )
        assert r.due == dict((k, due) for k, _, due in golden.DELIVERABLES)[r.deliverable]
        got = [(s.name, s.day, s.at.isoformat(), s.merged) for s in r.slots]
        assert got == golden.SLOTS[r.deliverable], (r.committee, r.deliverable)
