"""The ``aarshjul`` command line (README "Command line").

Exit status: 0 done, 1 refused or failed (with a message saying why), 2 usage error.

Each verb lives in one ``flows/cli_*.py`` module, and :data:`VERBS` names it. A run of
``aarshjul VERB`` imports only that module: ``check`` does not pay for the engine, and
``doctor`` not for simulate. ``aarshjul --help`` imports them all to list them.
Verbs that only read the wheel (check, plan, calendar, wheel) must stay fast: they import
neither Prefect nor SQLAlchemy nor matplotlib at module level (``wheel`` imports
matplotlib when it draws). Heavy imports live inside the verbs that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import typer
import typer.main
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click.core import Command, Context  # the click that typer vendors

# verb -> the module whose ``register(app)`` adds it, in the order ``--help`` lists them
VERBS: dict[str, str] = {
    "check": "flows.cli_wheel", "plan": "flows.cli_wheel",
    "calendar": "flows.cli_outputs", "wheel": "flows.cli_outputs",
    "run": "flows.cli_run", "chase": "flows.cli_run", "submit": "flows.cli_run",
    "status": "flows.cli_run", "pause": "flows.cli_run", "resume": "flows.cli_run",
    "simulate": "flows.simulate.cli",
    "serve": "flows.cli_ops", "deploy": "flows.cli_ops",
    "barometer": "flows.cli_data", "budget": "flows.cli_data",
    "site": "flows.cli_site",
    "extend": "flows.cli_actions", "excuse": "flows.cli_actions", "reopen": "flows.cli_actions",
    "resend": "flows.cli_actions", "digest": "flows.cli_actions",
    "intake": "flows.cli_intake",
    "backup": "flows.cli_backup", "restore": "flows.cli_backup",
    "purge": "flows.cli_records", "export": "flows.cli_records",
    "doctor": "flows.cli_doctor",
}


def verbs_of(module: str) -> dict[str, Command]:
    """The click commands that ``module``'s ``register`` adds, by name."""
    sub = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False)
    importlib.import_module(module).register(sub)
    return dict(typer.main.get_group(sub).commands)


class Verbs(TyperGroup):
    """The top-level group: it loads a verb's module when the verb is asked for."""

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in VERBS:
            for name, command in verbs_of(VERBS[cmd_name]).items():
                self.add_command(command, name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: Context) -> list[str]:
        for name in VERBS:
            self.get_command(ctx, name)
        return super().list_commands(ctx)


app = typer.Typer(
    name="aarshjul",
    help="Årshjulet: letters, deadlines and reminders for a policy's annual cycle.",
    cls=Verbs,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _top() -> None:
    pass


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
