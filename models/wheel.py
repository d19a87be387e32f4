"""The wheel as code: the schema of ``aarshjul.yaml`` (README "The wheel file").

Frozen pydantic models with ``extra="forbid"``. Field checks (formats, addresses,
header safety) live on the fields; checks across the file (references, dates in every
policy year, DST gaps) live in :mod:`models.config`, which reports every problem at once.
"""

from __future__ import annotations

import re
from datetime import date, time
from functools import cached_property
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict

from models.kinds import EventKind
from models.text import NAME_MAX, TEXT_MAX, TITLE_MAX, UNIT_MAX, capped

# --- scalar types -----------------------------------------------------------------------

# C0 and C1 controls and the Unicode line/paragraph separators: str.splitlines() (and so
# the e-mail package) breaks lines at \x85, \u2028 and \u2029 too.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


class ItemError(ValueError):
    """A problem with one item of a list: ``index`` is added to the key path."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
MONTH_DAY_RE = re.compile(r"^(\d\d)-(\d\d)$")
HHMM_RE = re.compile(r"^(\d\d):(\d\d)$")


def header_safe(value: str) -> str:
    """Refuse what could break out of an e-mail header (CVE-2024-6923 and kin)."""
    if _CONTROL.search(value):
        raise ValueError(
            "must be one line of text, without line breaks or control characters "
            "(CR, LF, NUL, tab); it goes into e-mail headers"
        )
    if "=?" in value:
        raise ValueError(
            "must not contain '=?' (in an e-mail header it could smuggle in another header)"
        )
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _text(value: str) -> str:
    if _CONTROL_BUT_NEWLINE.search(value):
        raise ValueError("must not contain control characters")
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _key(value: str) -> str:
    if not KEY_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid key: use ASCII letters, digits, '-' or '_', "
            "starting with a letter (keys go into mail headers and file names)"
        )
    return value


def _month_day(value: str) -> str:
    m = MONTH_DAY_RE.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a date of the form MM-DD (e.g. \"05-01\")")
    month, day = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"{value!r} is not a date: there is no month {month} (MM-DD)")
    try:
        date(2000, month, day)  # 2000 is a leap year: 02-29 passes here, per-year check later
    except ValueError:
        raise ValueError(f"{value!r} is not a date: month {month} has no day {day}") from None
    return value


def _hhmm(value: str) -> str:
    m = HHMM_RE.match(value)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"{value!r} is not a time of the form HH:MM (e.g. \"09:00\")")
    return value


def _email(value: str) -> str:
    header_safe(value)
    from email_validator import EmailNotValidError, validate_email

    if not value.isascii():
        # A non-ASCII address needs SMTPUTF8 from every server on the way; a domain can be
        # written in its ASCII (xn--) form instead.
        hint = ""
        try:
            ascii_form = validate_email(value, check_deliverability=False).ascii_email
            hint = f"; write it as {ascii_form}" if ascii_form else ""
        except EmailNotValidError:
            pass
        raise ValueError(f"{value!r} is not an ASCII address{hint}")
    try:
        result = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a valid e-mail address: {exc}") from None
    written = result.ascii_email or result.normalized
    if written.lower() != value.lower():
        raise ValueError(f"{value!r} is not a plain address (write it as {written})")
    return value


def _timezone(value: str) -> str:

    if not re.match(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$", value):
        raise ValueError(f"{value!r} is not an IANA time zone name (e.g. Europe/Copenhagen)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{value!r} is not a known IANA time zone") from None
    return value


def _supported_countries() -> set[str]:
    """ISO codes with a public-holiday calendar, read from the ``holidays`` registry.

    ``holidays.list_supported_countries()`` gives the same set but imports all ~250
    country modules to do so (~0.2 s, most of ``aarshjul check``); the registry is a dict.
    """
    from holidays.registry import COUNTRIES

    return {
        code
        for entry in COUNTRIES.values()
        for code in entry[1:]
        if code.isupper() and len(code) in (2, 3)
    }


def _country(value: str) -> str:
    if value not in _supported_countries():
        raise ValueError(
            f"{value!r} is not a country with a public-holiday calendar "
            "(use an ISO 3166 code such as DK)"
        )
    return value


def _positive_day(value: int) -> int:
    if value < 1:
        raise ValueError(f"must be a positive number of days (1 or more), got {value}")
    return value


def _retention_days(value: int) -> int:
    if not 0 <= value <= 36_500:
        raise ValueError(f"must be a number of days from 0 to 36500 (null: kept), got {value}")
    return value


def _positive_distinct(values: tuple[int, ...]) -> tuple[int, ...]:
    for v in values:
        if v < 1:
            raise ValueError(f"{v} is not a positive number of days")
    for i, v in enumerate(values):
        if v in values[:i]:
            raise ItemError(i, f"{v} days is given twice; give each number of days once")
    return values


def _distinct(values: tuple[str, ...]) -> tuple[str, ...]:
    for i, v in enumerate(values):
        if v in values[:i]:
            raise ItemError(i, f"{v!r} is named twice; name it once")
    return values


def _domain(value: str) -> str:
    header_safe(value)
    if not DOMAIN_RE.match(value):
        raise ValueError(f"{value!r} is not a domain name (e.g. bif.kk.example)")
    return value


Str = Annotated[str, Strict()]
Int = Annotated[int, Strict()]
Num = Annotated[float, Strict()]
Line = Annotated[str, Strict(), AfterValidator(header_safe)]
Text = Annotated[str, Strict(), AfterValidator(_text), AfterValidator(capped(TEXT_MAX))]
# one-line text with its length cap (models/text.py; README "Length caps and unsafe characters")
Name = Annotated[Line, AfterValidator(capped(NAME_MAX))]
Title = Annotated[Line, AfterValidator(capped(TITLE_MAX))]
Unit = Annotated[Line, AfterValidator(capped(UNIT_MAX))]
Key = Annotated[str, Strict(), AfterValidator(_key)]
MonthDay = Annotated[str, Strict(), AfterValidator(_month_day)]
HHMM = Annotated[str, Strict(), AfterValidator(_hhmm)]
Email = Annotated[str, Strict(), AfterValidator(_email)]
Keys = Annotated[tuple[Key, ...], AfterValidator(_distinct)]
Emails = Annotated[tuple[Email, ...], AfterValidator(_distinct)]
Day = Annotated[int, Strict(), AfterValidator(_positive_day)]
Days = Annotated[tuple[Day, ...], AfterValidator(_positive_distinct)]
Domain = Annotated[str, Strict(), AfterValidator(_domain)]
KeepDays = Annotated[int, Strict(), AfterValidator(_retention_days)] | None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)


# --- the models ------------------------------------------------------------------------


class Contact(_Frozen):
    name: Name
    email: Email


class Retention(_Frozen):
    """``policy.retention`` (README "Data protection"): after how many days ``aarshjul purge``
    removes each kind of record; ``null`` keeps it (never purged). The age is counted from
    when the record was made: a message from when it was sent, a submission from when it
    came in, an audit entry from the instant it is about, a flow run from its start."""

    outbox_attachments_days: KeepDays = 30  # outbox.raw slimmed once the journal holds it
    outbox_bodies_days: KeepDays = 365  # outbox.raw and subject of a sent message removed
    journal_days: KeepDays = None  # journal copies: handed over to the archives via the ESDH
    documents_days: KeepDays = 365  # generated letters and reports under documents/, reports/
    submissions_days: KeepDays = 1826  # the handed-in files (the rows are kept)
    audit_days: KeepDays = 1826  # audit log entries
    prefect_artifacts_days: KeepDays = 90  # Prefect artifacts (the runs' tables and notes)
    prefect_runs_days: KeepDays = 90  # Prefect flow runs, with their task runs and logs


class Policy(_Frozen):
    name: Name
    owner: Key
    years: tuple[Int, Int]
    timezone: Annotated[str, Strict(), AfterValidator(_timezone)]
    country: Annotated[str, Strict(), AfterValidator(_country)]
    closed_days: tuple[MonthDay, ...] = ()
    send_time: HHMM
    sender: Contact
    coordinator: Contact
    # project keys (README: "Keys of our own")
    mail_domain: Domain | None = None  # Message-ID domain; default: the sender's domain
    digest: Annotated[bool, Strict()] = True  # the coordinator's Monday digest (false: none)
    retention: Retention = Retention()  # README "Data protection"

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def send_clock(self) -> time:
        h, m = self.send_time.split(":")
        return time(int(h), int(m))

    @property
    def year_range(self) -> range:
        return range(self.years[0], self.years[1] + 1)

    @property
    def closed(self) -> tuple[tuple[int, int], ...]:
        return tuple((int(md[:2]), int(md[3:])) for md in self.closed_days)


class Committee(_Frozen):
    key: Key
    name: Name
    chair: Name | None = None
    to: Annotated[Emails, Field(min_length=1)]
    cc: Emails = ()
    escalate_to: Emails | None = None
    # others who may answer by e-mail for the committee (README "Replies by e-mail")
    reply_from: Emails = ()

    def sends_from(self, address: str) -> bool:
        """Whether a mail from ``address`` may hand in for this committee: its ``to``,
        ``cc`` or ``reply_from``, compared without regard to case."""
        a = address.strip().casefold()
        return any(a == x.casefold() for x in (*self.to, *self.cc, *self.reply_from))


class Target(_Frozen):
    value: Num
    year: Int


class Goal(_Frozen):
    key: Key
    title: Title
    unit: Unit
    direction: Literal["up", "down"]
    target: Target | None = None
    committees: Keys = ()
    # project keys
    target_text: Title | None = None  # the target as the policy writes it ("forbedres med X %")


class FocusArea(_Frozen):
    key: Key
    title: Title
    lighthouse: Text
    goals: tuple[Goal, ...] = ()


class Reminders(_Frozen):
    before: Days = ()
    after: Days = ()
    escalate_after: Day | None = None


class Deliverable(_Frozen):
    key: Key
    title: Title
    due: MonthDay
    if_closed: Literal["keep", "previous", "next"] = "keep"
    from_: Keys | None = Field(default=None, alias="from")
    reminders: Reminders = Reminders()
    # project keys
    form: Key | None = None  # template of the form to fill in; default "formular"

    @property
    def due_month_day(self) -> tuple[int, int]:
        return int(self.due[:2]), int(self.due[3:])


class Event(_Frozen):
    key: Key
    title: Title
    date: MonthDay
    do: EventKind
    letter: Key | None = None
    to: Keys | None = None
    opens: Keys = ()
    # project keys
    invites_to: Key | None = None  # the event a letter invites to; default: the event itself

    @property
    def month_day(self) -> tuple[int, int]:
        return int(self.date[:2]), int(self.date[3:])


class Wheel(_Frozen):
    version: Literal[1]
    policy: Policy
    committees: tuple[Committee, ...]
    focus_areas: tuple[FocusArea, ...] = ()
    deliverables: tuple[Deliverable, ...] = ()
    events: tuple[Event, ...] = ()

    # --- look-ups -------------------------------------------------------------------
    @cached_property
    def committee(self) -> dict[str, Committee]:
        return {c.key: c for c in self.committees}

    @cached_property
    def deliverable(self) -> dict[str, Deliverable]:
        return {d.key: d for d in self.deliverables}

    @cached_property
    def event(self) -> dict[str, Event]:
        return {e.key: e for e in self.events}

    @cached_property
    def goals(self) -> tuple[Goal, ...]:
        return tuple(g for a in self.focus_areas for g in a.goals)

    @cached_property
    def goal(self) -> dict[str, Goal]:
        return {g.key: g for g in self.goals}

    def default_committees(self) -> tuple[str, ...]:
        """Every committee but the owner (the contract's default for from/to)."""
        return tuple(c.key for c in self.committees if c.key != self.policy.owner)

    def deliverable_from(self, d: Deliverable) -> tuple[str, ...]:
        return d.from_ if d.from_ is not None else self.default_committees()

    def event_to(self, e: Event) -> tuple[str, ...]:
        return e.to if e.to is not None else self.default_committees()

    def escalate_to(self, c: Committee) -> tuple[str, ...]:
        return c.escalate_to if c.escalate_to else (self.policy.coordinator.email,)

    def goals_for(self, committee: str) -> tuple[Goal, ...]:
        return tuple(g for g in self.goals if committee in g.committees)

    @property
    def mail_domain(self) -> str:
        return self.policy.mail_domain or self.policy.sender.email.rsplit("@", 1)[1]
