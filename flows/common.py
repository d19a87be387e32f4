"""Shared helpers for CLI verbs: loading the wheel and refusing cleanly."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from flows.prefect_auth import Credential, CredentialError, from_settings
from flows.settings import Settings, SettingsError
from letters.checks import template_problems
from letters.files import FileRefused, refuse_odd
from models.config import Loaded, load
from models.problems import ConfigError
from models.text import shown

YearOption = Annotated[int, typer.Option("--year", "-y", help="The cycle year.")]
ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", help="The wheel file.", show_default=True),
]
DEFAULT_CONFIG = Path("aarshjul.yaml")


def fail(message: str) -> NoReturn:
    """Refuse with a message on stderr and exit 1."""
    print(message, file=sys.stderr)
    raise typer.Exit(1)


def load_or_exit(config: Path, *, show_warnings: bool = True) -> Loaded:
    """Load the wheel; on any problem print one line per problem and exit 1. A directory,
    FIFO or device as the wheel file is refused before it is read (letters/files.py)."""
    try:
        refuse_odd(config)
    except FileRefused as exc:
        fail(f"{shown(config)}:0 (file): {exc.reason}; nothing was run.")
    try:
        loaded = load(config)
    except ConfigError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        n = len(exc.problems)
        fail(f"{shown(config)}: refused, {n} problem{'s' if n != 1 else ''}; nothing was run.")

    problems = template_problems(loaded, settings_or_exit(config).templates_dir)
    errors = [p for p in problems if p.severity == "error"]
    loaded.warnings.extend(p for p in problems if p.severity != "error")
    if errors:
        for p in errors:
            print(p, file=sys.stderr)
        n = len(errors)
        fail(
            f"{shown(config)}: refused, {n} problem{'s' if n != 1 else ''} in the templates; "
            "nothing was run."
        )
    if show_warnings:
        for w in loaded.warnings:
            print(w, file=sys.stderr)
    return loaded


def year_or_exit(loaded: Loaded, year: int) -> int:
    first, last = loaded.wheel.policy.years
    if not first <= year <= last:
        fail(
            f"{year} is not a cycle year of the policy ({first}-{last}). "
            f"Give --year {first}{f' to {last}' if last != first else ''}."
        )
    return year


def settings_or_exit(config: Path, data_dir: Path | None = None) -> Settings:
    """The settings of this process (``--config`` and ``--data-dir`` win over their
    variables); a malformed variable is refused, one line each."""
    try:
        return Settings.from_env(config=config, data_dir=data_dir)
    except SettingsError as exc:
        _bad_environment(exc)


def _bad_environment(exc: SettingsError) -> NoReturn:
    """A malformed variable is a usage error: one line each (no password), exit 2."""
    for p in exc.problems:
        print(p, file=sys.stderr)
    print("refused: fix the environment; nothing was run.", file=sys.stderr)
    raise typer.Exit(2)


def prefect_credential() -> Credential | None:
    """The Prefect credential of the settings (AARSHJUL_PREFECT_AUTH_FILE or the systemd
    credential prefect-auth), checked; None when none is configured; a refusal exits 1."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        _bad_environment(exc)
    try:
        return from_settings(settings)
    except CredentialError as exc:
        fail(f"refused: {exc}")
