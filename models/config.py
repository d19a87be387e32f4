"""Load and check ``aarshjul.yaml``: every problem at once, ``file:line key.path: message``.

The schema (:mod:`models.wheel`) checks each field; this module adds the checks across
the file, which run on the raw data so that they report even when other fields are wrong:
references between keys, dates that must exist in every policy year, a send time that must
exist on every day (no DST gap), and events that open deliverables.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path as FsPath
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from models.problems import ConfigError, Path, Problem
from models.wheel import HHMM_RE, MONTH_DAY_RE, Wheel
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
            [*problems, source.problem((), "the file must be a mapping of keys (version, policy, ...)")]
        )
    wheel: Wheel | None = None
    try:
        wheel = Wheel.model_validate(source.data)
    except ValidationError as exc:
        problems.extend(_schema_problems(exc, source))
    findings = _cross_checks(source)
    problems.extend(p for p in findings if p.severity == "error")
    warnings = [p for p in findings if p.severity == "warning"]
    if problems or wheel is None:
        raise ConfigError(sorted(set(problems), key=lambda p: (p.line, p.path, p.message)))
    return Loaded(wheel, source, warnings)


# --- schema errors in plain words ---------------------------------------------------------

_FIELD_NAMES: dict[str, tuple[str, ...]] = {}


def _known_keys(data: Any, loc: Path) -> list[str]:
    """The keys the model allows at ``loc`` (for 'did you mean')."""
    from pydantic import BaseModel

    from models import wheel as w

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
    from typing import get_args

    from pydantic import BaseModel

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


def _schema_problems(exc: ValidationError, source: Source) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc: Path = tuple(p for p in err["loc"] if not (isinstance(p, str) and p[:1].isupper()))
        typ = err["type"]
        value = err.get("input")
        if typ == "extra_forbidden":
            key = str(loc[-1])
            known = _known_keys(source.data, loc)
            near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            allowed = f" (allowed here: {', '.join(known)})" if known and not near else ""
            msg = f"unknown key {key!r}{hint}{allowed}"
        elif typ == "missing":
            msg = f"the required key {loc[-1]!r} is missing"
            loc = loc[:-1] + (loc[-1],)
            out.append(
                Problem(source.file, source.line_of(loc[:-1]), _fmt(loc), msg)
            )
            continue
        elif typ in ("string_type", "str_type"):
            msg = f"must be text, got {_describe(value)}; put it in quotes"
        elif typ in ("int_type", "int_parsing", "int_from_float"):
            msg = f"must be a whole number, got {_describe(value)}"
        elif typ in ("float_type", "float_parsing"):
            msg = f"must be a number, got {_describe(value)}"
        elif typ in ("tuple_type", "list_type"):
            msg = f"must be a list, got {_describe(value)}"
        elif typ == "model_type" or typ == "model_attributes_type" or typ == "dict_type":
            msg = f"must be a mapping of keys, got {_describe(value)}"
        elif typ == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            msg = f"must be one of {expected}, got {_describe(value)}"
        elif typ == "too_short":
            msg = "must not be empty"
        elif typ == "too_long":
            msg = f"has too many items ({err.get('ctx', {}).get('max_length')} at most)"
        elif typ == "greater_than_equal":
            msg = f"must be at least {err.get('ctx', {}).get('ge')}, got {_describe(value)}"
        elif typ == "value_error":
            msg = str(err["msg"]).removeprefix("Value error, ")
        else:
            msg = str(err["msg"])
        out.append(Problem(source.file, source.line_of(loc), _fmt(loc), msg))
    return out


def _fmt(loc: Path) -> str:
    from models.problems import format_path

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


def _unknown(what: str, name: str, known: list[str]) -> str:
    near = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    if near:
        return f"unknown {what} {name!r}; did you mean {near[0]!r}?"
    listed = ", ".join(known) if known else "none are defined"
    return f"unknown {what} {name!r} (known: {listed})"


def _policy_years(policy: dict[str, Any]) -> list[int]:
    years = policy.get("years")
    if (
        isinstance(years, list)
        and len(years) == 2
        and all(isinstance(y, int) and not isinstance(y, bool) for y in years)
    ):
        first, last = years
        return list(range(first, last + 1)) if first <= last else []
    return []


def _cross_checks(src: Source) -> list[Problem]:
    data = src.data
    out: list[Problem] = []
    policy = data.get("policy") if isinstance(data.get("policy"), dict) else {}
    years = _policy_years(policy)

    # years in order and sane
    yrs = policy.get("years")
    if isinstance(yrs, list) and len(yrs) == 2 and all(isinstance(y, int) for y in yrs):
        if yrs[0] > yrs[1]:
            out.append(src.problem(("policy", "years"), "the first year comes after the last"))
        elif not (1900 <= yrs[0] and yrs[1] <= 2200):
            out.append(src.problem(("policy", "years"), "years must lie between 1900 and 2200"))
        elif yrs[1] - yrs[0] > 50:
            out.append(src.problem(("policy", "years"), "a policy spans at most 50 years"))
    elif isinstance(yrs, list) and len(yrs) != 2:
        out.append(src.problem(("policy", "years"), "give exactly two years: [first, last]"))

    # unique keys
    committees = [c.get("key") for _, c in _items(data, "committees")]
    committee_keys = [k for k in committees if isinstance(k, str)]
    for coll in ("committees", "deliverables", "events", "focus_areas"):
        seen: dict[str, int] = {}
        for i, item in _items(data, coll):
            k = item.get("key")
            if isinstance(k, str):
                if k in seen:
                    out.append(
                        src.problem(
                            (coll, i, "key"),
                            f"the key {k!r} is used twice (also {coll}[{seen[k]}])",
                        )
                    )
                else:
                    seen[k] = i
    goal_seen: dict[str, str] = {}
    goals: list[tuple[Path, dict[str, Any]]] = []
    for ai, area in _items(data, "focus_areas"):
        for gi, goal in _items(area, "goals"):
            goals.append((("focus_areas", ai, "goals", gi), goal))
    for path, goal in goals:
        k = goal.get("key")
        if isinstance(k, str):
            if k in goal_seen:
                out.append(src.problem((*path, "key"), f"the goal key {k!r} is used twice"))
            goal_seen[k] = k

    # owner
    owner = policy.get("owner")
    if isinstance(owner, str) and committee_keys and owner not in committee_keys:
        out.append(src.problem(("policy", "owner"), _unknown("committee", owner, committee_keys)))

    def check_refs(path: Path, value: Any, known: list[str], what: str) -> None:
        for i, name in _str_list(value):
            if name not in known:
                out.append(src.problem((*path, i), _unknown(what, name, known)))

    for path, goal in goals:
        check_refs((*path, "committees"), goal.get("committees"), committee_keys, "committee")
        tgt = goal.get("target")
        if isinstance(tgt, dict) and isinstance(tgt.get("year"), int) and years:
            if not (years[0] - 10 <= tgt["year"] <= years[-1] + 10):
                out.append(
                    src.problem((*path, "target", "year"), "the target year is far outside the policy's years")
                )

    deliverable_keys = [
        d.get("key") for _, d in _items(data, "deliverables") if isinstance(d.get("key"), str)
    ]
    for i, d in _items(data, "deliverables"):
        check_refs(("deliverables", i, "from"), d.get("from"), committee_keys, "committee")
        _check_month_day(src, ("deliverables", i, "due"), d.get("due"), years, out)
        if isinstance(d.get("from"), list) and not d["from"]:
            out.append(src.problem(("deliverables", i, "from"), "names no committee; leave it out for every committee but the owner"))

    opened: set[str] = set()
    for i, e in _items(data, "events"):
        check_refs(("events", i, "to"), e.get("to"), committee_keys, "committee")
        check_refs(("events", i, "opens"), e.get("opens"), deliverable_keys, "deliverable")
        _check_month_day(src, ("events", i, "date"), e.get("date"), years, out)
        do = e.get("do")
        if do == "letters" and not e.get("letter"):
            out.append(src.problem(("events", i, "do"), "an event that sends letters needs 'letter' (the template)"))
        if do != "letters" and do is not None:
            if e.get("letter") is not None:
                out.append(src.problem(("events", i, "letter"), f"only events with do: letters send a letter (this one does {do})"))
            if e.get("opens"):
                out.append(src.problem(("events", i, "opens"), f"only events with do: letters can open deliverables (this one does {do})"))
        if isinstance(e.get("to"), list) and not e["to"]:
            out.append(src.problem(("events", i, "to"), "names no committee; leave it out for every committee but the owner"))
        for _, name in _str_list(e.get("opens")):
            opened.add(name)
    for i, d in _items(data, "deliverables"):
        k = d.get("key")
        if isinstance(k, str) and k not in opened and _items(data, "events"):
            out.append(
                src.problem(
                    ("deliverables", i, "key"),
                    f"no event opens {k!r}, so it will never be requested or chased",
                    "warning",
                )
            )

    for j, day in _str_list(policy.get("closed_days")):
        _check_month_day(src, ("policy", "closed_days", j), day, years, out)

    # send_time must exist on every day of the policy's years (no spring-forward gap)
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
                        f"{' and more' if len(gaps) > 4 else ''} (clocks skip it for summer time); "
                        "choose another time",
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
        out.append(
            src.problem(
                path,
                f"{value!r} does not exist in {', '.join(map(str, missing))}; "
                "a date must exist in every year of the policy",
            )
        )


def _gap_days(tz: ZoneInfo, hour: int, minute: int, years: list[int]) -> list[date]:
    from datetime import UTC

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
