"""README.md stays true: built from docs/, its links lead somewhere, and it names every verb,
every key of aarshjul.yaml, every AARSHJUL_* variable and every README section the code cites."""

from __future__ import annotations

import re
import typing

import pytest
import typer
import typer.main
from pydantic import BaseModel
from typer.core import TyperGroup

from tests import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
HEADINGS = [line.lstrip("#").strip() for line in README.splitlines()
            if re.match(r"^#{2,4} ", line)]


def _slug(title: str) -> str:
    s = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return s.replace(" ", "-")


def test_every_internal_link_leads_to_a_heading() -> None:
    slugs = {_slug(h) for h in HEADINGS}
    links = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert sorted(links - slugs) == []


def test_the_sections_the_code_cites_exist() -> None:
    cited: set[str] = set()
    for top in ("models", "letters", "flows"):
        for p in (ROOT / top).rglob("*.py"):
            text = " ".join(p.read_text(encoding="utf-8").split())
            cited |= set(re.findall(r'README "([^"]+)"', text))
    missing = sorted(c for c in cited if not any(h.startswith(c) for h in HEADINGS))
    assert missing == []


def _verbs(group: TyperGroup, prefix: str = "") -> list[str]:
    ctx = typer.Context(group)
    out = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        out.append(prefix + name)
        if isinstance(command, TyperGroup):
            out += _verbs(command, f"{prefix}{name} ")
    return out


def test_every_cli_verb_is_in_the_command_table() -> None:
    from flows.cli import app

    table = README[README.index("## Command line"):]
    table = table[: table.index("\n## ", 5)]
    verbs = _verbs(typer.main.get_group(app))
    assert len(verbs) > 20
    missing = [v for v in verbs if f"`{v}" not in table]
    assert missing == []


def _keys(model: type[BaseModel], seen: set[type]) -> set[str]:
    if model in seen:
        return set()
    seen.add(model)
    out: set[str] = set()
    for name, field in model.model_fields.items():
        out.add(field.alias or name)
        for arg in _types(field.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out |= _keys(arg, seen)
    return out


def _types(t: object) -> list[object]:
    args = typing.get_args(t)
    if not args:
        return [t]
    return [x for a in args for x in _types(a)]


def test_every_key_of_the_wheel_file_is_in_the_reference() -> None:
    from models.wheel import Wheel

    ref = README[README.index("## The wheel file"):]
    ref = ref[: ref.index("\n## ", 5)]
    missing = sorted(k for k in _keys(Wheel, set()) if f"`{k}`" not in ref and
                     not re.search(rf"`[\w.\[\]]*\.{re.escape(k)}`", ref))
    assert missing == []


def test_every_variable_of_the_settings_is_documented() -> None:
    from flows.settings import VARIABLES

    missing = [v for v in VARIABLES if f"`{v}`" not in README]
    assert missing == []


@pytest.mark.parametrize("marker", ["postgres", "ui", "office", "proxy", "imap"])
def test_every_required_test_kind_is_installed_and_required_under_ci(marker: str) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    required = re.search(r"AARSHJUL_REQUIRE_MARKERS=([\w,]+)", makefile)
    assert required is not None and marker in required.group(1).split(",")


def test_every_migration_is_listed() -> None:
    found = sorted(p.stem for p in (ROOT / "models" / "migrations" / "versions").glob("0*.py"))
    assert len(found) >= 9
    missing = [m for m in found if f"`{m}`" not in README]
    assert missing == []
