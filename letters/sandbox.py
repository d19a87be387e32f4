"""The one Jinja environment of the project: a sandbox with bounded resources.

Templates are edited by coordinators, so they are rendered in Jinja's immutable sandbox
(no access to Python internals, no changing lists or dicts) with ``StrictUndefined``, and
every render is bounded, so that a template cannot hang ``aarshjul check``, a sending verb
or ``serve``, nor exhaust memory. Per render:

- a ``range`` has at most :data:`MAX_RANGE` items; all loops together make at most
  :data:`MAX_ITERATIONS` iterations, and calls (macros, methods) at most :data:`MAX_CALLS`;
- a string made in the template (``*``, ``+``, ``~``, ``join``, ``replace``, ``center``,
  ``format``, ...) has at most :data:`MAX_STRING` characters, a list or tuple made in it
  at most :data:`MAX_STRING` items and as much text when printed; all strings made
  together at most :data:`MAX_MADE` characters; a whole number at most
  :data:`MAX_INT_BITS` bits; a width or precision in a format at most :data:`MAX_WIDTH`;
- the output has at most :data:`MAX_OUTPUT` characters; the filters that are slow on big
  input (``sort``, ``wordwrap``, ``urlize``, ...) take at most :data:`MAX_FILTER_INPUT`;
- and, whatever the template does, it takes at most :data:`MAX_SECONDS`.

Going over a limit raises :class:`LimitError` (a :class:`jinja2.sandbox.SecurityError`)
from inside the template, so the error names the template's line; rendering stops at once.
``recursive`` loops and ``lipsum`` are not available.

The limits are counted on a budget that :class:`BoundedTemplate` opens for each render (a
context variable: renders in several threads do not share it); a template cannot be
rendered without one. Loops and ``~`` are counted by rewriting the template's syntax tree
before it is compiled (:meth:`Sandbox._parse`): every ``for`` iterates through a counting
filter, every ``~`` joins through a bounded one, every list, tuple or dict literal is
measured.

:func:`environment` is the factory: the Word parts (autoescaped for XML) and the e-mail
bodies (text and HTML, which differ only in autoescape) all come from it.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import filters as jfilters
from jinja2 import nodes
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

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

_LOOP = "__aarshjul_loop"
_CONCAT = "__aarshjul_concat"
_MADE = "__aarshjul_made"

# what identifies the compiled form of a template: the bytecode cache of the e-mail bodies
# must not hand back code compiled by an earlier version of these rules
COMPILER_ID = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


class LimitError(SecurityError):
    """A template went over one of the limits of a render."""


def _n(value: float) -> str:
    return f"{value:,}".replace(",", ".")


# --- the budget of one render -------------------------------------------------------------


def _clock() -> float:
    return time.monotonic()


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
            raise LimitError(f"the template's loops run more than {_n(MAX_ITERATIONS)} times "
                             "in one render")
        if static:
            self.write(static)
        self.check_time()

    def call(self) -> None:
        self.calls += 1
        if self.calls > MAX_CALLS:
            raise LimitError(f"the template makes more than {_n(MAX_CALLS)} calls in one render")
        self.check_time()

    def make(self, size: int, what: str = "a string") -> None:
        if size > MAX_STRING:
            raise LimitError(f"the template makes {what} of more than {_n(MAX_STRING)} "
                             "characters")
        self.made += size
        if self.made > MAX_MADE:
            raise LimitError(f"the template makes more than {_n(MAX_MADE)} characters of text "
                             "in one render")

    def write(self, size: int) -> None:
        self.output += size
        if self.output > MAX_OUTPUT:
            raise LimitError(f"the template writes more than {_n(MAX_OUTPUT)} characters")


_BUDGET: ContextVar[Budget | None] = ContextVar("aarshjul_template_budget", default=None)


def budget() -> Budget:
    b = _BUDGET.get()
    if b is None:
        raise LimitError("a template is rendered only through Template.render")
    return b


class BoundedTemplate(jinja2.Template):
    """A template whose every render has its own :class:`Budget`."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        token = _BUDGET.set(Budget(_clock()))
        try:
            ctx = self.new_context(dict(*args, **kwargs))
            try:
                out = "".join(self.root_render_func(ctx))
                if len(out) > MAX_OUTPUT:  # what no other count sees (an include's own text)
                    raise LimitError(f"the template writes more than {_n(MAX_OUTPUT)} "
                                     "characters")
                return out
            except Exception:
                self.environment.handle_exception()
        finally:
            _BUDGET.reset(token)

    def generate(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        yield self.render(*args, **kwargs)


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


def _made(value: Any) -> Any:
    """A list, tuple or dict literal of the template: measured."""
    b = budget()
    b.make(printed_size(value), "a list")
    return value


def _check_bits(bits: float) -> None:
    if bits > MAX_INT_BITS:
        raise LimitError(f"the template makes a number of more than {_n(MAX_INT_BITS)} bits")


def _format_widths(fmt: str) -> None:
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
            raise LimitError(f"a format width or precision is more than {_n(MAX_WIDTH)}")


def _printf_widths(fmt: str) -> None:
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
            raise LimitError(f"a format width or precision is more than {_n(MAX_WIDTH)}")
        i = j + 1


def _format_result_bound(fmt: str, args: Iterable[Any]) -> int:
    """An upper bound of the length of ``fmt`` formatted with ``args`` (widths are bounded)."""
    fields = fmt.count("{") + fmt.count("%")
    widest = max((printed_size(a) for a in args), default=0)
    return len(fmt) + fields * (widest + MAX_WIDTH)


# --- operators, calls, filters ---------------------------------------------------------------


def _width(value: Any) -> int:
    return value if isinstance(value, int) else len(str(value))


def _str_method_bound(obj: Any, name: str, args: tuple[Any, ...],
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
        _format_widths(obj)
        values = list(args) + list(kwargs.values())
        if name == "format_map" and args and isinstance(args[0], Mapping):
            values = list(args[0].values())
        return _format_result_bound(obj, values)
    return None


def _bounded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
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
                raise LimitError(f"{name}() makes more than {_n(MAX_STRING)} groups")
            fill = args[1] if len(args) > 1 else kwargs.get("fill_with")
            if fill is not None and isinstance(count, int):
                b.make(count * printed_size(fill), "a list")
        elif name == "replace":
            b.make(_str_method_bound(str(value), "replace", args, kwargs) or 0)
        elif name == "join":
            items = value  # a list: with_ctx made it one
            sep = args[0] if args else kwargs.get("d", "")
            b.make(sum(printed_size(x) for x in items) + len(str(sep)) * len(items))
        elif name == "format":
            fmt = str(value)
            _printf_widths(fmt)
            b.make(_format_result_bound(fmt, list(args) + list(kwargs.values())))
        elif name == "tojson":
            indent = args[0] if args else kwargs.get("indent")
            if indent is not None and _width(indent) > MAX_WIDTH:
                raise LimitError(f"tojson() indents by more than {_n(MAX_WIDTH)}")
            b.make(printed_size(value) * 2)

    if takes_ctx is not None:
        def with_ctx(ctx: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            if name == "join":
                value = _listed(value)
            bound(value, args, kwargs)
            return original(ctx, value, *args, **kwargs)

        with_ctx.jinja_pass_arg = takes_ctx  # type: ignore[attr-defined]
        return with_ctx

    def plain(value: Any, *args: Any, **kwargs: Any) -> Any:
        bound(value, args, kwargs)
        return original(value, *args, **kwargs)

    return plain


_BOUNDED_FILTERS = ("batch", "center", "format", "indent", "join", "replace", "slice", "tojson")
# filters that take long on big input (about a second on a million characters or items)
_HEAVY_FILTERS = ("dictsort", "groupby", "pprint", "sort", "unique", "urlize", "wordwrap")


def _heavy_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """The built-in filter ``name``, refusing input of more than MAX_FILTER_INPUT."""

    def check(value: Any) -> Any:
        if not isinstance(value, str | bytes | Mapping | list | tuple | set | frozenset):
            value = _listed(value)
        if printed_size(value, MAX_FILTER_INPUT) > MAX_FILTER_INPUT:
            raise LimitError(f"{name}() is given more than {_n(MAX_FILTER_INPUT)} characters")
        return value

    if getattr(original, "jinja_pass_arg", None) is not None:
        def with_ctx(ctx: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            return original(ctx, check(value), *args, **kwargs)

        with_ctx.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
        return with_ctx

    def plain(value: Any, *args: Any, **kwargs: Any) -> Any:
        return original(check(value), *args, **kwargs)

    return plain


def _loop_filter(iterable: Any, static: int = 0) -> Iterator[Any]:
    """What every ``for`` iterates through: one step of the budget per item, and the loop
    body's own text (``static`` characters) counted as written each time."""
    b = budget()

    def steps() -> Iterator[Any]:
        for item in iterable:
            b.iterate(static)
            yield item

    return steps()


def _listed(items: Any) -> list[Any]:
    """``items`` as a list, refusing more than MAX_STRING of them."""
    if isinstance(items, list):
        return items
    out = list(itertools.islice(items, MAX_STRING + 1))
    if len(out) > MAX_STRING:
        raise LimitError(f"the template joins more than {_n(MAX_STRING)} items")
    return out


@jinja2.pass_eval_context
def _concat_filter(eval_ctx: Any, items: list[Any]) -> str:
    budget().make(sum(printed_size(x) for x in items))
    return markup_join(items) if eval_ctx.autoescape else str_join(items)


def _range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise LimitError(f"range() makes more than {_n(MAX_RANGE)} numbers")
    return rng


class _Bound(NodeTransformer):
    """Rewrites a template's syntax tree so that its loops, ``~`` and literals are counted."""

    def __init__(self, name: str | None, filename: str | None) -> None:
        self.name, self.filename = name, filename

    def visit_For(self, node: nodes.For) -> nodes.Node:
        if node.recursive:
            raise jinja2.TemplateSyntaxError("recursive loops are not allowed in templates",
                                             node.lineno, self.name, self.filename)
        static = sum(len(d.data) for d in _own_data(node.body))
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _LOOP, [nodes.Const(static)], [], None, None,
                                 lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(nodes.List(node.nodes, lineno=node.lineno), _CONCAT, [], [], None,
                            None, lineno=node.lineno)

    def _literal(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        if getattr(node, "ctx", "load") != "load":
            return node
        return nodes.Filter(node, _MADE, [], [], None, None, lineno=node.lineno)

    visit_List = _literal
    visit_Tuple = _literal
    visit_Dict = _literal


def _own_data(body: list[nodes.Node]) -> Iterator[nodes.TemplateData]:
    """The template text in ``body``, not counting what nested loops write (they count it)."""
    for node in body:
        if isinstance(node, nodes.For):
            continue
        if isinstance(node, nodes.TemplateData):
            yield node
            continue
        for child in node.iter_child_nodes():
            yield from _own_data([child])


# --- the environment ---------------------------------------------------------------------------


class Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the limits above.

    ``x.name`` on a plain dict is looked up as an item first. Jinja tries the attribute first
    and falls back to the item, which costs an exception per look-up on our dict contexts.
    Items of a dict are data, never code (the sandbox does not check them either), so looking
    them up first is as safe and about twice as fast; a name that is not a key still goes
    through the sandbox's attribute checks.
    """

    template_class = BoundedTemplate
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _range
        self.globals.pop("lipsum", None)
        for name in _HEAVY_FILTERS:
            self.filters[name] = _heavy_filter(name, jfilters.FILTERS[name])
        for name in _BOUNDED_FILTERS:
            self.filters[name] = _bounded_filter(name, jfilters.FILTERS[name])
        self.filters[_LOOP] = _loop_filter
        self.filters[_CONCAT] = _concat_filter
        self.filters[_MADE] = _made

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        out = _Bound(name, filename).visit(tree)
        assert isinstance(out, nodes.Template)
        return out

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        b = budget()
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | bytes | list | tuple) and isinstance(n, int):
                    b.make(printed_size(seq) * max(n, 0), "a string" if isinstance(
                        seq, str | bytes) else "a list")
                    if isinstance(seq, list | tuple):
                        b.make(len(seq) * max(n, 0), "a list")
            if isinstance(left, int) and isinstance(right, int):
                _check_bits(left.bit_length() + right.bit_length())
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                _check_bits(right * math.log2(abs(left)))
        elif operator == "+":
            if isinstance(left, str | bytes | list | tuple) and isinstance(right, type(left)):
                b.make(printed_size(left) + printed_size(right),
                       "a string" if isinstance(left, str | bytes) else "a list")
        elif operator == "%" and isinstance(left, str):
            _printf_widths(left)
            args = right if isinstance(right, tuple) else \
                list(right.values()) if isinstance(right, Mapping) else [right]
            b.make(_format_result_bound(left, args))
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        b = budget()
        b.call()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            name = getattr(__obj, "__name__", "")
            if name == "join" and args:
                args = (_listed(args[0]), *args[1:])
            size = _str_method_bound(owner, name, args, kwargs)
            if size is not None:
                b.make(size)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__
        is_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            _format_widths(fmt)
            values = list(args[0].values()) if is_map and args and isinstance(
                args[0], Mapping) else list(args) + list(kwargs.values())
            budget().make(_format_result_bound(fmt, values))
            return wrapped(*args, **kwargs)

        return bounded


def _counting(finalize: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """``finalize`` that also counts what each ``{{ }}`` writes."""

    def counted(value: Any) -> Any:
        out = finalize(value) if finalize is not None else value
        b = _BUDGET.get() or budget()
        if isinstance(out, str):
            b.output += len(out)
        else:
            size = printed_size(out, MAX_OUTPUT)
            if size > MAX_STRING:
                raise LimitError(f"the template writes a value of more than {_n(MAX_STRING)} "
                                 "characters")
            b.output += size
        if b.output > MAX_OUTPUT:
            b.write(0)  # raises
        b.check_time()
        return out

    return counted


def environment(
    *, autoescape: bool, finalize: Callable[[Any], Any] | None = None,
    loader: jinja2.BaseLoader | None = None, lines: bool = False,
    bytecode_cache: jinja2.BytecodeCache | None = None,
) -> Sandbox:
    """A sandboxed environment with the limits above: ``autoescape`` (XML or HTML), a
    ``finalize`` for printed values, a ``loader`` for templates kept as files (reloaded when
    they change; none: templates come from strings, nothing is cached), ``lines``: block
    tags on their own line leave no blank line (``trim_blocks``, ``lstrip_blocks``)."""
    return Sandbox(
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        finalize=_counting(finalize),
        keep_trailing_newline=True,
        trim_blocks=lines,
        lstrip_blocks=lines,
        loader=loader,
        auto_reload=loader is not None,
        cache_size=400 if loader is not None else 0,
        bytecode_cache=bytecode_cache,
    )


def bytecode_cache() -> jinja2.BytecodeCache:
    """Compiled templates kept between processes (per user, mode 0700, keyed by the source's
    checksum and by :data:`COMPILER_ID`, so code compiled under other limits is not reused)."""
    return jinja2.FileSystemBytecodeCache(pattern=f"__aarshjul_{COMPILER_ID}_%s.cache")
