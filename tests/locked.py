"""A locked Prefect server for tests, its API called with basic auth and CSRF tokens, and
the reverse proxy of ``deploy/nginx-aarshjul.conf`` run for real (Debian's nginx, a trustme
certificate, users hashed with ``openssl passwd -6``)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import ROOT

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def credential_file(directory: Path, user: str = "aarshjul", name: str = "prefect-auth") -> Path:
    """A fresh credential file ``user:<48 hex digits>``, mode 600."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(f"{user}:{secrets.token_hex(24)}\n")
    return path


def secret_of(path: Path) -> str:
    return path.read_text(encoding="ascii").strip()


def basic(secret: str) -> str:
    return "Basic " + base64.b64encode(secret.encode()).decode()


@dataclass
class Api:
    """Calls to a Prefect API as a client would make them: basic auth, CSRF token on writes."""

    url: str
    secret: str | None = None
    context: ssl.SSLContext | None = None
    client: str = field(default_factory=lambda: str(uuid.uuid4()))
    _csrf: str | None = None

    def call(
        self, method: str, path: str, body: Any = None, *, csrf: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """``(status, decoded JSON or text)``; HTTP errors are returned, not raised."""
        sent = {"content-type": "application/json", **(headers or {})}
        if self.secret is not None:
            sent["Authorization"] = basic(self.secret)
        if csrf and method != "GET":
            sent["Prefect-Csrf-Token"] = self.csrf_token()
            sent["Prefect-Csrf-Client"] = self.client
        data = None if body is None else json.dumps(body).encode()
        for wait in (1, 2, 4, 8, 0):
            req = urllib.request.Request(f"{self.url}{path}", data=data, headers=sent,
                                         method=method)
            try:
                with urllib.request.urlopen(req, timeout=30, context=self.context) as resp:
                    return resp.status, _decode(resp.read())
            except urllib.error.HTTPError as exc:
                # 503: the server's database was busy (a loaded machine); Prefect's own
                # client retries it too, so a test's client does the same, a few times
                if exc.code != 503 or not wait:
                    return exc.code, _decode(exc.read())
            time.sleep(wait)
        raise AssertionError("unreachable")

    def csrf_token(self) -> str:
        if self._csrf is None:
            code, got = self.call("GET", f"/csrf-token?client={self.client}", csrf=False)
            assert code == 200, (code, got)
            self._csrf = got["token"]
        return self._csrf

    def get(self, path: str) -> tuple[int, Any]:
        return self.call("GET", path)

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        return self.call("POST", path, body)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def assert_nowhere(secret: str, *texts: str, files: tuple[Path, ...] = ()) -> None:
    """The secret (and its base64 form) appears in none of ``texts`` and ``files``."""
    forms = {secret, base64.b64encode(secret.encode()).decode()}
    password = secret.split(":", 1)[1]
    forms.add(password)
    for i, text in enumerate(texts):
        for form in forms:
            assert form not in text, f"the credential is in output #{i}"
    for path in files:
        candidates = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for p in candidates:
            data = p.read_bytes()
            for form in forms:
                assert form.encode() not in data, f"the credential is in {p}"


def command_lines() -> list[str]:
    """Every process's command line on this machine (what ``ps`` shows)."""
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                raw = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            out.append(raw.replace(b"\0", b" ").decode("utf-8", "replace"))
    return out


# --------------------------------------------------------------------------- the proxy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proxy:
    base: str  # https://127.0.0.1:PORT
    ca_pem: Path
    access_log: Path
    users: dict[str, str]

    @property
    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_pem))


def render_site(
    tmp: Path, upstream_port: int, http_port: int, https_port: int, cert: Path, key: Path
) -> str:
    """deploy/nginx-aarshjul.conf with this test's ports and paths (every replaced text must
    be there, so the example cannot drift away from what is tested)."""
    text = (ROOT / "deploy" / "nginx-aarshjul.conf").read_text(encoding="utf-8")
    subs = {
        "listen [::]:80;\n": "",
        "listen [::]:443 ssl http2;\n": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "/etc/ssl/aarshjul/fullchain.pem": str(cert),
        "/etc/ssl/aarshjul/privkey.pem": str(key),
        "/etc/nginx/aarshjul.htpasswd": str(tmp / "aarshjul.htpasswd"),
        "/etc/nginx/aarshjul-prefect-auth.conf": str(tmp / "aarshjul-prefect-auth.conf"),
        "/var/log/nginx/aarshjul-access.log": str(tmp / "access.log"),
        "/var/log/nginx/aarshjul-error.log": str(tmp / "error.log"),
        "127.0.0.1:4200": f"127.0.0.1:{upstream_port}",
    }
    for old, new in subs.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


# The commands of README "Security" that make the include file and add a user.
INCLUDE_CMD = (
    "printf 'proxy_set_header Authorization \"Basic %s\";\\n' "
    "\"$(tr -d '\\r\\n' < {auth} | base64 -w0)\" > {out}"
)


@contextmanager
def nginx_proxy(
    tmp: Path, upstream_port: int, auth_file: Path, users: dict[str, str],
    https_port: int | None = None,
) -> Iterator[Proxy]:
    """Debian's nginx with the example site in front of ``127.0.0.1:upstream_port``."""
    import trustme

    assert NGINX is not None
    tmp.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_pem = tmp / "fullchain.pem", tmp / "privkey.pem", tmp / "ca.pem"
    issued.private_key_pem.write_to_path(str(key))
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    ca.cert_pem.write_to_path(str(ca_pem))
    lines = []
    for user, password in users.items():
        hashed = subprocess.run(
            ["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True,
            text=True, check=True,
        ).stdout.strip()
        lines.append(f"{user}:{hashed}\n")
    (tmp / "aarshjul.htpasswd").write_text("".join(lines), encoding="ascii")
    include = tmp / "aarshjul-prefect-auth.conf"
    subprocess.run(
        ["bash", "-c", "umask 077; " + INCLUDE_CMD.format(auth=auth_file, out=include)],
        check=True,
    )
    http_port, https_port = _free_port(), https_port or _free_port()
    (tmp / "site.conf").write_text(
        render_site(tmp, upstream_port, http_port, https_port, cert, key), encoding="utf-8"
    )
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(
        f"{kind}_temp_path {tmp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {tmp / 'nginx.pid'};\ndaemon off;\n"
        f"error_log {tmp / 'main-error.log'};\nevents {{ worker_connections 128; }}\n"
        f"http {{\n{temps}access_log off;\ninclude {tmp / 'site.conf'};\n}}\n",
        encoding="utf-8",
    )
    base = [NGINX, "-p", str(tmp), "-e", str(tmp / "main-error.log"), "-c", str(tmp / "nginx.conf")]
    check = subprocess.run([*base, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(base, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", https_port)) == 0:
                    break
            assert proc.poll() is None, (tmp / "main-error.log").read_text(errors="replace")
            time.sleep(0.1)
        yield Proxy(f"https://127.0.0.1:{https_port}", ca_pem, tmp / "access.log", users)
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful shutdown
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
