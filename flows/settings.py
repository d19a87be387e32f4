"""The one typed settings object: every ``AARSHJUL_*`` variable, read once, at the edge.

The CLI reads the environment when a verb starts (:meth:`Settings.from_env`), and so do the
Prefect flow runs that a worker or serve's runner starts in a child process. Everything
below the edge takes the values it needs as arguments; no other module reads
``os.environ`` for our variables.

A malformed value is refused with one line per variable (:class:`SettingsError`), never a
traceback; secrets (the SMTP and IMAP passwords, the Prefect credential) never appear in a
message or a ``repr``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from letters.smtp_url import parse_smtp_url

PREFIX = "AARSHJUL_"
DEFAULT_CONFIG = Path("aarshjul.yaml")
DEFAULT_DATABASE_URL = "sqlite:///aarshjul.sqlite"
DEFAULT_DATA_DIR = Path("aarshjul-data")

# variable -> (field, what it is); README "Settings" lists the same.
VARIABLES: dict[str, tuple[str, str]] = {
    "AARSHJUL_CONFIG": ("config", "the wheel file (default ./aarshjul.yaml)"),
    "AARSHJUL_DATABASE_URL": ("database_url", "the state database (default SQLite in the cwd)"),
    "AARSHJUL_DATA_DIR": ("data_dir", "journal, documents, submissions (default ./aarshjul-data)"),
    "AARSHJUL_SMTP_URL": ("smtp_url", "where mail goes (unset: .eml files in the data dir)"),
    "AARSHJUL_SMTP_RATE": ("smtp_rate", "messages per minute at most, across workers"),
    "AARSHJUL_IMAP_URL": ("imap_url", "the mailbox the replies are read from"),
    "AARSHJUL_IMAP_POLL": ("imap_poll", "minutes between serve's mailbox passes (default 10)"),
    "AARSHJUL_TEMPLATES_DIR": ("templates_dir", "templates instead of the bundled ones"),
    "AARSHJUL_PREFECT_AUTH_FILE": ("prefect_auth_file", "file holding the Prefect credential"),
    "AARSHJUL_FAULT": ("fault", "crash tests only: phase:N kills the sender"),
    "AARSHJUL_HEARTBEAT_EVERY": ("heartbeat_every", "seconds between serve's heartbeats (60)"),
    "AARSHJUL_HEARTBEAT_MAX_AGE": ("heartbeat_max_age",
                                   "seconds after which doctor calls a heartbeat stale (300)"),
    "AARSHJUL_WATCH_GRACE": ("watch_grace",
                             "minutes Prefect, SMTP or IMAP may be unreachable before an alert "
                             "(15)"),
    "AARSHJUL_OUTBOX_MAX_WAIT": ("outbox_max_wait",
                                 "minutes the oldest waiting message may wait (60)"),
    "AARSHJUL_CHASE_LATE": ("chase_late",
                            "minutes a planned chase may be late before doctor fails (120)"),
}

# positive numbers: field -> (default, unit in the message); README "Monitoring"
NUMBERS: dict[str, tuple[float, str]] = {
    "heartbeat_every": (60.0, "seconds"),
    "heartbeat_max_age": (300.0, "seconds"),
    "watch_grace": (15.0, "minutes"),
    "outbox_max_wait": (60.0, "minutes"),
    "chase_late": (120.0, "minutes"),
}


class SettingsError(ValueError):
    """One or more variables are malformed; ``problems`` has one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    config: Path = DEFAULT_CONFIG
    database_url: str = DEFAULT_DATABASE_URL
    data_dir: Path = DEFAULT_DATA_DIR
    smtp_url: str | None = None
    smtp_rate: float | None = None
    imap_url: str | None = None
    imap_poll: float | None = None  # minutes; None: serve's default (10)
    templates_dir: Path | None = None
    prefect_auth_file: Path | None = None
    fault: str | None = None
    heartbeat_every: float = NUMBERS["heartbeat_every"][0]
    heartbeat_max_age: float = NUMBERS["heartbeat_max_age"][0]
    watch_grace: float = NUMBERS["watch_grace"][0]
    outbox_max_wait: float = NUMBERS["outbox_max_wait"][0]
    chase_late: float = NUMBERS["chase_late"][0]

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.__dict__.items() if v is not None}
        for secret in ("smtp_url", "imap_url"):
            if secret in shown:
                shown[secret] = redact_url(str(shown[secret]))
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    __str__ = __repr__

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """The settings from ``env`` (default: this process's environment), then
        ``overrides`` (a CLI flag wins over its variable). Raises :class:`SettingsError`."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        problems: list[str] = []
        for var, (name, _what) in VARIABLES.items():
            raw = env.get(var, "").strip()
            if raw:
                values[name] = raw
        if "smtp_url" in values:

            try:
                parse_smtp_url(str(values["smtp_url"]))
            except ValueError as exc:
                why = str(exc).removeprefix("AARSHJUL_SMTP_URL").lstrip(": ")
                problems.append(f"AARSHJUL_SMTP_URL: {why}")
        if "smtp_rate" in values:
            try:
                rate = float(str(values["smtp_rate"]))
            except ValueError:
                rate = -1.0
            if not rate > 0:
                problems.append(
                    f"AARSHJUL_SMTP_RATE: {values['smtp_rate']!r} is not a positive number of "
                    "messages per minute"
                )
            values["smtp_rate"] = rate
        if "imap_poll" in values:
            try:
                poll = float(str(values["imap_poll"]))
            except ValueError:
                poll = -1.0
            if not 1 <= poll <= 1440:
                problems.append(
                    f"AARSHJUL_IMAP_POLL: {values['imap_poll']!r} is not a number of minutes "
                    "from 1 to 1440")
            values["imap_poll"] = poll
        _numbers(values, problems)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if problems:
            raise SettingsError(problems)
        return cls.model_validate(values)

    def child_env(self) -> dict[str, str]:
        """These settings as environment variables, for a child process of ours (a Prefect
        flow run started by serve's runner reads them back with :meth:`from_env`)."""
        out: dict[str, str] = {}
        for var, (name, _what) in VARIABLES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, Path):
                value = value.resolve() if name in ("config", "data_dir") else value
            out[var] = str(value)
        return out


def _numbers(values: dict[str, object], problems: list[str]) -> None:
    """The positive numbers of :data:`NUMBERS` in ``values``, converted; one problem each that
    is not a positive, finite number."""
    var_of = {name: var for var, (name, _what) in VARIABLES.items()}
    for name, (_default, unit) in NUMBERS.items():
        if name not in values:
            continue
        try:
            number = float(str(values[name]))
        except ValueError:
            number = -1.0
        if not 0 < number < float("inf"):
            problems.append(f"{var_of[name]}: {values[name]!r} is not a positive number of "
                            f"{unit}")
            continue
        values[name] = number


def redact_url(url: str) -> str:
    """``scheme://user:***@host...``: a URL with its password taken out (for messages)."""

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return parts._replace(netloc=f"{user}:***@{netloc}").geturl()
    except ValueError:
        return "(an unreadable URL)"
