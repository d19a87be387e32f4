"""The ``aarshjul`` command line (README "Command line").

Exit status: 0 done, 1 refused or failed (with a message saying why), 2 usage error.
Verbs that only read the wheel (check, plan, calendar, wheel) must stay fast: they import
neither Prefect nor SQLAlchemy nor matplotlib at module level (``wheel`` imports
matplotlib when it draws). Heavy imports live inside the verbs that need them.
"""

from __future__ import annotations

import typer

from flows import (
    cli_actions,
    cli_backup,
    cli_data,
    cli_doctor,
    cli_intake,
    cli_ops,
    cli_outputs,
    cli_records,
    cli_run,
    cli_site,
    cli_wheel,
)

app = typer.Typer(
    name="aarshjul",
    help="Årshjulet: letters, deadlines and reminders for a policy's annual cycle.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

cli_wheel.register(app)
cli_outputs.register(app)
cli_run.register(app)
cli_ops.register(app)
cli_data.register(app)
cli_site.register(app)
cli_actions.register(app)
cli_intake.register(app)
cli_backup.register(app)
cli_records.register(app)
cli_doctor.register(app)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
