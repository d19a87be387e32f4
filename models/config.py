"""Load and check ``aarshjul.yaml``: every problem at once, ``file:line key.path: message``.

The schema (:mod:`models.wheel`) checks each field; this module adds the checks across
the file, which run on the raw data so that they report even when other fields are wrong:
references between keys, dates that must exist in every policy year, a send time that must
exist on every day (no DST gap), and events that open deliverables. pydantic's messages are
rewritten in plain words (:func:`_schema_problem`); a missing key is reported at the line of
the mapping that lacks it.

Warnings (``Problem.severity == "warning"``, in ``Loaded.warnings``; the file is still used):
a deliverable that no event opens, and an event that opens a deliverable after its due date
in some year.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path as FsPath
from typing import Any, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from models import wheel as w
from models.plan import calendar_for, due_date, event_day
from models.problems import ConfigError, Path, Problem, format_path
from models.wheel import HHMM_RE, MONTH_DAY_RE, ItemError, Wheel
from models.yamlsrc import Source, parse

DEFAULT_CONFIG = "aarshjul.yaml"
MAX_CONFIG_BYTES = 2_000_000


@dataclass
class Loaded:
    wheel: Wheel
    source: Source
    warnings: list[Problem] = field(default_factory=list)


def load(path: str | FsPath = DEFAULT_CONFIG) -> Loaded:
    """Read, parse and check a wheel file; raise :class:`ConfigError` with every problem."""
    p = FsPath(path)
    name = str(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError([Problem(name, 0, "(file)", "the file does not exist")]) from None
    except OSError as exc:
        raise ConfigError([Problem(name, 0, "(file)", f"cannot read the file: {exc}")]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([Problem(name, 0, "(file)", "the file is larger than 2 MB")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [Problem(name, line, "(file)", "the file is not UTF-8 text; save it as UTF-8")]
        ) from None
    return loads(text, name)


def loads(text: str, file: str = DEFAULT_CONFIG) -> Loaded:
    source, problems = parse(text.removeprefix("\ufeff"), file)
    if source.data is None and problems:
        raise ConfigError(sorted(problems))
    if not isinstance(source.data, dict):
        raise ConfigError(
            [
                *problems,
                source.problem(
                    (), f"the file must be a mapping of keys (version, policy, ...), "
                    f"not {_describe(source.data)}"
                ),
            ]
        )
    wheel: Wheel | None = None
    try:
        wheel = Wheel.model_validate(source.data)
    except ValidationError as exc:
        # a value the reader already refused (a custom tag) is not reported twice
        refused = {p.path for p in problems}
        problems.extend(p for p in _schema_problems(exc, source) if p.path not in refused)
    findings = _cross_checks(source)
    problems.extend(p for p in findings if p.severity == "error")
    warnings = [p for p in findings if p.severity == "warning"]
    if wheel is not None and not problems:
        warnings.extend(_late_openings(wheel, source))
    if problems or wheel is None:
        raise ConfigError(sorted(set(problems), key=lambda p: (p.line, p.path, p.message)))
    return Loaded(wheel, source, warnings)


# --- schema errors in plain words ---------------------------------------------------------


def _known_keys(data: Any, loc: Path) -> list[str]:
    """The keys the model allows at ``loc`` (for 'did you mean')."""


    model: type[BaseModel] | None = w.Wheel
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        f = model.model_fields.get(part) or next(
            (fi for fi in model.model_fields.values() if fi.alias == part), None
        )
        if f is None:
            return []
        model = _inner_model(f.annotation)
    if model is None:
        return []
    return [fi.alias or n for n, fi in model.model_fields.items()]


def _inner_model(annotation: Any) -> Any:


    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _list_hint(value: Any) -> str:
    if isinstance(value, str) and "\n" not in value and len(value) < 60:
        return f"; for a list of one, write [{value}]"
    return ""


def _expected(ctx: dict[str, Any]) -> str:
    """pydantic's "'keep', 'previous' or 'next'" -> "keep, previous or next"."""
    return str(ctx.get("expected", "")).replace("'", "")


def _schema_problem(err: Any, source: Source) -> Problem | None:
    # pydantic adds the member of a union or a tagged type to the location
    # ("Target", "tuple[...]", "function-after[...]"); those are not keys of the file.
    loc: Path = tuple(
        p
        for p in err["loc"]
        if isinstance(p, int) or not (p[:1].isupper() or "[" in p or p in _PYDANTIC_TAGS)
    )
    typ = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if loc[-2:] == ("policy", "years") or loc[-3:-1] == ("policy", "years"):
        if typ in ("missing", "too_long", "too_short", "tuple_type"):
            loc = ("policy", "years")
            return source.problem(loc, "must be two years, [first, last], e.g. [2011, 2014]")
    if typ == "extra_forbidden":
        key = str(loc[-1])
        known = _known_keys(source.data, loc)
        near = _nearest(key, known, 0.6)
        if near:
            msg = f"unknown key {key!r}; did you mean {' or '.join(map(repr, near))}?"
        else:
            msg = f"unknown key {key!r} (allowed here: {', '.join(known)})"
    elif typ == "missing":
        # the line of the mapping that lacks the key
        return Problem(
            source.file,
            source.line_of(loc[:-1]),
            format_path(loc),
            f"the required key {loc[-1]!r} is missing",
        )
    elif typ == "none_required":
        return None  # the other member of "X or null" says what is wrong
    elif typ in ("string_type", "str_type"):
        msg = f"must be text, got {_describe(value)}"
        if isinstance(value, bool | int | float):
            msg += "; put it in quotes if it is meant as text"
    elif typ in ("int_type", "int_parsing", "int_from_float"):
        msg = f"must be a whole number, got {_describe(value)}"
        if isinstance(value, str):
            msg += " (a number is written without quotes)"
    elif typ in ("float_type", "float_parsing"):
        msg = f"must be a number, got {_describe(value)}"
        if isinstance(value, str):
            msg += " (a number is written without quotes, with a decimal point: 5.8)"
    elif typ in ("tuple_type", "list_type"):
        msg = f"must be a list, got {_describe(value)}{_list_hint(value)}"
    elif typ in ("model_type", "model_attributes_type", "dict_type"):
        msg = f"must be a mapping of keys (key: value), got {_describe(value)}"
    elif typ in ("literal_error", "enum"):
        msg = f"must be {_expected(ctx)}, got {_describe(value)}"
    elif typ == "too_short":
        msg = "must not be empty: give at least one"
    elif typ == "too_long":
        msg = f"has too many items ({ctx.get('max_length')} at most)"
    elif typ in ("greater_than_equal", "greater_than"):
        msg = f"must be at least {ctx.get('ge', ctx.get('gt'))}, got {_describe(value)}"
    elif typ == "value_error":
        error = ctx.get("error")
        if isinstance(error, ItemError):
            loc = (*loc, error.index)
        msg = str(err["msg"]).removeprefix("Value error, ")
    elif typ == "bool_type":
        msg = f"must be true or false, got {_describe(value)}"
    else:
        msg = str(err["msg"])
    return source.problem(loc, msg)


_PYDANTIC_TAGS = {"function-after", "function-before", "function-wrap", "lax-or-strict"}


def _schema_problems(exc: ValidationError, source: Source) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        p = _schema_problem(err, source)
        if p is not None:
            out.append(p)
    return out


def _fmt(loc: Path) -> str:

    return format_path(loc)


# --- checks across the file ----------------------------------------------------------------


def _items(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    seq = data.get(key) if isinstance(data, dict) else None
    if not isinstance(seq, list):
        return []
    return [(i, item) for i, item in enumerate(seq) if isinstance(item, dict)]


def _str_list(value: Any) -> list[tuple[int, str]]:
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)]


def _nearest(name: str, known: list[str], cutoff: float) -> list[str]:
    """The closest of ``known`` to ``name``: all of them when several are equally close."""
    scored = [
        (difflib.SequenceMatcher(None, name, k).ratio(), k) for k in dict.fromkeys(known)
    ]
    best = max((r for r, _ in scored), default=0.0)
    return [k for r, k in scored if r == best and r >= cutoff]


def _unknown(what: str, name: str, known: list[str]) -> str:
    near = _nearest(name, known, 0.5)
    if near:
        return f"unknown {what} {name!r}; did you mean {' or '.join(map(repr, near))}?"
    listed = ", ".join(known) if known else "none are defined"
    return f"unknown {what} {name!r} (known: {listed})"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _policy_years(policy: dict[str, Any]) -> list[int]:
    """The policy's years when ``years`` is sound, else ``[]`` (the schema says why)."""
    years = policy.get("years")
    if isinstance(years, list) and len(years) == 2 and all(_is_int(y) for y in years):
        first, last = years
        if first <= last and 1900 <= first and last <= 2200 and last - first <= 50:
            return list(range(first, last + 1))
    return []


def _cross_checks(src: Source) -> list[Problem]:
    data = src.data
    out: list[Problem] = []
    policy = data.get("policy") if isinstance(data.get("policy"), dict) else {}
    years = _policy_years(policy)
    _check_years(src, policy, out)
    committee_keys = [
        c["key"] for _, c in _items(data, "committees") if isinstance(c.get("key"), str)
    ]
    goals: list[tuple[Path, dict[str, Any]]] = []
    for ai, area in _items(data, "focus_areas"):
        for gi, goal in _items(area, "goals"):
            goals.append((("focus_areas", ai, "goals", gi), goal))
    _check_unique_keys(src, goals, out)
    # references; not when the list they refer to is itself unreadable (the schema says so)
    refs = _Refs(src, out, committee_keys)
    owner = policy.get("owner")
    if isinstance(owner, str) and refs.check_committees and owner not in committee_keys:
        out.append(src.problem(("policy", "owner"), _unknown("committee", owner, committee_keys)))
    _check_goals(refs, goals, years)
    _check_deliverables_and_events(refs, years)
    for j, day in _str_list(policy.get("closed_days")):
        _check_month_day(src, ("policy", "closed_days", j), day, years, out)
    _check_send_time(src, policy, years, out)
    _check_reply_from(src, out)
    return out


def _check_reply_from(src: Source, out: list[Problem]) -> None:
    """Warn of a ``reply_from`` address that is already the committee's own ``to``/``cc``
    (it needs no listing) or another committee's ``to``/``cc`` (that committee's mail could
    then hand in for this one: allowed, for a shared secretariat, but said)."""
    own: dict[int, set[str]] = {}
    owner: dict[str, str] = {}
    for i, c in _items(src.data, "committees"):
        own[i] = {a.casefold() for key in ("to", "cc") for _, a in _str_list(c.get(key))}
        for a in own[i]:
            owner.setdefault(a, str(c.get("key")))
    for i, c in _items(src.data, "committees"):
        for j, a in _str_list(c.get("reply_from")):
            folded, path = a.casefold(), ("committees", i, "reply_from", j)
            if folded in own[i]:
                out.append(src.problem(path, f"{a!r} is already this committee's to or cc; "
                                             "remove it from reply_from", "warning"))
            elif folded in owner:
                out.append(src.problem(
                    path, f"{a!r} is committee {owner[folded]!r}'s to or cc: mail from it may "
                          "then hand in for both committees", "warning"))


def _check_years(src: Source, policy: dict[str, Any], out: list[Problem]) -> None:
    yrs = policy.get("years")
    if isinstance(yrs, list) and len(yrs) == 2 and all(_is_int(y) for y in yrs):
        if yrs[0] > yrs[1]:
            out.append(
                src.problem(
                    ("policy", "years"),
                    f"the first year ({yrs[0]}) comes after the last ({yrs[1]}); "
                    "write [first, last]",
                )
            )
        elif not (1900 <= yrs[0] and yrs[1] <= 2200):
            out.append(src.problem(("policy", "years"), "years must lie between 1900 and 2200"))
        elif yrs[1] - yrs[0] > 50:
            out.append(src.problem(("policy", "years"), "a policy spans at most 50 years"))


def _check_unique_keys(
    src: Source, goals: list[tuple[Path, dict[str, Any]]], out: list[Problem]
) -> None:
    data = src.data
    for coll in ("committees", "deliverables", "events", "focus_areas"):
        seen: dict[str, int] = {}
        for i, item in _items(data, coll):
            k = item.get("key")
            if isinstance(k, str):
                if k in seen:
                    out.append(
                        src.problem(
                            (coll, i, "key"),
                            f"the key {k!r} is used twice (also {coll}[{seen[k]}]); "
                            "keys must be unique",
                        )
                    )
                else:
                    seen[k] = i
    goal_seen: dict[str, Path] = {}
    for path, goal in goals:
        k = goal.get("key")
        if isinstance(k, str):
            if k in goal_seen:
                out.append(
                    src.problem(
                        (*path, "key"),
                        f"the goal key {k!r} is used twice (also {format_path(goal_seen[k])}); "
                        "keys must be unique",
                    )
                )
            else:
                goal_seen[k] = path


@dataclass
class _Refs:
    """Checks that names refer to keys the file defines."""

    src: Source
    out: list[Problem]
    committee_keys: list[str]

    @property
    def check_committees(self) -> bool:
        return bool(self.committee_keys)

    def check(self, path: Path, value: Any, known: list[str], what: str) -> None:
        for i, name in _str_list(value):
            if name not in known:
                self.out.append(self.src.problem((*path, i), _unknown(what, name, known)))

    def committees(self, path: Path, value: Any) -> None:
        if self.check_committees:
            self.check(path, value, self.committee_keys, "committee")


def _check_goals(refs: _Refs, goals: list[tuple[Path, dict[str, Any]]], years: list[int]) -> None:
    for path, goal in goals:
        refs.committees((*path, "committees"), goal.get("committees"))
        tgt = goal.get("target")
        if isinstance(tgt, dict) and _is_int(tgt.get("year")) and years:
            if not (years[0] - 10 <= tgt["year"] <= years[-1] + 10):
                refs.out.append(
                    refs.src.problem(
                        (*path, "target", "year"),
                        f"{tgt['year']} is far outside the policy's years "
                        f"({years[0]}-{years[-1]})",
                    )
                )


def _check_deliverables_and_events(refs: _Refs, years: list[int]) -> None:
    src, out, data = refs.src, refs.out, refs.src.data
    deliverable_keys = [
        d["key"] for _, d in _items(data, "deliverables") if isinstance(d.get("key"), str)
    ]
    none_named = "names no committee; leave the key out for every committee but the owner"
    for i, d in _items(data, "deliverables"):
        refs.committees(("deliverables", i, "from"), d.get("from"))
        _check_month_day(src, ("deliverables", i, "due"), d.get("due"), years, out)
        if isinstance(d.get("from"), list) and not d["from"]:
            out.append(src.problem(("deliverables", i, "from"), none_named))

    opened: set[str] = set()
    event_keys = [e["key"] for _, e in _items(data, "events") if isinstance(e.get("key"), str)]
    for i, e in _items(data, "events"):
        refs.committees(("events", i, "to"), e.get("to"))
        target = e.get("invites_to")
        if isinstance(target, str) and target not in event_keys:
            out.append(src.problem(("events", i, "invites_to"),
                                   _unknown("event", target, event_keys)))
        if isinstance(data.get("deliverables"), list):
            refs.check(("events", i, "opens"), e.get("opens"), deliverable_keys, "deliverable")
        _check_month_day(src, ("events", i, "date"), e.get("date"), years, out)
        _check_event_kind(src, i, e, out)
        if isinstance(e.get("to"), list) and not e["to"]:
            out.append(src.problem(("events", i, "to"), none_named))
        for _, name in _str_list(e.get("opens")):
            opened.add(name)
    for i, d in _items(data, "deliverables"):
        k = d.get("key")
        if isinstance(k, str) and k not in opened and _items(data, "events"):
            out.append(
                src.problem(
                    ("deliverables", i, "key"),
                    f"no event opens {k!r}, so it is never requested, reminded or chased",
                    "warning",
                )
            )


def _check_event_kind(src: Source, i: int, e: dict[str, Any], out: list[Problem]) -> None:
    """Only an event with ``do: letters`` has a letter and opens deliverables, and it must."""
    do = e.get("do")
    if do == "letters" and e.get("letter") is None:
        out.append(
            src.problem(
                ("events", i, "letter"),
                "an event with do: letters needs 'letter', the name of its letter template",
            )
        )
    if isinstance(do, str) and do != "letters":
        if e.get("letter") is not None:
            out.append(
                src.problem(
                    ("events", i, "letter"),
                    f"only an event with do: letters sends a letter (this one does {do}); "
                    "remove 'letter'",
                )
            )
        if e.get("opens"):
            out.append(
                src.problem(
                    ("events", i, "opens"),
                    "only an event with do: letters can open deliverables "
                    f"(this one does {do}); remove 'opens'",
                )
            )
        if e.get("invites_to") is not None:
            out.append(src.problem(("events", i, "invites_to"),
                                   f"only a letter invites to an event (this one does {do}); "
                                   "remove 'invites_to'"))


def _check_send_time(
    src: Source, policy: dict[str, Any], years: list[int], out: list[Problem]
) -> None:
    """``send_time`` must exist on every day of the policy's years (no spring-forward gap)."""
    tzname, send = policy.get("timezone"), policy.get("send_time")
    if isinstance(tzname, str) and isinstance(send, str) and HHMM_RE.match(send) and years:
        try:
            tz = ZoneInfo(tzname)
        except Exception:  # reported by the schema
            tz = None
        if tz is not None and int(send[:2]) < 24 and int(send[3:]) < 60:
            gaps = _gap_days(tz, int(send[:2]), int(send[3:]), years)
            if gaps:
                shown = ", ".join(d.isoformat() for d in gaps[:4])
                out.append(
                    src.problem(
                        ("policy", "send_time"),
                        f"{send} does not exist on {shown}"
                        f"{' and more' if len(gaps) > 4 else ''} (the clocks skip it when "
                        "summer time begins); choose another time, e.g. 09:00",
                    )
                )


def _late_openings(wheel: Wheel, source: Source) -> list[Problem]:
    """Warn of an event that opens a deliverable after its due date in some year.

    Business days (and so the ``holidays`` package, ~0.15 s) are only consulted when the
    two dates lie close together: a day moves by a few days at most (Easter, Christmas),
    plus one day for each closed day.
    """
    index = {e.key: i for i, e in enumerate(wheel.events)}
    margin = 14 + len(wheel.policy.closed_days)
    years = wheel.policy.year_range
    cal = None
    out: list[Problem] = []
    for e in wheel.events:
        for d_key in e.opens:
            d = wheel.deliverable[d_key]
            gap = (date(2000, *d.due_month_day) - date(2000, *e.month_day)).days
            if gap > margin:
                continue  # well before the deadline
            if gap < -margin:
                late = list(years)
            else:

                cal = cal or calendar_for(wheel)
                late = [y for y in years if event_day(cal, e, y) > due_date(wheel, cal, d, y)]
            if late:
                out.append(
                    source.problem(
                        ("events", index[e.key], "opens", e.opens.index(d_key)),
                        f"the letter goes out after {d_key!r} is due in "
                        f"{', '.join(map(str, late))}: those requests open already late",
                        "warning",
                    )
                )
    return out


def _check_month_day(
    src: Source, path: Path, value: Any, years: list[int], out: list[Problem]
) -> None:
    if not isinstance(value, str):
        return
    m = MONTH_DAY_RE.match(value)
    if not m:
        return
    month, day = int(m.group(1)), int(m.group(2))
    missing = []
    for y in years:
        try:
            date(y, month, day)
        except ValueError:
            missing.append(y)
    if missing and len(missing) < len(years):
        hint = " (use 02-28 or 03-01)" if (month, day) == (2, 29) else ""
        out.append(
            src.problem(
                path,
                f"{value!r} does not exist in {', '.join(map(str, missing))}; "
                f"a date must exist in every year of the policy{hint}",
            )
        )


def _gap_days(tz: ZoneInfo, hour: int, minute: int, years: list[int]) -> list[date]:

    gaps: list[date] = []
    d = date(years[0], 1, 1)
    end = date(years[-1], 12, 31)
    while d <= end:
        local = datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz)
        back = local.astimezone(UTC).astimezone(tz)
        if (back.hour, back.minute) != (hour, minute):
            gaps.append(d)
        d += timedelta(days=1)
    return gaps
