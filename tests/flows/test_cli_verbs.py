"""The verb table of ``flows/cli.py``: every verb a ``cli_*`` module registers is in
:data:`flows.cli.VERBS` under that module, and a verb loads its own module only."""

from __future__ import annotations

import subprocess
import sys

import typer.main
from typer.testing import CliRunner

from flows.cli import VERBS, app, verbs_of
from tests import ROOT

CLI_MODULES = sorted({f"flows.{p.stem}" for p in (ROOT / "flows").glob("cli_*.py")
                      if "def register(" in p.read_text(encoding="utf-8")}
                     | {"flows.simulate.cli"})


def test_every_registered_verb_is_in_the_table_under_its_module() -> None:
    found = {name: module for module in CLI_MODULES for name in verbs_of(module)}
    assert found == VERBS


def test_help_lists_every_verb_in_table_order() -> None:
    group = typer.main.get_group(app)
    assert group.list_commands(typer.Context(group)) == list(VERBS)
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.startswith("  ") and not line.startswith("   ")]
    assert listed == list(VERBS)


def test_an_unknown_verb_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["chse"])
    assert result.exit_code == 2
    assert "No such command 'chse'" in result.output


LOADED = """
import sys
sys.argv = ["aarshjul", sys.argv[1], "--help"]
from flows.cli import main
try:
    main()
except SystemExit:
    pass
print(" ".join(m for m in sys.modules if m.startswith("flows.cli_")))
"""


def _loaded_by(verb: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", LOADED, verb], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return set(out[-1].split())


def test_a_verb_loads_its_own_module_only() -> None:
    assert _loaded_by("check") == {"flows.cli_wheel"}
    assert _loaded_by("doctor") == {"flows.cli_doctor"}
