"""A real IMAP server for tests: Debian's Dovecot (``dovecot-imapd`` 2.3), unprivileged, on
127.0.0.1.

Each server gets its own temporary directory (config, passwd file, base_dir, state, log and
the mail itself), a free port (and a second one for implicit TLS), and is stopped and removed
afterwards. It starts in well under a second. Dovecot's login process refuses to run as root,
so the config sets ``default_login_user = dovenull`` and ``default_internal_user = dovecot``;
the mail belongs to the ``dovecot`` user. One passwd-file user (:data:`USER`), the hierarchy
separator ``.``.

Fixtures: ``dovecot`` (``ssl = no``: plain IMAP, no STARTTLS offered) and ``dovecot_tls``
(certificates from trustme: STARTTLS on the plain port and implicit TLS on ``imaps_port``).
Mail goes in by IMAP APPEND with a chosen INTERNALDATE (:meth:`Dovecot.append`). Tests that
use them are marked ``imap``; under CI (``AARSHJUL_REQUIRE_MARKERS`` includes ``imap``) a
skip fails the run.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from imapclient import IMAPClient

HOST = "127.0.0.1"
USER = "aarshjul@kk.example"
# A password with characters that must be percent-encoded in a URL, so the tests check that
# the URL's user and password are decoded; tests search their output for it.
PASSWORD = "Hemmelig Kode@42/æ%#?&"  # no ":" (the passwd file separates fields with it)
SEP = "."
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
STARTUP_TIMEOUT = 10.0

CONFIG = """\
protocols = imap
listen = {host}
base_dir = {root}/run
state_dir = {root}/state
instance_name = aarshjul-test-{port}
log_path = {root}/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
mail_uid = {mail_user}
mail_gid = {mail_group}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
{ssl}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = home={root}/mail/%n
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = {sep}
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def available() -> str | None:
    """Why Dovecot cannot run here, or None when it can."""
    if not Path(DOVECOT).exists():
        return "dovecot is not installed (Debian: apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "the Dovecot test server needs root (it drops to the dovecot and dovenull users)"
    for user in ("dovecot", "dovenull"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"there is no {user} user (it comes with dovecot-core)"
    return None


@dataclass
class Dovecot:
    root: Path
    port: int
    imaps_port: int
    process: subprocess.Popen[bytes]
    ca_pem: bytes | None = None  # the trustme CA, for the TLS variant
    user: str = USER
    password: str = PASSWORD
    sep: str = SEP
    _clients: list[IMAPClient] = field(default_factory=list)

    @property
    def cafile(self) -> Path:
        """The CA bundle that trusts this server's certificate (TLS variant only)."""
        if self.ca_pem is None:
            raise RuntimeError("this Dovecot has no TLS")
        return self.root / "ca.pem"

    def url(self, mailbox: str | None = None, *, starttls: bool = False,
            implicit_tls: bool = False, cafile: bool | Path = False, **options: str) -> str:
        """An ``AARSHJUL_IMAP_URL`` for this server (user and password percent-encoded)."""
        scheme = "imaps" if implicit_tls else "imap"
        port = self.imaps_port if implicit_tls else self.port
        auth = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}@"
        query = dict(options)
        if starttls:
            query["starttls"] = "true"
        if cafile:
            query["cafile"] = str(self.cafile if cafile is True else cafile)
        path = "/" + quote(mailbox, safe="") if mailbox else ""
        q = "?" + "&".join(f"{k}={quote(v, safe='/')}" for k, v in query.items()) if query else ""
        return f"{scheme}://{auth}{HOST}:{port}{path}{q}"

    def client(self) -> IMAPClient:
        """A logged-in client of the test's own (plain, or STARTTLS on the TLS variant)."""
        c = IMAPClient(HOST, self.port, ssl=False, timeout=10)
        if self.ca_pem is not None:
            import ssl

            ctx = ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))
            c.starttls(ctx)
        try:
            c.plain_login(self.user, self.password)  # SASL PLAIN: UTF-8 (LOGIN is ASCII only)
        except Exception:
            c.shutdown()
            raise
        self._clients.append(c)
        return c

    def append(self, raw: bytes, internaldate: datetime, mailbox: str = "INBOX") -> int:
        """Put one message into ``mailbox`` with this INTERNALDATE; return its UID."""
        if internaldate.tzinfo is None:
            raise ValueError("internaldate must be aware")
        c = self._admin()
        answer = c.append(mailbox, raw, flags=(), msg_time=internaldate)
        # b"[APPENDUID <uidvalidity> <uid>] Append completed."
        text = answer.decode("ascii", "replace") if isinstance(answer, bytes) else str(answer)
        return int(text.split("]", 1)[0].split()[-1])

    def append_many(self, raws: list[bytes], internaldate: datetime,
                    mailbox: str = "INBOX") -> None:
        """Many messages at once (MULTIAPPEND is not needed: one APPEND each, one login)."""
        c = self._admin()
        for raw in raws:
            c.append(mailbox, raw, flags=(), msg_time=internaldate)

    def folders(self) -> list[str]:
        return sorted(name for _flags, _sep, name in self._admin().list_folders())

    def uids(self, mailbox: str = "INBOX") -> list[int]:
        c = self._admin()
        c.select_folder(mailbox, readonly=True)
        return sorted(c.search("ALL"))

    def messages(self, mailbox: str = "INBOX") -> list[bytes]:
        c = self._admin()
        c.select_folder(mailbox, readonly=True)
        uids = sorted(c.search("ALL"))
        if not uids:
            return []
        got = c.fetch(uids, ["BODY.PEEK[]"])
        return [got[u][b"BODY[]"] for u in uids]

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _admin(self) -> IMAPClient:
        if not self._clients:
            self.client()
        return self._clients[0]

    def close_clients(self) -> None:
        for c in self._clients:
            try:
                c.logout()
            except Exception:  # the server may already be gone
                pass
        self._clients.clear()


def _ssl_block(root: Path) -> tuple[str, bytes | None]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert(HOST, "localhost")
    (root / "cert.pem").write_bytes(b"".join(b.bytes() for b in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(root / "key.pem"))
    ca_pem = ca.cert_pem.bytes()
    (root / "ca.pem").write_bytes(ca_pem)
    block = (f"ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem\n"
             "ssl_min_protocol = TLSv1.2")
    return block, ca_pem


@contextmanager
def serve(*, tls: bool = False) -> Iterator[Dovecot]:
    """A Dovecot on 127.0.0.1 for the duration of the block; removed afterwards."""
    why = available()
    if why:
        pytest.skip(why)
    root = Path(tempfile.mkdtemp(prefix="aarshjul-dovecot-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        root.chmod(0o755)  # the imap process runs as dovecot and must reach the mail
        mail = root / "mail"
        mail.mkdir()
        shutil.chown(mail, "dovecot", "dovecot")
        passwd = root / "passwd"
        passwd.write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n", encoding="utf-8")
        passwd.chmod(0o644)
        ssl_block, ca_pem = _ssl_block(root) if tls else ("ssl = no", None)
        port, imaps_port = free_port(), free_port()
        conf = root / "dovecot.conf"
        conf.write_text(CONFIG.format(
            host=HOST, root=root, port=port, imaps_port=imaps_port if tls else 0,
            mail_user="dovecot", mail_group="dovecot", ssl=ssl_block, sep=SEP,
        ), encoding="utf-8")
        proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        _wait_ready(proc, root, port)
        server = Dovecot(root, port, imaps_port, proc, ca_pem)
        try:
            yield server
        finally:
            server.close_clients()
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(proc: subprocess.Popen[bytes], root: Path, port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            log = (root / "dovecot.log").read_text(errors="replace") \
                if (root / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot exited with {proc.returncode}: {out}{log}")
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                if s.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"dovecot did not answer on port {port} within {STARTUP_TIMEOUT:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if proc.stdout:
        proc.stdout.close()


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with serve() as server:
        yield server


@pytest.fixture
def dovecot_tls() -> Iterator[Dovecot]:
    with serve(tls=True) as server:
        yield server
