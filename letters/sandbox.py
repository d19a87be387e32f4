"""The one Jinja environment of the project: a sandbox with bounded resources.

Templates are edited by coordinators, so they are rendered in Jinja's immutable sandbox
(no access to Python internals, no changing lists or dicts) with ``StrictUndefined``, and
every render is bounded, so that a template cannot hang ``aarshjul check``, a sending verb
or ``serve``, nor exhaust memory. Per render (the numbers and the counting are in
:mod:`letters.limits`):

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
import math
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import filters as jfilters
from jinja2 import nodes
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from letters import limits as L
from letters.limits import (
    MAX_OUTPUT,
    MAX_STRING,
    LimitError,
    budget,
    printed_size,
    render_budget,
)

_LOOP = "__aarshjul_loop"
_CONCAT = "__aarshjul_concat"
_MADE = "__aarshjul_made"

# what identifies the compiled form of a template: the bytecode cache of the e-mail bodies
# must not hand back code compiled by an earlier version of these rules
COMPILER_ID = hashlib.sha256(b"".join(
    Path(f).read_bytes() for f in (__file__, L.__file__))).hexdigest()[:12]


class BoundedTemplate(jinja2.Template):
    """A template whose every render has its own :class:`Budget`."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        with render_budget():
            ctx = self.new_context(dict(*args, **kwargs))
            try:
                out = "".join(self.root_render_func(ctx))
                if len(out) > MAX_OUTPUT:  # what no other count sees (an include's own text)
                    raise LimitError(f"the template writes more than {L.number(MAX_OUTPUT)} "
                                     "characters")
                return out
            except Exception:
                self.environment.handle_exception()

    def generate(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        yield self.render(*args, **kwargs)


def _loop_filter(iterable: Any, static: int = 0) -> Iterator[Any]:
    """What every ``for`` iterates through: one step of the budget per item, and the loop
    body's own text (``static`` characters) counted as written each time."""
    b = budget()

    def steps() -> Iterator[Any]:
        for item in iterable:
            b.iterate(static)
            yield item

    return steps()


@jinja2.pass_eval_context
def _concat_filter(eval_ctx: Any, items: list[Any]) -> str:
    budget().make(sum(printed_size(x) for x in items))
    return markup_join(items) if eval_ctx.autoescape else str_join(items)


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
        self.globals["range"] = L.bounded_range
        self.globals.pop("lipsum", None)
        for name in L.HEAVY_FILTERS:
            self.filters[name] = L.heavy_filter(name, jfilters.FILTERS[name])
        for name in L.BOUNDED_FILTERS:
            self.filters[name] = L.bounded_filter(name, jfilters.FILTERS[name])
        self.filters[_LOOP] = _loop_filter
        self.filters[_CONCAT] = _concat_filter
        self.filters[_MADE] = L.made

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
                L.check_bits(left.bit_length() + right.bit_length())
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                L.check_bits(right * math.log2(abs(left)))
        elif operator == "+":
            if isinstance(left, str | bytes | list | tuple) and isinstance(right, type(left)):
                b.make(printed_size(left) + printed_size(right),
                       "a string" if isinstance(left, str | bytes) else "a list")
        elif operator == "%" and isinstance(left, str):
            L.printf_widths(left)
            args = right if isinstance(right, tuple) else \
                list(right.values()) if isinstance(right, Mapping) else [right]
            b.make(L.format_result_bound(left, args))
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        b = budget()
        b.call()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            name = getattr(__obj, "__name__", "")
            if name == "join" and args:
                args = (L.listed(args[0]), *args[1:])
            size = L.str_method_bound(owner, name, args, kwargs)
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
            L.format_widths(fmt)
            values = list(args[0].values()) if is_map and args and isinstance(
                args[0], Mapping) else list(args) + list(kwargs.values())
            budget().make(L.format_result_bound(fmt, values))
            return wrapped(*args, **kwargs)

        return bounded


def _counting(finalize: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """``finalize`` that also counts what each ``{{ }}`` writes."""

    def counted(value: Any) -> Any:
        out = finalize(value) if finalize is not None else value
        b = L.CURRENT.get() or budget()
        if isinstance(out, str):
            b.output += len(out)
        else:
            size = printed_size(out, MAX_OUTPUT)
            if size > MAX_STRING:
                raise LimitError(f"the template writes a value of more than {L.number(MAX_STRING)} "
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
