"""The shape of the house, read from the code: layers, circles, sizes, late imports, settings.

- ``models/`` (what the world is) <- ``letters/`` (what we write and send) <- ``flows/`` (when
  and how it runs): an import never points up a layer, and project modules import no circle
  (imports inside functions and under ``if TYPE_CHECKING:`` count).
- No module over 600 lines, no function over 120.
- Late imports (inside a function) only to keep the read-only verbs fast: each defers a
  library in :data:`HEAVY`, or a project module that imports one at its top; never a module
  the file has already imported at its top.
- Every import of a project module, at the top or late, anywhere in the tree (tests and
  benchmarks too), names a module and a name that exist.
- ``AARSHJUL_*`` variables are read in ``flows/settings.py`` only (and by the Alembic command
  line's own ``models/migrations/env.py``), however the name is spelled.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

import pytest

from tests import ROOT

LAYER = {"models": 0, "letters": 1, "flows": 2}
MAX_MODULE, MAX_FUNC = 600, 120
# Libraries that cost tens to thousands of milliseconds to import: the read-only verbs
# (check, plan, calendar, wheel) must not pay for them.
HEAVY = frozenset({
    "prefect", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "apscheduler", "matplotlib",
    "docx", "docxtpl", "lxml", "icalendar", "jinja2", "markupsafe", "babel", "holidays",
    "email_validator", "rich", "imapclient", "flufl", "pikepdf", "pypdf", "selenium",
})


def _modules() -> dict[str, Path]:
    out = {}
    for top in LAYER:
        for p in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in p.parts:
                continue
            name = ".".join(p.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = p
    return out


MODULES = _modules()


@cache
def _tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(encoding="utf-8"))


def _targets(node: ast.Import | ast.ImportFrom, name: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        pkg = name if MODULES[name].name == "__init__.py" else name.rsplit(".", 1)[0]
        parts = pkg.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
    # ``from flows import runs`` imports the module flows.runs; ``from x import name``, x
    subs = [f"{base}.{a.name}" for a in node.names]
    if all(t in MODULES for t in subs):
        return subs
    return [base]


def _project(target: str) -> str | None:
    while target and target not in MODULES:
        target = target.rsplit(".", 1)[0] if "." in target else ""
    return target or None


Imports = list[tuple[ast.AST, str]]


@cache
def _all_imports(name: str) -> tuple[Imports, Imports, Imports]:
    """(module-level imports, imports inside functions, imports for type checkers only,
    under ``if TYPE_CHECKING:``) as (node, target)."""
    top: Imports = []
    late: Imports = []
    typed: Imports = []
    tree = _tree(name)

    def visit(node: ast.AST, in_func: bool, for_types: bool) -> None:
        for child in ast.iter_child_nodes(node):
            types = for_types or (isinstance(child, ast.If) and _is_type_checking(child))
            inner = in_func or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import | ast.ImportFrom):
                for t in _targets(child, name):
                    (typed if types else late if in_func else top).append((child, t))
            visit(child, inner, types)

    visit(tree, False, False)
    return top, late, typed


def _imports(name: str) -> tuple[Imports, Imports]:
    """(module-level imports, imports inside functions): what runs."""
    top, late, _typed = _all_imports(name)
    return top, late


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


@cache
def _heavy_at_top(name: str) -> str | None:
    """The heavy library ``name`` loads at its top (itself or through a project module)."""
    seen: set[str] = set()
    stack = [name]
    while stack:
        m = stack.pop()
        if m in seen:
            continue
        seen.add(m)
        for _node, t in _imports(m)[0]:
            if t.split(".")[0] in HEAVY:
                return f"{m} imports {t}"
            p = _project(t)
            if p is not None and p != m:
                stack.append(p)
    return None


def test_imports_point_down_the_layers_and_make_no_circle() -> None:
    graph: dict[str, set[str]] = {}
    up = []
    for name in MODULES:
        top, late, typed = _all_imports(name)  # a type-only import couples modules too
        deps = {p for _n, t in top + late + typed
                if (p := _project(t)) is not None and p != name}
        graph[name] = deps
        for d in deps:
            if LAYER[d.split(".")[0]] > LAYER[name.split(".")[0]]:
                up.append(f"{name} -> {d}")
    assert up == [], "imports that run back up a layer"
    sys.setrecursionlimit(10_000)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    assert circles == []


def test_no_module_over_600_lines_and_no_function_over_120() -> None:
    big = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > MAX_MODULE:
            big.append(f"{path.relative_to(ROOT)}: {lines} lines")
        for node in ast.walk(_tree(name)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNC:
                    big.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {size}")
    assert big == []


def test_late_imports_only_defer_heavy_libraries() -> None:
    wrong = []
    for name, path in MODULES.items():
        top, late = _imports(name)
        at_top = {t for _n, t in top}
        for node, t in late:
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)} {t}"
            if t in at_top:
                wrong.append(f"{where}: already imported at the top of the module")
                continue
            if t.split(".")[0] in HEAVY:
                continue
            p = _project(t)
            if p is None:
                if t.split(".")[0] in sys.stdlib_module_names or not t:
                    wrong.append(f"{where}: a light module; import it at the top")
                continue  # a third-party library not listed: says nothing about the rule
            if p == name or _heavy_at_top(p) is None:
                wrong.append(f"{where}: {p} loads nothing heavy; import it at the top")
    assert wrong == []


# The two edges that read our variables: the settings, and the Alembic command line's own
# entry script (it runs outside the application, README "State and migrations").
ENV_EDGES = frozenset({ROOT / "flows" / "settings.py", ROOT / "models" / "migrations" / "env.py"})


def _is_environ(node: ast.expr) -> bool:
    """``os.environ`` or a bare ``environ``."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or \
        (isinstance(node, ast.Name) and node.id == "environ")


def _names_of_our_variables(trees: dict[Path, ast.Module]) -> set[str]:
    """Module-level names bound to an ``"AARSHJUL_..."`` string anywhere in the tree (so that
    ``os.environ.get(VAR)`` counts as well as ``os.environ.get("AARSHJUL_...")``)."""
    return {target.id for tree in trees.values() for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str) and node.value.value.startswith("AARSHJUL_")
            for target in node.targets if isinstance(target, ast.Name)}


def environment_reads(tree: ast.Module, names: set[str]) -> list[int]:
    """The lines where ``tree`` reads or sets one of our variables in the environment, named by
    a literal or by one of ``names``: ``os.environ[...]``, ``os.environ.get/pop/setdefault``,
    ``os.getenv``."""

    def ours(arg: ast.expr) -> bool:
        return (isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                and arg.value.startswith("AARSHJUL_")) or \
            (isinstance(arg, ast.Name) and arg.id in names)

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_environ(node.value) and ours(node.slice):
            lines.append(node.lineno)
        elif isinstance(node, ast.Call) and node.args and ours(node.args[0]):
            f = node.func
            if (isinstance(f, ast.Attribute) and f.attr in ("get", "pop", "setdefault")
                    and _is_environ(f.value)) or \
                    (isinstance(f, ast.Attribute) and f.attr == "getenv") or \
                    (isinstance(f, ast.Name) and f.id == "getenv"):
                lines.append(node.lineno)
    return sorted(lines)


@cache
def _trees() -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(encoding="utf-8")) for top in LAYER
            for p in sorted((ROOT / top).rglob("*.py"))}


@pytest.mark.parametrize("top", sorted(LAYER))
def test_our_variables_are_read_in_the_settings_only(top: str) -> None:
    trees = _trees()
    names = _names_of_our_variables(trees)
    found = [f"{p.relative_to(ROOT)}:{line}" for p, tree in trees.items()
             if p.is_relative_to(ROOT / top) and p not in ENV_EDGES
             for line in environment_reads(tree, names)]
    assert found == []


def test_the_settings_check_sees_every_way_of_reading_a_variable() -> None:
    source = (
        'import os\nfrom os import environ, getenv\nVAR = "AARSHJUL_X"\n'
        'a = os.environ.get(VAR)\nb = os.environ["AARSHJUL_Y"]\nc = getenv("AARSHJUL_Z")\n'
        'd = environ.pop(VAR, None)\nos.environ["AARSHJUL_W"] = "1"\n'
        'e = os.environ.get("PREFECT_API_URL")\nf = {}.get(VAR)\n'
    )
    tree = ast.parse(source)
    assert _names_of_our_variables({Path("m.py"): tree}) == {"VAR"}
    assert environment_reads(tree, {"VAR"}) == [4, 5, 6, 7, 8]


def test_code_cites_the_projects_own_docs() -> None:
    cited = [f"{p.relative_to(ROOT)}:{i}"
             for top in (*LAYER, "tests", "docs")
             for p in sorted((ROOT / top).rglob("*.py"))
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if "CONTRACT" + " §" in line]
    assert cited == []


PROJECT_TOPS = ("models", "letters", "flows", "tests", "docs")


def _module_file(dotted: str) -> Path | None:
    base = ROOT.joinpath(*dotted.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


@cache
def _top_names(path: Path) -> frozenset[str]:
    """The names a module binds at its top (under ``if``/``try`` too): what ``from it
    import name`` can find."""
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.For):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    names.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
            elif isinstance(node, ast.If | ast.Try | ast.With):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)
                visit(getattr(node, "finalbody", []))

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return frozenset(names)


def test_every_project_import_names_a_module_and_a_name_that_exist() -> None:
    """Late imports run only on their path (a benchmark, a verb's branch): a module renamed in
    a redesign must not leave one behind that fails only when that path runs."""
    wrong = []
    for top in PROJECT_TOPS:
        for path in sorted((ROOT / top).rglob("*.py")):
            package = path.relative_to(ROOT).parent.parts  # what a relative import starts from
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    wanted = [(a.name, None) for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        up = package[: len(package) - node.level + 1]
                        base = ".".join([*up, *([base] if base else [])])
                    wanted = [(base, a.name) for a in node.names]
                else:
                    continue
                for module, name in wanted:
                    if module.split(".")[0] not in PROJECT_TOPS:
                        continue
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    file = _module_file(module)
                    if file is None:
                        wrong.append(f"{where}: no module {module}")
                    elif name not in (None, "*") and name not in _top_names(file) \
                            and _module_file(f"{module}.{name}") is None:
                        wrong.append(f"{where}: {module} has no {name}")
    assert wrong == []
