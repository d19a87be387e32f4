"""The Prefect API credential: where it comes from, how it is checked, how it is handed on.

Prefect OSS knows one shared credential, ``user:password``, checked by HTTP basic auth:
the server reads it from ``PREFECT_SERVER_API_AUTH_STRING``, every client (our processes,
``prefect worker``, the flow runs a worker starts) from ``PREFECT_API_AUTH_STRING``.

It is read from a file, never from a unit file or the repository:

- ``AARSHJUL_PREFECT_AUTH_FILE`` (through :class:`flows.settings.Settings`), or else
- the systemd credential ``prefect-auth``
  (``LoadCredential=prefect-auth:/etc/aarshjul/prefect-auth`` in the units; systemd puts
  it in ``$CREDENTIALS_DIRECTORY``).

A missing, empty, malformed or world-readable file is refused with a message that names the
file and never its content. The secret goes to child processes in their environment only
(``/proc/PID/environ`` is readable by the same user and root), never on a command line,
and :class:`Credential` shows no secret in its ``repr``.

``python -m flows.prefect_auth [--server] COMMAND ...`` runs a Prefect command (the server,
a worker) with the credential in its environment; the units of ``deploy/`` use it.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flows.settings import Settings, SettingsError

CREDENTIAL_NAME = "prefect-auth"  # LoadCredential=prefect-auth:... in deploy/*.service
GENERATED_NAME = "aarshjul-prefect-auth"  # under PREFECT_HOME, for serve's own server
CLIENT_VAR = "PREFECT_API_AUTH_STRING"
SERVER_VAR = "PREFECT_SERVER_API_AUTH_STRING"
CSRF_VAR = "PREFECT_SERVER_CSRF_PROTECTION_ENABLED"
API_KEY_VAR = "PREFECT_API_KEY"
MIN_PASSWORD = 16
MAX_BYTES = 4096
HOW_TO_MAKE = (
    "make one with: umask 077; printf 'aarshjul:%s\\n' \"$(openssl rand -hex 24)\" > FILE"
)


class CredentialError(RuntimeError):
    """The credential file is missing, unsafe or malformed (the message names no secret)."""


@dataclass(frozen=True)
class Credential:
    """The shared ``user:password`` of the Prefect API, and where it was read."""

    secret: str = field(repr=False)
    source: Path
    generated: bool = False

    def __repr__(self) -> str:
        return f"Credential(user={self.user!r}, source={str(self.source)!r})"

    __str__ = __repr__

    @property
    def user(self) -> str:
        return self.secret.split(":", 1)[0]

    @property
    def header(self) -> str:
        """The value of the ``Authorization`` header Prefect's server checks."""
        return "Basic " + base64.b64encode(self.secret.encode("utf-8")).decode("ascii")

    def client_env(self) -> dict[str, str]:
        """The environment of a Prefect client (our processes, a worker, its flow runs)."""
        return {CLIENT_VAR: self.secret}

    def server_env(self) -> dict[str, str]:
        """The environment of ``prefect server start``: basic auth and CSRF protection on."""
        return {SERVER_VAR: self.secret, CSRF_VAR: "true", **self.client_env()}


def _problem(label: str, path: Path, what: str) -> CredentialError:
    return CredentialError(f"{label}: {path} {what}")


def read_credential(path: Path, label: str = "AARSHJUL_PREFECT_AUTH_FILE") -> Credential:
    """The credential in ``path``, after checking the file; :class:`CredentialError` if not.

    The file holds one line ``user:password`` (printable ASCII, no spaces; a final newline
    is ignored), a password of at least 16 characters, and is not readable or writable by
    other users (``chmod 600``; ``640`` for a group of the service is accepted).
    """
    path = Path(path).expanduser()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise _problem(label, path, f"does not exist ({HOW_TO_MAKE})") from None
    except OSError as exc:
        raise _problem(label, path, f"cannot be read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _problem(label, path, "is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & (stat.S_IRWXO | stat.S_IWGRP):
            raise _problem(
                label, path,
                f"is open to other users (mode {mode:04o}): refused; chmod 600 {path}",
            )
        if info.st_size > MAX_BYTES:
            raise _problem(label, path, f"is larger than {MAX_BYTES} bytes: not a credential")
        raw = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    return Credential(_parse(raw, label, path), path)


def _parse(raw: bytes, label: str, path: Path) -> str:
    text = raw.decode("ascii", errors="replace")
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise _problem(label, path, f"is empty ({HOW_TO_MAKE})")
    if not all(33 <= ord(c) <= 126 for c in text):
        raise _problem(
            label, path,
            "must hold one line user:password of printable ASCII without spaces",
        )
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise _problem(label, path, "must hold user:password (a user, a colon, a password)")
    if len(password) < MIN_PASSWORD:
        raise _problem(
            label, path,
            f"holds a password of {len(password)} characters; at least {MIN_PASSWORD} are "
            f"needed ({HOW_TO_MAKE})",
        )
    return text


def from_settings(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> Credential | None:
    """The configured credential: ``AARSHJUL_PREFECT_AUTH_FILE``, else the systemd
    credential ``prefect-auth``, else None (no credential configured).

    Refused (:class:`CredentialError`) when the file is unsafe, and when ``PREFECT_API_KEY``
    is set as well: Prefect sends that key instead of the credential on some connections.
    """
    environ = os.environ if environ is None else environ
    credential: Credential | None = None
    if settings.prefect_auth_file is not None:
        credential = read_credential(settings.prefect_auth_file)
    else:
        directory = environ.get("CREDENTIALS_DIRECTORY")
        if directory and (Path(directory) / CREDENTIAL_NAME).exists():
            credential = read_credential(
                Path(directory) / CREDENTIAL_NAME, f"the systemd credential {CREDENTIAL_NAME}"
            )
    if credential is not None and environ.get(API_KEY_VAR):
        raise CredentialError(
            f"{API_KEY_VAR} is set: Prefect would send it instead of the credential from "
            f"{credential.source}; unset it (an API key is for Prefect Cloud)"
        )
    return credential


def generated_credential(home: Path) -> Credential:
    """The credential of a local server that serve or simulate starts when none is
    configured: ``$PREFECT_HOME/aarshjul-prefect-auth`` (mode 600), made once, then reused."""
    path = Path(home) / GENERATED_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        try:
            os.write(fd, f"aarshjul:{secrets.token_urlsafe(32)}\n".encode("ascii"))
        finally:
            os.close(fd)
    found = read_credential(path, "the generated Prefect credential")
    return Credential(found.secret, path, generated=True)


def child_env(
    credential: Credential, base: Mapping[str, str], *, server: bool = False
) -> dict[str, str]:
    """``base`` with the credential added (and ``PREFECT_API_KEY`` taken out)."""
    env = {k: v for k, v in base.items() if k != API_KEY_VAR}
    env.update(credential.server_env() if server else credential.client_env())
    return env


USAGE = """usage: python -m flows.prefect_auth [--server] [--] COMMAND [ARG ...]

Runs COMMAND (a `prefect worker start ...`, or with --server `prefect server start ...`)
with the Prefect credential in its environment: PREFECT_API_AUTH_STRING, and with --server
also PREFECT_SERVER_API_AUTH_STRING and PREFECT_SERVER_CSRF_PROTECTION_ENABLED=true.
The credential is read from AARSHJUL_PREFECT_AUTH_FILE or, in a systemd unit, from the
credential prefect-auth (LoadCredential=prefect-auth:/etc/aarshjul/prefect-auth).
PREFECT_API_KEY is taken out of the environment. Without a credential nothing is started."""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    server = False
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag == "--server":
            server = True
        elif flag == "--":
            break
        elif flag in ("-h", "--help"):
            print(USAGE)
            return 0
        else:
            print(f"unknown option {flag}\n\n{USAGE}", file=sys.stderr)
            return 2
    if not args:
        print(USAGE, file=sys.stderr)
        return 2
    base = {k: v for k, v in os.environ.items() if k != API_KEY_VAR}
    # only the credential's variable: a Prefect server does not need the rest to be valid
    ours = {k: v for k, v in base.items() if k == "AARSHJUL_PREFECT_AUTH_FILE"}
    try:
        credential = from_settings(Settings.from_env(ours), base)
    except (SettingsError, CredentialError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    if credential is None:
        print(
            "refused: no Prefect credential: set AARSHJUL_PREFECT_AUTH_FILE, or give the unit "
            f"LoadCredential={CREDENTIAL_NAME}:/etc/aarshjul/{CREDENTIAL_NAME}",
            file=sys.stderr,
        )
        return 1
    env = child_env(credential, base, server=server)
    try:
        os.execvpe(args[0], args, env)  # noqa: S606 - the operator's own command line
    except OSError as exc:
        print(f"refused: cannot run {args[0]}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0  # pragma: no cover - execvpe does not return


if __name__ == "__main__":
    raise SystemExit(main())
