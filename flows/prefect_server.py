"""A Prefect server for live operation: the configured one, or a supervised local child.

``ensure_server()`` is what ``serve`` and ``simulate`` enter before they run flows:

- with ``PREFECT_API_URL`` set (in the environment or Prefect's profile), it uses that server
  (waiting until its health check answers, then checking that it takes our credential) and
  starts nothing;
- otherwise it starts ``prefect server start --host 127.0.0.1 --port 4200`` as a child
  process with basic auth and CSRF protection on (the configured credential, or one made
  for it under ``PREFECT_HOME``), waits until ``/api/health`` answers, points this process
  (and every child it starts) at it with the credential, and stops the child cleanly
  (SIGTERM, then SIGKILL after a grace period) when the block ends. The child dies with its
  parent even on SIGKILL (Linux ``PR_SET_PDEATHSIG``), so a killed ``serve`` leaves no
  orphan holding the port.

The credential (:mod:`flows.prefect_auth`) travels in environments only, never on a
command line, in a log line or in an error message. Our health checks (:func:`healthy`)
send it; Prefect 3.9 also answers ``GET /api/health`` without it, for probes.

Prefect's ephemeral mode (a throwaway in-process server) is never used: it costs ~16 s per
process and lost run history under load (DEVELOPERS.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import inspect
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.prefect_auth import (
    API_KEY_VAR,
    CLIENT_VAR,
    Credential,
    CredentialError,
    generated_credential,
)

logger = logging.getLogger("aarshjul.prefect")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4200
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
LOG_NAME = "aarshjul-prefect-server.log"


class ServerError(RuntimeError):
    """The Prefect server could not be reached or started."""


@dataclass
class LocalServer:
    """A ``prefect server start`` child process."""

    api_url: str
    process: subprocess.Popen[bytes]
    log: Path
    started_in_s: float
    credential: Credential | None = None

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL after ``timeout``; the exit code.

        After a graceful shutdown uvicorn re-raises the signal, so a clean stop is -15.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def configured_api_url() -> str | None:
    """``PREFECT_API_URL`` from the environment or the active Prefect profile, if any.

    Importing Prefect to read its settings costs ~40 MB and a second or so. Where only the
    environment and a profiles file could configure it (:func:`_profiles_only`), the answer is
    read without Prefect: none when nothing configures a URL, the active profile's
    ``PREFECT_API_URL`` when the profiles file names one. Anything else (another source, a
    built-in profile that the file does not settle, a file that cannot be read): ask Prefect.
    A test checks each case against Prefect's own answer."""
    url = os.environ.get("PREFECT_API_URL")
    if url:
        return url.rstrip("/")
    if _profiles_only():
        known, value = _profile_api_url()
        if known:
            return value
    from prefect.settings import get_current_settings

    value = get_current_settings().api.url
    return str(value).rstrip("/") if value else None


# Prefect's own profiles (merged under the user's file): "local" names a URL.
_BUILT_IN_PROFILES = frozenset({"ephemeral", "local", "test", "cloud"})


def _profiles_only() -> bool:
    """Whether nothing but the profiles could configure Prefect's API here: Prefect not
    imported (a test's ``temporary_settings`` live in it), no ``PREFECT_API*`` variable, and
    no ``.env``, ``prefect.toml`` or ``[tool.prefect]`` in ``pyproject.toml`` in the working
    directory (the other sources Prefect 3 reads)."""
    if "prefect" in sys.modules or any(k.startswith("PREFECT_API") for k in os.environ):
        return False
    if Path(".env").exists() or Path("prefect.toml").exists():
        return False
    try:
        pyproject = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        return False
    tool = pyproject.get("tool")
    return not (isinstance(tool, dict) and "prefect" in tool)


def _profile_api_url() -> tuple[bool, str | None]:
    """``(True, url)`` where the profiles settle the API URL without Prefect (``url`` None: no
    URL), ``(False, None)`` where only Prefect can tell. The file is ``PREFECT_PROFILES_PATH``
    or ``profiles.toml`` under ``PREFECT_HOME`` (``~/.prefect``); the active profile is
    ``PREFECT_PROFILE``, else the file's ``active``, else ``ephemeral``."""
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {}
    except (OSError, ValueError):
        return False, None
    active = os.environ.get("PREFECT_PROFILE") or data.get("active") or "ephemeral"
    profiles = data.get("profiles", {})
    profile = profiles.get(active, {}) if isinstance(profiles, dict) else None
    if not isinstance(profile, dict):
        return False, None
    if profile.get("PREFECT_API_URL"):
        return True, str(profile["PREFECT_API_URL"]).rstrip("/")
    if active in _BUILT_IN_PROFILES - {"ephemeral", "test"}:
        return False, None  # Prefect's own "local" or "cloud": what it holds is Prefect's
    return True, None


def _authorization(credential: Credential | None) -> dict[str, str]:
    """The ``Authorization`` header for ``credential``, or for the credential this process's
    Prefect clients send (``PREFECT_API_AUTH_STRING``, set by :func:`use_api`)."""
    if credential is not None:
        return {"Authorization": credential.header}
    secret = os.environ.get(CLIENT_VAR)
    if secret:
        return {"Authorization": Credential(secret, Path("-")).header}
    return {}


def _get(url: str, headers: dict[str, str], timeout: float) -> int:
    """The HTTP status of ``GET url`` (0: no answer, or not an http(s) URL)."""
    if not url.startswith(("http://", "https://")):
        return 0
    req = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, ValueError):
        return 0


def healthy(api_url: str, timeout: float = 2.0, credential: Credential | None = None) -> bool:
    """True when ``GET {api_url}/health`` answers 200.

    It sends the credential (``credential``, else the one of this process's Prefect
    clients), so it also works through a proxy or a server that guards the health route.
    """
    return _get(f"{api_url}/health", _authorization(credential), timeout) == 200


class Access(enum.Enum):
    """What a Prefect server answers to an API call (``GET /api/admin/version``)."""

    GRANTED = "granted"  # 200 with the credential
    OPEN = "open"  # 200 without any credential: the server has no auth
    REFUSED = "refused"  # 401: a credential is needed, or ours is wrong
    DOWN = "down"  # no answer, or another status


def access(api_url: str, credential: Credential | None = None, timeout: float = 10.0) -> Access:
    """How the server at ``api_url`` treats us: with ``credential`` (else this process's
    Prefect credential, if any), and, when we have one, whether it asks for one at all."""
    headers = _authorization(credential)
    code = _get(f"{api_url}/admin/version", headers, timeout)
    if code == 401:
        return Access.REFUSED
    if code != 200:
        return Access.DOWN
    if not headers:
        return Access.OPEN
    bare = _get(f"{api_url}/admin/version", {}, timeout)
    return Access.OPEN if bare == 200 else Access.GRANTED


def check_access(
    api_url: str, credential: Credential | None = None, timeout: float = 10.0
) -> Access:
    """:func:`access`, with a refusal for a server that does not answer (:class:`ServerError`)
    or does not take the credential (:class:`CredentialError`), and a warning for a server
    that takes calls without any credential although we have one."""
    got = access(api_url, credential, timeout)
    if got is Access.DOWN:
        raise ServerError(f"the Prefect server at {api_url} does not answer its API")
    if got is Access.REFUSED:
        if credential is None and not os.environ.get(CLIENT_VAR):
            raise CredentialError(
                f"the Prefect server at {api_url} asks for a credential: set "
                "AARSHJUL_PREFECT_AUTH_FILE to the file that holds it"
            )
        where = credential.source if credential is not None else CLIENT_VAR
        raise CredentialError(
            f"the Prefect server at {api_url} refused the credential from {where} (401)"
        )
    if got is Access.OPEN and credential is not None:
        logger.warning(
            "the Prefect server at %s answers without a credential: anyone who reaches it "
            "can start the flows (set PREFECT_SERVER_API_AUTH_STRING on the server)", api_url
        )
    return got


def connect(api_url: str, credential: Credential | None) -> None:
    """Check the configured server (health, then access) and use ``credential`` for every
    Prefect client of this process and its children from now on (a CLI verb's edge)."""
    if not healthy(api_url, credential=credential):
        raise ServerError(f"the Prefect server at {api_url} does not answer")
    check_access(api_url, credential)
    if credential is None:
        return
    os.environ.pop(API_KEY_VAR, None)
    os.environ.update(credential.client_env())
    if "prefect.context" in sys.modules:  # settings already read: read them again
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()


def wait_healthy(
    api_url: str,
    timeout: float = START_TIMEOUT_S,
    process: subprocess.Popen[bytes] | None = None,
    credential: Credential | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy(api_url, credential=credential):
            return
        if process is not None and process.poll() is not None:
            raise ServerError(f"the Prefect server exited with status {process.returncode}")
        time.sleep(0.2)
    raise ServerError(f"no Prefect server answered at {api_url} within {timeout:.0f} s")


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    if sys.platform.startswith("linux"):

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def prefect_home() -> Path:
    home = os.environ.get("PREFECT_HOME")
    return Path(home).expanduser() if home else Path.home() / ".prefect"


def start_local_server(
    host: str = DEFAULT_HOST,
    port: int | None = DEFAULT_PORT,
    *,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = START_TIMEOUT_S,
    credential: Credential | None = None,
) -> LocalServer:
    """Start ``prefect server start --host HOST --port PORT`` and wait until it is healthy.

    ``port=None`` or 0 picks a free port. Its output goes to ``log`` (default
    ``$PREFECT_HOME/aarshjul-prefect-server.log``); its database is the one under
    ``PREFECT_HOME`` (or ``PREFECT_API_DATABASE_CONNECTION_URL``). With ``credential`` the
    server asks every API call for it (basic auth) and has CSRF protection on; the secret
    is in the child's environment, not on its command line.
    """
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ServerError(f"refusing to start a Prefect server on {host}: loopback only")
    port = port or free_port(host)
    if port_in_use(host, port):
        raise ServerError(
            f"port {port} on {host} is already taken; set PREFECT_API_URL to the server "
            "that runs there, or stop it"
        )
    api_url = f"http://{host}:{port}/api"
    child_env = dict(os.environ if env is None else env)
    child_env.pop("PREFECT_API_URL", None)
    child_env.pop(API_KEY_VAR, None)
    if credential is not None:
        child_env.update(credential.server_env())
    # The UI asks its browser to call PREFECT_UI_API_URL, which defaults to port 4200
    # whatever --port says: name the real one (unless one is set, e.g. a reverse proxy's).
    child_env.setdefault("PREFECT_UI_API_URL", api_url)
    child_env["PREFECT_SERVER_API_HOST"] = host
    child_env["PREFECT_SERVER_API_PORT"] = str(port)
    child_env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    home = Path(child_env.get("PREFECT_HOME") or prefect_home())
    home.mkdir(parents=True, exist_ok=True)
    log = log or home / LOG_NAME
    log.parent.mkdir(parents=True, exist_ok=True)
    prefect = Path(sys.executable).with_name("prefect")
    cmd = [str(prefect) if prefect.exists() else "prefect", "server", "start",
           "--host", host, "--port", str(port)]
    t0 = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env,
            start_new_session=True,  # a terminal's Ctrl-C reaches us; we stop it in order
            preexec_fn=_die_with_parent,
        )
    try:
        wait_healthy(api_url, timeout, proc, credential)
    except BaseException as exc:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise ServerError(f"{exc}\n--- {log} (end) ---\n{tail}") from exc
    return LocalServer(api_url, proc, log, time.monotonic() - t0, credential)


def drain_client_workers() -> None:
    """Flush Prefect's background log and event senders (before a server goes away)."""

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        try:
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        except RuntimeError:
            pass  # never started
        drained = EventsWorker.drain_all()
        if inspect.isawaitable(drained):
            await drained

    with contextlib.suppress(Exception):
        run_coro_as_sync(drain())


@contextlib.contextmanager
def use_api(api_url: str, credential: Credential | None = None) -> Iterator[str]:
    """Point this process, its threads and its children at ``api_url`` during the block,
    with ``credential`` (``PREFECT_API_AUTH_STRING``) when given.

    Sets the environment (children), Prefect's settings context (this thread) and, as
    Prefect's own test harness does, its process-global settings context (threads started
    later, such as the scheduler's workers, which do not inherit context variables).
    """
    import prefect.context
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    names = ("PREFECT_API_URL", CLIENT_VAR, API_KEY_VAR)
    old = {name: os.environ.get(name) for name in names}
    updates: dict[Any, Any] = {PREFECT_API_URL: api_url}
    os.environ["PREFECT_API_URL"] = api_url
    if credential is not None:
        os.environ.pop(API_KEY_VAR, None)
        os.environ.update(credential.client_env())
        updates[PREFECT_API_AUTH_STRING] = credential.secret
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(temporary_settings(updates))
            global_ctx = getattr(prefect.context, "_temporary_global_settings_context", None)
            if global_ctx is not None:
                stack.enter_context(global_ctx(prefect.context.get_settings_context()))
            try:
                yield api_url
            finally:
                drain_client_workers()
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def ensure_server(
    *,
    port: int | None = DEFAULT_PORT,
    log: Path | None = None,
    announce: bool = True,
    timeout: float = START_TIMEOUT_S,
    credential: Credential | None = None,
) -> Iterator[str]:
    """The API URL of a running Prefect server: the configured one, or a supervised child.

    With ``PREFECT_API_URL`` set, that server must answer and take ``credential`` (or the
    process's own ``PREFECT_API_AUTH_STRING``); a refusal is a :class:`ServerError`.
    Without it, a local ``prefect server start --host 127.0.0.1`` is started on ``port``
    (4200 by default, so the UI is at http://127.0.0.1:4200; ``None`` picks a free port)
    with basic auth on: ``credential``, or else the one kept in
    ``$PREFECT_HOME/aarshjul-prefect-auth`` (made on the first start, mode 600). It is
    stopped when the block ends, also on an exception or KeyboardInterrupt.
    """
    configured = configured_api_url()
    if configured:
        wait_healthy(configured, timeout, credential=credential)
        check_access(configured, credential)
        with use_api(configured, credential) as url:
            yield url
        return
    home = Path(os.environ.get("PREFECT_HOME") or prefect_home())
    credential = credential or generated_credential(home)
    server = start_local_server(port=port, log=log, timeout=timeout, credential=credential)
    if announce:
        made = " (made for it)" if credential.generated else ""
        print(
            f"Prefect server started in {server.started_in_s:.1f} s: UI at {server.ui_url} "
            f"(log: {server.log}); the API asks for the credential in "
            f"{credential.source}{made}",
            file=sys.stderr,
        )
    try:
        with use_api(server.api_url, credential) as url:
            yield url
    finally:
        code = server.stop()
        if announce:
            how = "cleanly" if code in (0, -signal.SIGTERM) else f"with exit status {code}"
            print(f"Prefect server stopped {how}.", file=sys.stderr)
