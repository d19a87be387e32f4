"""What a flow run uses besides its parameters: the setup, the instant, the files.

A flow run started in this process gets them from the :class:`Binding` that
:class:`flows.compose.Runner` sets for the duration of the call (a context variable, not a
process-wide setting): the setup, the instant (the CLI's ``--as-of``, simulate's virtual
clock) and, for a dry run, the preview folder. A flow run in a process of its own (a
worker, a run created from the UI) has no binding: :func:`binding` makes one from the
settings read at its start (the wheel, the database and the directories bound at deploy or
serve time), as of now.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.services.setup import Refused, Setup, open_database
from flows.settings import Settings
from letters.delivery import Faults, transport_for
from letters.imap_url import parse_imap_url
from models.config import load
from models.wheel import Wheel


@dataclass(frozen=True)
class Binding:
    """What an in-process flow run uses besides its parameters."""

    setup: Setup
    as_of: datetime | None = None  # None: now
    preview_dir: Path | None = None  # where a dry run writes (None: <data>/preview)
    upload: Path | None = None  # the file a receipt run registers
    simulation: bool = False  # a simulated year: runs and artifacts are marked as such
    source: Any = None  # letters.mailsource.MessageSource an intake run reads (None: open
    #                     the mailbox at AARSHJUL_IMAP_URL)

    def instant(self) -> datetime:
        if self.as_of is not None:
            return self.as_of
        clock = self.setup.clock
        return clock() if clock is not None else datetime.now(UTC).astimezone(self.setup.tz)


_BINDING: ContextVar[Binding | None] = ContextVar("aarshjul_binding", default=None)


@contextmanager
def bound(b: Binding) -> Iterator[Binding]:
    """Flow runs started in this context (this thread) use ``b``."""
    token = _BINDING.set(b)
    try:
        yield b
    finally:
        _BINDING.reset(token)


def current_binding() -> Binding | None:
    return _BINDING.get()


def binding() -> Binding:
    """The binding of an in-process flow run, else one made from the settings (a flow run in
    a worker or a runner's child process: the wheel, the database and the directories bound
    at deploy or serve time, the instant now)."""
    b = _BINDING.get()
    return b if b is not None else Binding(setup_for(Settings.from_env(), actor="flow"))


def load_wheel(config: Path) -> Wheel:
    """The wheel at ``config`` (raises :class:`models.problems.ConfigError`)."""

    return load(config).wheel


def setup_for(settings: Settings, *, actor: str, wheel: Wheel | None = None,
              data_dir: Path | None = None) -> Setup:
    """The setup the settings describe: the wheel, the migrated database, the transport
    (SMTP at ``AARSHJUL_SMTP_URL``, else .eml files under the data directory)."""

    data = data_dir or settings.data_dir
    db = open_database(settings.database_url)
    pace = None
    if settings.smtp_url and settings.smtp_rate:
        from letters.delivery.pace import Pacer  # SQLAlchemy

        pace = Pacer(db, settings.smtp_rate)
    return Setup(wheel or load_wheel(settings.config), db, data,
                 transport_for(settings.smtp_url, data / "outgoing"), actor=actor,
                 templates_dir=settings.templates_dir,
                 faults=Faults(settings.fault) if settings.fault else None, pace=pace)


@contextmanager
def mailbox(imap_url: str | None) -> Iterator[Any]:
    """The replies mailbox at ``imap_url`` (``AARSHJUL_IMAP_URL``), logged in for one pass:
    a ``letters.mailsource.MessageSource``. Unset or malformed: refused (in Danish, the
    password never shown); a server that cannot be reached raises
    ``letters.mailbox.MailboxError``."""
    from letters.mailbox import open_mailbox  # IMAPClient

    if not imap_url:
        raise Refused("afvist: AARSHJUL_IMAP_URL er ikke sat: angiv postkassen, svarene "
                      "læses fra, f.eks. imaps://bruger:adgangskode@mail.kk.dk/INBOX")
    try:
        url = parse_imap_url(imap_url)
    except ValueError as exc:
        raise Refused(f"afvist: {exc}") from None
    with open_mailbox(url) as box:
        yield box
