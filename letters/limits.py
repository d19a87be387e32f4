"""The limits of one template render, and what counts against them.

A :class:`Budget` is opened for each render (:func:`render_budget`; a context variable, so
renders in several threads do not share one) and the sandbox (:mod:`letters.sandbox`)
charges it: loop iterations, calls, the strings and lists a template makes, what it
writes, the time it takes. Whatever could make text or numbers much larger than what it
is given is measured before it is made (:func:`printed_size`, :func:`str_method_bound`,
the bounded filters); going over a limit raises :class:`LimitError`.
"""

from __future__ import annotations

import itertools
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2.sandbox import SecurityError

MAX_RANGE = 10_000
MAX_ITERATIONS = 100_000
MAX_CALLS = 10_000
MAX_STRING = 1_000_000
MAX_MADE = 20_000_000
MAX_INT_BITS = 100_000
MAX_WIDTH = 10_000
MAX_OUTPUT = 5_000_000
MAX_FILTER_INPUT = 100_000
MAX_SECONDS = 2.0


class LimitError(SecurityError):
    """A template went over one of the limits of a render."""


def number(value: float) -> str:
    """``1000000`` -> ``1.000.000``: limits as the messages show them."""
    return f"{value:,}".replace(",", ".")


# --- the budget of one render -------------------------------------------------------------


def _clock() -> float:
    """The rendering thread's own CPU time: a render's time limit counts the work the
    template makes, not the time the machine spends on other processes (so a busy machine
    does not refuse a template an idle one renders)."""
    return time.thread_time()


@dataclass
class Budget:
    started: float
    iterations: int = 0
    calls: int = 0
    made: int = 0
    output: int = 0

    def check_time(self) -> None:
        if _clock() - self.started > MAX_SECONDS:
            raise LimitError(f"the template took longer than {MAX_SECONDS:g} s to render")

    def iterate(self, static: int) -> None:
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise LimitError(f"the template's loops run more than {number(MAX_ITERATIONS)} times "
                             "in one render")
        if static:
            self.write(static)
        self.check_time()

    def call(self) -> None:
        self.calls += 1
        if self.calls > MAX_CALLS:
            raise LimitError(f"the template makes more than {number(MAX_CALLS)} calls in one "
                             "render")
        self.check_time()

    def make(self, size: int, what: str = "a string") -> None:
        if size > MAX_STRING:
            raise LimitError(f"the template makes {what} of more than {number(MAX_STRING)} "
                             "characters")
        self.made += size
        if self.made > MAX_MADE:
            raise LimitError(f"the template makes more than {number(MAX_MADE)} characters of text "
                             "in one render")

    def write(self, size: int) -> None:
        self.output += size
        if self.output > MAX_OUTPUT:
            raise LimitError(f"the template writes more than {number(MAX_OUTPUT)} characters")


CURRENT: ContextVar[Budget | None] = ContextVar("aarshjul_template_budget", default=None)


def budget() -> Budget:
    b = CURRENT.get()
    if b is None:
        raise LimitError("a template is rendered only through Template.render")
    return b


@contextmanager
def render_budget() -> Iterator[Budget]:
    """A fresh budget for the render inside the ``with``."""
    b = Budget(_clock())
    token = CURRENT.set(b)
    try:
        yield b
    finally:
        CURRENT.reset(token)


# --- sizes ---------------------------------------------------------------------------------


def printed_size(value: Any, limit: int = MAX_STRING) -> int:
    """About how many characters ``value`` prints as (stops counting past ``limit``)."""
    if isinstance(value, str | bytes):
        return len(value)
    if value is None or isinstance(value, bool | float):
        return 8
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    if isinstance(value, Mapping):
        items: Iterable[Any] = (x for kv in value.items() for x in kv)
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return 64  # an object: what it prints as is the data's
    total = 2
    for item in items:
        total += printed_size(item, limit - total) + 2
        if total > limit:
            break
    return total


def made(value: Any) -> Any:
    """A list, tuple or dict literal of the template: measured."""
    b = budget()
    b.make(printed_size(value), "a list")
    return value


def check_bits(bits: float) -> None:
    if bits > MAX_INT_BITS:
        raise LimitError(f"the template makes a number of more than {number(MAX_INT_BITS)} bits")


def format_widths(fmt: str) -> None:
    """Refuse a width or precision in a ``str.format`` string above MAX_WIDTH."""
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # format() itself says what is wrong
    for _, field, spec, _ in parsed:
        if field is None or not spec:
            continue
        if "{" in spec:
            raise LimitError("a format width given by another field is not allowed here")
        digits = [int(d) for d in "".join(c if c.isdigit() else " " for c in spec).split()]
        if any(d > MAX_WIDTH for d in digits):
            raise LimitError(f"a format width or precision is more than {number(MAX_WIDTH)}")


def printf_widths(fmt: str) -> None:
    """Refuse ``*`` or a width or precision above MAX_WIDTH in a ``%`` format."""
    i = 0
    while True:
        i = fmt.find("%", i)
        if i < 0 or i + 1 >= len(fmt):
            return
        j = i + 1
        if fmt[j] == "(":
            j = fmt.find(")", j)
            if j < 0:
                return
            j += 1
        spec = ""
        while j < len(fmt) and fmt[j] in "#0- +*.0123456789":
            spec += fmt[j]
            j += 1
        if "*" in spec:
            raise LimitError("a format width given by an argument ('*') is not allowed here")
        digits = [int(d) for d in spec.replace(".", " ").replace("-", " ").split() if d.isdigit()]
        if any(d > MAX_WIDTH for d in digits):
            raise LimitError(f"a format width or precision is more than {number(MAX_WIDTH)}")
        i = j + 1


def format_result_bound(fmt: str, args: Iterable[Any]) -> int:
    """An upper bound of the length of ``fmt`` formatted with ``args`` (widths are bounded)."""
    fields = fmt.count("{") + fmt.count("%")
    widest = max((printed_size(a) for a in args), default=0)
    return len(fmt) + fields * (widest + MAX_WIDTH)


# --- operators, calls, filters ---------------------------------------------------------------


def _width(value: Any) -> int:
    return value if isinstance(value, int) else len(str(value))


def str_method_bound(obj: Any, name: str, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> int | None:
    """An upper bound of the size of ``obj.name(*args)`` for the methods that can make text
    much longer than ``obj``; None for the others."""
    if name in ("center", "ljust", "rjust", "zfill") and args:
        return max(len(obj), _width(args[0]))
    if name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        return len(obj) + obj.count("\t" if isinstance(obj, str) else b"\t") * max(_width(size), 0)
    if name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        hits = (obj.count(old) if old else len(obj) + 1) if isinstance(old, type(obj)) else 0
        return len(obj) + hits * printed_size(new)
    if name == "join" and args:
        items = args[0]  # a list: call() made it one
        return sum(printed_size(x) for x in items) + len(obj) * len(items)
    if name == "translate" and args:
        table = args[0]
        widest = max((printed_size(v) for v in table.values()), default=1) \
            if isinstance(table, Mapping) else 1
        return len(obj) * max(widest, 1)
    if name in ("format", "format_map") and isinstance(obj, str):
        format_widths(obj)
        values = list(args) + list(kwargs.values())
        if name == "format_map" and args and isinstance(args[0], Mapping):
            values = list(args[0].values())
        return format_result_bound(obj, values)
    return None


def bounded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """The built-in filter ``name`` with its result bounded before it is made."""
    takes_ctx = getattr(original, "jinja_pass_arg", None)

    def bound(value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        b = budget()
        if name == "center":
            b.make(max(len(str(value)), _width(args[0] if args else kwargs.get("width", 80))))
        elif name == "indent":
            width = args[0] if args else kwargs.get("width", 4)
            text = str(value)
            b.make(len(text) + (text.count("\n") + 1) * max(_width(width), 0))
        elif name in ("batch", "slice"):
            count = args[0] if args else kwargs.get("linecount" if name == "batch" else "slices")
            if isinstance(count, int) and count > MAX_STRING:
                raise LimitError(f"{name}() makes more than {number(MAX_STRING)} groups")
            fill = args[1] if len(args) > 1 else kwargs.get("fill_with")
            if fill is not None and isinstance(count, int):
                b.make(count * printed_size(fill), "a list")
        elif name == "replace":
            b.make(str_method_bound(str(value), "replace", args, kwargs) or 0)
        elif name == "join":
            items = value  # a list: with_ctx made it one
            sep = args[0] if args else kwargs.get("d", "")
            b.make(sum(printed_size(x) for x in items) + len(str(sep)) * len(items))
        elif name == "format":
            fmt = str(value)
            printf_widths(fmt)
            b.make(format_result_bound(fmt, list(args) + list(kwargs.values())))
        elif name == "tojson":
            indent = args[0] if args else kwargs.get("indent")
            if indent is not None and _width(indent) > MAX_WIDTH:
                raise LimitError(f"tojson() indents by more than {number(MAX_WIDTH)}")
            b.make(printed_size(value) * 2)

    if takes_ctx is not None:
        def with_ctx(ctx: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            if name == "join":
                value = listed(value)
            bound(value, args, kwargs)
            return original(ctx, value, *args, **kwargs)

        with_ctx.jinja_pass_arg = takes_ctx  # type: ignore[attr-defined]
        return with_ctx

    def plain(value: Any, *args: Any, **kwargs: Any) -> Any:
        bound(value, args, kwargs)
        return original(value, *args, **kwargs)

    return plain


BOUNDED_FILTERS = ("batch", "center", "format", "indent", "join", "replace", "slice", "tojson")
# filters that take long on big input (about a second on a million characters or items)
HEAVY_FILTERS = ("dictsort", "groupby", "pprint", "sort", "unique", "urlize", "wordwrap")


def heavy_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """The built-in filter ``name``, refusing input of more than MAX_FILTER_INPUT."""

    def check(value: Any) -> Any:
        if not isinstance(value, str | bytes | Mapping | list | tuple | set | frozenset):
            value = listed(value)
        if printed_size(value, MAX_FILTER_INPUT) > MAX_FILTER_INPUT:
            raise LimitError(f"{name}() is given more than {number(MAX_FILTER_INPUT)} characters")
        return value

    if getattr(original, "jinja_pass_arg", None) is not None:
        def with_ctx(ctx: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            return original(ctx, check(value), *args, **kwargs)

        with_ctx.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
        return with_ctx

    def plain(value: Any, *args: Any, **kwargs: Any) -> Any:
        return original(check(value), *args, **kwargs)

    return plain


def listed(items: Any) -> list[Any]:
    """``items`` as a list, refusing more than MAX_STRING of them."""
    if isinstance(items, list):
        return items
    out = list(itertools.islice(items, MAX_STRING + 1))
    if len(out) > MAX_STRING:
        raise LimitError(f"the template joins more than {number(MAX_STRING)} items")
    return out


def bounded_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise LimitError(f"range() makes more than {number(MAX_RANGE)} numbers")
    return rng
