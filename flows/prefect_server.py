"""A Prefect server for live operation: the configured one, or a supervised local child.

``ensure_server()`` is what ``serve`` and ``simulate`` enter before they run flows:

- with ``PREFECT_API_URL`` set (in the environment or Prefect's profile), it uses that server
  (waiting until its health check answers) and starts nothing;
- otherwise it starts ``prefect server start --host 127.0.0.1 --port 4200`` as a child
  process, waits until ``/api/health`` answers, points this process (and every child it
  starts) at it, and stops the child cleanly (SIGTERM, then SIGKILL after a grace period)
  when the block ends. The child dies with its parent even on SIGKILL (Linux
  ``PR_SET_PDEATHSIG``), so a killed ``serve`` leaves no orphan holding the port.

Prefect's ephemeral mode (a throwaway in-process server) is never used: it costs ~16 s per
process and lost run history under load (DEVELOPERS.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import inspect
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
    """``PREFECT_API_URL`` from the environment or the active Prefect profile, if any."""
    url = os.environ.get("PREFECT_API_URL")
    if url:
        return url.rstrip("/")
    from prefect.settings import get_current_settings

    value = get_current_settings().api.url
    return str(value).rstrip("/") if value else None


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    """True when ``GET {api_url}/health`` answers 200."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as resp:  # noqa: S310
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_healthy(
    api_url: str,
    timeout: float = START_TIMEOUT_S,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy(api_url):
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
) -> LocalServer:
    """Start ``prefect server start --host HOST --port PORT`` and wait until it is healthy.

    ``port=None`` or 0 picks a free port. Its output goes to ``log`` (default
    ``$PREFECT_HOME/aarshjul-prefect-server.log``); its database is the one under
    ``PREFECT_HOME`` (or ``PREFECT_API_DATABASE_CONNECTION_URL``).
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
    # The UI asks its browser to call PREFECT_UI_API_URL, which defaults to port 4200
    # whatever --port says: name the real one.
    child_env["PREFECT_UI_API_URL"] = api_url
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
        wait_healthy(api_url, timeout, proc)
    except BaseException as exc:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise ServerError(f"{exc}\n--- {log} (end) ---\n{tail}") from exc
    return LocalServer(api_url, proc, log, time.monotonic() - t0)


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
def use_api(api_url: str) -> Iterator[str]:
    """Point this process, its threads and its children at ``api_url`` during the block.

    Sets the environment (children), Prefect's settings context (this thread) and, as
    Prefect's own test harness does, its process-global settings context (threads started
    later, such as the scheduler's workers, which do not inherit context variables).
    """
    import prefect.context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    old = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = api_url
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(temporary_settings({PREFECT_API_URL: api_url}))
            global_ctx = getattr(prefect.context, "_temporary_global_settings_context", None)
            if global_ctx is not None:
                stack.enter_context(global_ctx(prefect.context.get_settings_context()))
            try:
                yield api_url
            finally:
                drain_client_workers()
    finally:
        if old is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = old


@contextlib.contextmanager
def ensure_server(
    *,
    port: int | None = DEFAULT_PORT,
    log: Path | None = None,
    announce: bool = True,
    timeout: float = START_TIMEOUT_S,
) -> Iterator[str]:
    """The API URL of a running Prefect server: the configured one, or a supervised child.

    Without ``PREFECT_API_URL``, a local ``prefect server start --host 127.0.0.1`` is started
    on ``port`` (4200 by default, so the UI is at http://127.0.0.1:4200; ``None`` picks a free
    port) and stopped when the block ends, also on an exception or KeyboardInterrupt.
    """
    configured = configured_api_url()
    if configured:
        wait_healthy(configured, timeout)
        with use_api(configured) as url:
            yield url
        return
    server = start_local_server(port=port, log=log, timeout=timeout)
    if announce:
        print(
            f"Prefect server started in {server.started_in_s:.1f} s: UI at {server.ui_url} "
            f"(log: {server.log})",
            file=sys.stderr,
        )
    try:
        with use_api(server.api_url) as url:
            yield url
    finally:
        code = server.stop()
        if announce:
            how = "cleanly" if code in (0, -signal.SIGTERM) else f"with exit status {code}"
            print(f"Prefect server stopped {how}.", file=sys.stderr)
