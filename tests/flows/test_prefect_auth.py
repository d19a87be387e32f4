"""The Prefect API is locked: the credential file, real locked servers (API, health, CSRF),
the CLI, serve and a worker with the credential, the deploy files, and the reverse proxy
of deploy/nginx-aarshjul.conf run for real. The credential must appear in no output, log,
database, artifact or command line."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows.prefect_auth import (
    CREDENTIAL_NAME,
    GENERATED_NAME,
    Credential,
    CredentialError,
    from_settings,
    generated_credential,
    read_credential,
)
from flows.settings import Settings
from tests import ROOT
from tests.flows.serving import logged, reaped, serve_env, start_travelled, terminate, wait_for
from tests.locked import (
    NGINX,
    Api,
    assert_nowhere,
    basic,
    command_lines,
    credential_file,
    nginx_proxy,
    secret_of,
)

BIN = Path(sys.executable).parent
UNITS = ("server", "worker", "serve")


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="ascii")
    path.chmod(mode)
    return path


# --------------------------------------------------------------------------- the file


def test_a_credential_file_is_read_and_its_secret_is_never_shown(tmp_path: Path) -> None:
    path = credential_file(tmp_path)
    cred = read_credential(path)
    assert cred.secret == secret_of(path) and cred.user == "aarshjul"
    assert cred.header == basic(cred.secret)
    assert cred.client_env() == {"PREFECT_API_AUTH_STRING": cred.secret}
    assert cred.server_env()["PREFECT_SERVER_API_AUTH_STRING"] == cred.secret
    assert cred.server_env()["PREFECT_SERVER_CSRF_PROTECTION_ENABLED"] == "true"
    assert_nowhere(cred.secret, repr(cred), str(cred), f"{cred}", repr([cred]))
    # a final CRLF is ignored too; group-readable (root:aarshjul 640) is accepted
    _write(path, cred.secret + "\r\n", 0o640)
    assert read_credential(path).secret == cred.secret


@pytest.mark.parametrize(
    ("content", "mode", "says"),
    [
        (None, 0o600, "does not exist"),
        ("", 0o600, "is empty"),
        ("\n", 0o600, "is empty"),
        ("aarshjul:0123456789abcdef0123\n", 0o644, "open to other users (mode 0644)"),
        ("aarshjul:0123456789abcdef0123\n", 0o604, "open to other users (mode 0604)"),
        ("aarshjul:0123456789abcdef0123\n", 0o620, "open to other users (mode 0620)"),
        ("aarshjul 0123456789abcdef0123\n", 0o600, "printable ASCII without spaces"),
        ("aarshjul:0123456789abcdef0123\nsecond:line-of-it-here\n", 0o600, "one line"),
        ("0123456789abcdef0123456789\n", 0o600, "must hold user:password"),
        (":0123456789abcdef0123456789\n", 0o600, "must hold user:password"),
        ("aarshjul:short-one\n", 0o600, "a password of 9 characters; at least 16"),
    ],
)
def test_a_bad_credential_file_is_refused_with_a_clear_message(
    tmp_path: Path, content: str | None, mode: int, says: str
) -> None:
    path = tmp_path / "prefect-auth"
    if content is not None:
        _write(path, content, mode)
    with pytest.raises(CredentialError) as info:
        read_credential(path)
    message = str(info.value)
    assert message.startswith(f"AARSHJUL_PREFECT_AUTH_FILE: {path} ")
    assert says in message
    for secret in ("0123456789abcdef0123", "short-one"):
        assert secret not in message


def test_a_directory_is_not_a_credential(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir(mode=0o700)
    with pytest.raises(CredentialError, match="is not a regular file"):
        read_credential(tmp_path / "d")


def test_the_file_of_the_settings_wins_over_the_systemd_credential(tmp_path: Path) -> None:
    own = credential_file(tmp_path / "own")
    systemd = credential_file(tmp_path / "creds", name=CREDENTIAL_NAME)
    env = {"CREDENTIALS_DIRECTORY": str(systemd.parent)}
    got = from_settings(Settings(prefect_auth_file=own), env)
    assert got is not None and got.secret == secret_of(own)
    got = from_settings(Settings(), env)
    assert got is not None and got.secret == secret_of(systemd) and got.source == systemd
    assert from_settings(Settings(), {}) is None
    assert from_settings(Settings(), {"CREDENTIALS_DIRECTORY": str(tmp_path / "none")}) is None
    # through the environment, as a process reads it at its edge
    settings = Settings.from_env({"AARSHJUL_PREFECT_AUTH_FILE": str(own)})
    assert settings.prefect_auth_file == own
    assert_nowhere(secret_of(own), repr(settings))


def test_a_systemd_credential_open_to_others_is_refused_by_its_name(tmp_path: Path) -> None:
    systemd = credential_file(tmp_path, name=CREDENTIAL_NAME)
    systemd.chmod(0o644)
    with pytest.raises(CredentialError, match=r"^the systemd credential prefect-auth: "):
        from_settings(Settings(), {"CREDENTIALS_DIRECTORY": str(tmp_path)})


def test_an_api_key_beside_the_credential_is_refused(tmp_path: Path) -> None:
    own = credential_file(tmp_path)
    with pytest.raises(CredentialError, match="PREFECT_API_KEY is set") as info:
        from_settings(Settings(prefect_auth_file=own), {"PREFECT_API_KEY": "pnu_abc"})
    assert_nowhere(secret_of(own), str(info.value))


def test_a_generated_credential_is_made_once_with_mode_600(tmp_path: Path) -> None:
    first = generated_credential(tmp_path / "home")
    path = tmp_path / "home" / GENERATED_NAME
    assert first.source == path and first.generated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert re.fullmatch(r"aarshjul:[A-Za-z0-9_-]{40,}", first.secret)
    assert generated_credential(tmp_path / "home").secret == first.secret


def _wrapper(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.prefect_auth", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )


_SHOW_ENV = (
    "import os, sys; e = os.environ; "
    "print(sorted(k for k in e if k.startswith(('PREFECT_API', 'PREFECT_SERVER_API', "
    "'PREFECT_SERVER_CSRF')))); "
    "print(e.get('PREFECT_API_AUTH_STRING') == open(sys.argv[1]).read().strip())"
)


def test_the_wrapper_runs_a_command_with_the_credential_in_its_environment(
    tmp_path: Path,
) -> None:
    own = credential_file(tmp_path)
    base = {k: v for k, v in os.environ.items() if not k.startswith("AARSHJUL_")}
    base["PREFECT_API_KEY"] = "pnu_would_win"
    env = {**base, "AARSHJUL_PREFECT_AUTH_FILE": str(own)}

    client = _wrapper(env, sys.executable, "-c", _SHOW_ENV, str(own))
    assert client.returncode == 0, client.stderr
    names, same = client.stdout.splitlines()
    assert names == "['PREFECT_API_AUTH_STRING']" and same == "True"

    server = _wrapper(env, "--server", "--", sys.executable, "-c", _SHOW_ENV, str(own))
    assert server.returncode == 0, server.stderr
    assert server.stdout.splitlines()[0] == str(sorted([
        "PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING",
        "PREFECT_SERVER_CSRF_PROTECTION_ENABLED",
    ]))

    none = _wrapper(base, sys.executable, "-c", "print('started')")
    assert none.returncode == 1 and "started" not in none.stdout
    assert "refused: no Prefect credential" in none.stderr

    own.chmod(0o644)
    opened = _wrapper(env, sys.executable, "-c", "print('started')")
    assert opened.returncode == 1 and "open to other users" in opened.stderr
    assert _wrapper(env).returncode == 2
    assert_nowhere(secret_of(own), client.stderr, server.stderr, none.stderr, opened.stderr)


# --------------------------------------------------------------------------- deploy files


def test_units_load_the_credential_and_hold_no_secret() -> None:
    for unit in UNITS:
        text = (ROOT / "deploy" / f"aarshjul-{unit}.service").read_text(encoding="utf-8")
        assert "LoadCredential=prefect-auth:/etc/aarshjul/prefect-auth\n" in text, unit
        assert "UMask=0077\n" in text, unit
        unset = re.search(r"^UnsetEnvironment=(.*)$", text, re.M)
        assert unset and "PREFECT_API_KEY" in unset.group(1).split(), unit
        for secret_key in ("AUTH_STRING=", "PREFECT_API_KEY=", "PASSWORD"):
            assert secret_key not in text, (unit, secret_key)
        assert not re.search(r"^Environment=.*(AUTH|KEY|PASS|SECRET)", text, re.M), unit
    for unit in ("server", "worker"):
        text = (ROOT / "deploy" / f"aarshjul-{unit}.service").read_text(encoding="utf-8")
        exec_start = re.search(r"^ExecStart=(.*)$", text, re.M)
        assert exec_start and " -m flows.prefect_auth " in exec_start.group(1), unit
    server = (ROOT / "deploy" / "aarshjul-server.service").read_text(encoding="utf-8")
    assert re.search(r"^ExecStart=.* -m flows\.prefect_auth --server .*prefect server start",
                     server, re.M)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """The units as installed, with /opt/aarshjul/.venv/bin/ pointing at this checkout's
    virtual environment (verify checks that every ExecStart= program exists)."""
    for unit in UNITS:
        text = (ROOT / "deploy" / f"aarshjul-{unit}.service").read_text(encoding="utf-8")
        assert "/opt/aarshjul/.venv/bin/" in text
        (tmp_path / f"aarshjul-{unit}.service").write_text(
            text.replace("/opt/aarshjul/.venv/bin/", f"{BIN}/"), encoding="utf-8"
        )
    proc = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0 and not (proc.stdout + proc.stderr).strip(), proc.stderr


def test_compose_has_no_default_password_and_reads_secret_files() -> None:
    text = (ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert "POSTGRES_PASSWORD:" not in text and ":-aarshjul}" not in text
    services = doc["services"]
    pg = services["postgres"]
    assert pg["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres-password"
    assert set(doc["secrets"]) == {"postgres-password", "pgpass", "prefect-auth"}
    assert all(s["file"].startswith("./secrets/") for s in doc["secrets"].values())
    for name in ("serve", "worker"):
        env = services[name]["environment"]
        assert "@" in env["AARSHJUL_DATABASE_URL"] and ":" not in env[
            "AARSHJUL_DATABASE_URL"].split("//", 1)[1].split("@", 1)[0]
        assert env["PGPASSFILE"] == "/run/secrets/pgpass"
        assert env["AARSHJUL_PREFECT_AUTH_FILE"] == "/run/secrets/prefect-auth"
        assert "prefect-auth" in services[name]["secrets"]
    assert services["prefect-server"]["command"][:4] == [
        ".venv/bin/python", "-m", "flows.prefect_auth", "--server"]
    assert services["worker"]["command"][:3] == [".venv/bin/python", "-m", "flows.prefect_auth"]
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "deploy/secrets/" in ignored


def test_env_example_and_readme_hold_no_credential_and_no_unsafe_env_line() -> None:
    env = (ROOT / "deploy" / "aarshjul.env.example").read_text(encoding="utf-8")
    live = [line for line in env.splitlines() if line and not line.startswith("#")]
    assert not [line for line in live if "AUTH_STRING" in line or "API_KEY" in line]
    assert "# AARSHJUL_PREFECT_AUTH_FILE=/etc/aarshjul/prefect-auth" in env
    for doc in (ROOT / "README.md", ROOT / "docs" / "readme" / "operations.md"):
        blocks = re.findall(r"^```sh\n(.*?)^```", doc.read_text(encoding="utf-8"), re.S | re.M)
        commands = "\n".join(blocks)
        assert blocks and "xargs" not in commands and "env $(cat" not in commands, doc
        assert "set -a; . /etc/aarshjul/aarshjul.env; set +a" in commands, doc
        assert "-p EnvironmentFile=/etc/aarshjul/aarshjul.env" in commands, doc


# --------------------------------------------------------------------------- a locked server


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One real ``prefect server start`` with basic auth and CSRF protection for the module."""
    from flows.prefect_server import start_local_server

    tmp = tmp_path_factory.mktemp("locked")
    auth = credential_file(tmp / "etc")
    env = {**os.environ, "PREFECT_HOME": str(tmp / "prefect-home"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    srv = start_local_server(port=None, env=env, log=tmp / "server.log", timeout=240,
                             credential=read_credential(auth))
    try:
        yield srv, auth, env, tmp
    finally:
        srv.stop()


@pytest.mark.slow
def test_the_api_wants_the_credential_and_csrf_tokens(locked) -> None:  # type: ignore[no-untyped-def]
    srv, auth, _env, _tmp = locked
    secret = secret_of(auth)
    open_api, api = Api(srv.api_url), Api(srv.api_url, secret)
    wrong = Api(srv.api_url, secret[:-1] + ("0" if secret[-1] != "0" else "1"))

    assert open_api.get("/admin/version")[0] == 401
    assert wrong.get("/admin/version")[0] == 401
    assert api.get("/admin/version") == (200, "3.9.1")
    # CSRF protection: a write needs a token, and the token route needs the credential
    assert open_api.get(f"/csrf-token?client={open_api.client}")[0] == 401
    assert open_api.call("POST", "/flows/filter", {}, csrf=False)[0] == 403
    assert api.call("POST", "/flows/filter", {}, csrf=False)[0] == 403
    assert api.post("/flows/filter", {})[0] == 200
    code, body = api.call("POST", "/flows/filter", {}, csrf=False,
                          headers={"Prefect-Csrf-Token": "x", "Prefect-Csrf-Client": api.client})
    assert code == 403 and "Invalid CSRF token" in str(body)
    # what the UI learns: a login is needed, and CSRF is on
    ui = Api(srv.ui_url).get("/ui-settings")[1]
    assert ui["auth"] == "BASIC" and ui["csrf_enabled"] is True


@pytest.mark.slow
def test_health_stays_open_for_probes_and_our_checks_send_the_credential(locked) -> None:  # type: ignore[no-untyped-def]
    from flows.prefect_server import Access, access, check_access, healthy

    srv, auth, _env, tmp = locked
    cred = read_credential(auth)
    assert Api(srv.api_url).get("/health") == (200, True)  # a monitoring probe, no login
    assert Api(srv.api_url).get("/ready")[0] == 200
    assert Api(srv.api_url).call("POST", "/health", None, csrf=False)[0] in (401, 403, 405)
    assert healthy(srv.api_url, credential=cred) and healthy(srv.api_url)
    assert access(srv.api_url, cred) is Access.GRANTED
    assert access(srv.api_url) is Access.REFUSED

    with pytest.raises(CredentialError) as info:
        check_access(srv.api_url)
    assert "asks for a credential: set AARSHJUL_PREFECT_AUTH_FILE" in str(info.value)
    other = credential_file(tmp / "other")
    with pytest.raises(CredentialError) as info:
        check_access(srv.api_url, read_credential(other))
    assert f"refused the credential from {other} (401)" in str(info.value)
    assert_nowhere(secret_of(other), str(info.value))
    assert_nowhere(cred.secret, str(info.value))


def _aarshjul(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "aarshjul"), *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=400)


@pytest.mark.slow
def test_the_cli_runs_a_flow_with_the_auth_file_and_is_refused_without(locked) -> None:  # type: ignore[no-untyped-def]
    srv, auth, env, tmp = locked
    secret = secret_of(auth)
    work = tmp / "cli"
    work.mkdir()
    run_env = {**env, "PREFECT_API_URL": srv.api_url,
               "AARSHJUL_DATABASE_URL": f"sqlite:///{work / 'app.sqlite'}",
               "AARSHJUL_DATA_DIR": str(work / "data")}
    run_env.pop("AARSHJUL_SMTP_URL", None)
    args = ["run", "opfordring", "--year", "2012", "--as-of", "2012-01-20T09:00", "--dry-run",
            "--config", str(ROOT / "aarshjul.yaml")]

    without = _aarshjul(args, run_env, work)
    assert without.returncode == 1
    assert without.stderr.strip() == (
        f"refused: the Prefect server at {srv.api_url} asks for a credential: set "
        "AARSHJUL_PREFECT_AUTH_FILE to the file that holds it")
    other = credential_file(work / "other")
    wrong = _aarshjul(args, {**run_env, "AARSHJUL_PREFECT_AUTH_FILE": str(other)}, work)
    assert wrong.returncode == 1 and f"refused the credential from {other}" in wrong.stderr
    auth.chmod(0o644)
    try:
        opened = _aarshjul(args, {**run_env, "AARSHJUL_PREFECT_AUTH_FILE": str(auth)}, work)
    finally:
        auth.chmod(0o600)
    assert opened.returncode == 1 and "open to other users (mode 0644)" in opened.stderr

    done = _aarshjul(args, {**run_env, "AARSHJUL_PREFECT_AUTH_FILE": str(auth)}, work)
    assert done.returncode == 0, done.stderr
    assert "Dry run: nothing was sent" in done.stdout
    api = Api(srv.api_url, secret)
    code, runs = api.post("/flow_runs/filter", {"flow_runs": {"name": {"like_": "opfordring"}}})
    assert code == 200 and runs and all(r["state_type"] == "COMPLETED" for r in runs)
    assert_nowhere(secret, done.stdout, done.stderr, without.stderr, wrong.stderr,
                   opened.stderr, files=(work / "data",))


@pytest.mark.slow
def test_deploy_and_a_worker_with_the_credential_run_the_chase(locked) -> None:  # type: ignore[no-untyped-def]
    """`aarshjul deploy` and `prefect worker start` through flows.prefect_auth (as the unit
    runs it) against the locked server; then the credential is looked for everywhere."""
    from tests.flows.test_deploy import _long_wheel

    srv, auth, env, tmp = locked
    secret = secret_of(auth)
    work = tmp / "worker"
    work.mkdir()
    cfg = _long_wheel(work)
    run_env = {**env, "PREFECT_API_URL": srv.api_url, "AARSHJUL_PREFECT_AUTH_FILE": str(auth),
               "AARSHJUL_DATABASE_URL": f"sqlite:///{work / 'app.sqlite'}",
               "AARSHJUL_DATA_DIR": str(work / "data"), "AARSHJUL_CONFIG": str(cfg),
               "PREFECT_LOGGING_LEVEL": "INFO"}
    run_env.pop("AARSHJUL_SMTP_URL", None)
    deployed = _aarshjul(["deploy", "--pool", "p-locked", "--config", str(cfg)], run_env, work)
    assert deployed.returncode == 0, deployed.stderr
    assert "aarshjul-chase/rykkerkoersel" in deployed.stdout

    api = Api(srv.api_url, secret)
    code, dep = api.get("/deployments/name/aarshjul-chase/rykkerkoersel")
    assert code == 200, dep
    code, run = api.post(f"/deployments/{dep['id']}/create_flow_run",
                         {"parameters": {"dry_run": True}})
    assert code == 201, run
    worker = subprocess.run(
        [sys.executable, "-m", "flows.prefect_auth", str(BIN / "prefect"), "worker", "start",
         "--pool", "p-locked", "--run-once", "--type", "process"],
        env={k: v for k, v in run_env.items() if k != "PREFECT_API_AUTH_STRING"},
        cwd=ROOT, capture_output=True, text=True, timeout=400,
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    code, done = api.get(f"/flow_runs/{run['id']}")
    assert code == 200 and done["state_type"] == "COMPLETED", done["state"]

    # nowhere: outputs, the server's log and database, the data directory, artifacts
    code, artifacts = api.post("/artifacts/filter", {})
    assert code == 200 and artifacts
    assert_nowhere(secret, deployed.stdout, deployed.stderr, worker.stdout, worker.stderr,
                   str(artifacts), str(done), *command_lines(),
                   files=(srv.log, Path(env["PREFECT_HOME"]), work / "data"))


# --------------------------------------------------------------------------- serve


@pytest.mark.slow
def test_serve_locks_its_own_server_with_the_systemd_credential(
    tmp_path: Path, wheel_file: Path
) -> None:
    """serve as its unit runs it: no PREFECT_API_URL, the credential in
    $CREDENTIALS_DIRECTORY/prefect-auth. Its server asks for it; the secret is on no command
    line and in no log; SIGTERM stops both (0)."""
    from flows.prefect_server import free_port, healthy

    creds = tmp_path / "credentials"
    auth = credential_file(creds, name=CREDENTIAL_NAME)
    secret = secret_of(auth)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = serve_env(tmp_path, unset=("PREFECT_API_URL", "PREFECT_API_AUTH_STRING",
                                     "PREFECT_API_KEY"), CREDENTIALS_DIRECTORY=str(creds))
    log = tmp_path / "serve.log"
    with reaped(start_travelled(tmp_path, "2012-05-02T10:00:00+02:00", log, env, "serve",
                                "--prefect-port", str(port), "--config",
                                str(wheel_file))) as proc:
        wait_for(logged(log, "scheduled "), 300, "the start-up", proc, log)
        assert Api(api_url).get("/admin/version")[0] == 401
        assert Api(api_url, secret).get("/admin/version")[0] == 200
        assert healthy(api_url) and not (tmp_path / "prefect-home" / GENERATED_NAME).exists()
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        envs = [Path(f"/proc/{c}/environ").read_bytes().split(b"\0") for c in children]
        server_env = next(e for e in envs if any(b"prefect" in v for v in e))
        assert f"PREFECT_SERVER_API_AUTH_STRING={secret}".encode() in server_env
        assert b"PREFECT_SERVER_CSRF_PROTECTION_ENABLED=true" in server_env
        lines = command_lines()
        code = terminate(proc)
    text = log.read_text(errors="replace")
    assert code == 0, text
    assert f"the API asks for the credential in {auth}" in text
    assert_nowhere(secret, text, *lines, files=(tmp_path / "prefect-home", tmp_path / "data"))


_ENSURE = """
import os, sys
from prefect import get_client
from flows.prefect_server import ensure_server
from tests.locked import Api
home = sys.argv[1]
with ensure_server(port=None, timeout=240) as url:
    secret = open(os.path.join(home, "aarshjul-prefect-auth")).read().strip()
    assert Api(url).get("/admin/version")[0] == 401
    assert Api(url, secret).get("/admin/version")[0] == 200
    assert os.environ["PREFECT_API_AUTH_STRING"] == secret
    with get_client(sync_client=True) as client:
        assert client.hello().status_code == 200
assert "PREFECT_API_AUTH_STRING" not in os.environ
print("ok")
"""


@pytest.mark.slow
def test_ensure_server_makes_a_credential_for_its_own_server(tmp_path: Path) -> None:
    """No credential configured (simulate, or serve outside systemd): the local server still
    asks for one, made under PREFECT_HOME (mode 600) and used by the process's clients."""
    home = tmp_path / "prefect-home"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING", "PREFECT_API_KEY")}
    env["PREFECT_HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-c", _ENSURE, str(home)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    made = home / GENERATED_NAME
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert f"the API asks for the credential in {made} (made for it)" in proc.stderr
    assert_nowhere(secret_of(made), proc.stderr)


# --------------------------------------------------------------------------- the proxy


PROXY_USERS = {"anna": "anna-koordinator-2012", "bo": "bo-koordinator-2012!"}


@pytest.mark.proxy
@pytest.mark.slow
@pytest.mark.skipif(NGINX is None, reason="Debian's nginx is not installed")
def test_the_reverse_proxy_logs_people_in_and_adds_the_credential_upstream(locked) -> None:  # type: ignore[no-untyped-def]
    srv, auth, env, tmp = locked
    secret = secret_of(auth)
    port = int(srv.api_url.rsplit(":", 1)[1].split("/")[0])
    users = {**PROXY_USERS, Credential(secret, auth).user: secret.split(":", 1)[1]}
    with nginx_proxy(tmp / "nginx", port, auth, users) as proxy:
        ctx = proxy.context
        api = f"{proxy.base}/api"
        # probes: no login, GET only, nothing but the health route
        assert Api(proxy.base, context=ctx).get("/health") == (200, True)
        assert Api(proxy.base, context=ctx).call("POST", "/health", {}, csrf=False)[0] == 403
        assert Api(api, context=ctx).get("/health")[0] == 401
        assert Api(api, context=ctx).get("/admin/version")[0] == 401
        # a coordinator logs in with an own user; Prefect gets the shared credential
        anna = Api(api, "anna:anna-koordinator-2012", context=ctx)
        assert anna.get("/admin/version") == (200, "3.9.1")
        assert anna.post("/flows/filter", {})[0] == 200  # CSRF token fetched through it
        assert Api(api, "anna:wrong-password-here", context=ctx).get("/admin/version")[0] == 401
        # the browser is not sent to Prefect's login page (it would keep the credential)
        ui = Api(proxy.base, "bo:bo-koordinator-2012!", context=ctx).get("/ui-settings")[1]
        assert ui["auth"] is None and ui["csrf_enabled"] is True
        assert Api(proxy.base, context=ctx).get("/ui-settings")[0] == 401
        # a machine (the CLI here) through the proxy: the Prefect credential, TLS, websockets
        work = tmp / "proxied"
        work.mkdir()
        run_env = {**env, "PREFECT_API_URL": api, "AARSHJUL_PREFECT_AUTH_FILE": str(auth),
                   "SSL_CERT_FILE": str(proxy.ca_pem),
                   "PREFECT_API_SSL_CERT_FILE": str(proxy.ca_pem),
                   "AARSHJUL_DATABASE_URL": f"sqlite:///{work / 'app.sqlite'}",
                   "AARSHJUL_DATA_DIR": str(work / "data")}
        run_env.pop("AARSHJUL_SMTP_URL", None)
        done = _aarshjul(["chase", "--as-of", "2012-04-30T09:00", "--dry-run",
                          "--config", str(ROOT / "aarshjul.yaml")], run_env, work)
        assert done.returncode == 0, done.stderr
        access_log = proxy.access_log.read_text()
    users_seen = {line.split(" ")[2] for line in access_log.splitlines()}
    assert {"anna", "bo", "aarshjul", "-"} <= users_seen
    assert re.search(r" anna \[[^]]+\] \"POST /api/flows/filter HTTP/1\.1\" 200 ", access_log)
    assert re.search(r" aarshjul \[[^]]+\] \"GET /api/events/in HTTP/1\.1\" 101 ", access_log)
    assert_nowhere(secret, done.stdout, done.stderr)
