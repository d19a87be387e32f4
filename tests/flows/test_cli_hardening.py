"""The CLI refuses what it must not act on: an instant after now in a live run, and a file
argument that is not a regular file (before reading it); file names print escaped."""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from flows.cli import app
from tests import CPH
from tests.flows.helpers import cli, cli_env_opened

NOW = datetime(2012, 4, 25, 10, 0, tzinfo=CPH)
SUBMIT = ("--year", "2012", "--committee", "BUU", "--deliverable", "handleplan")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_prefect: None) -> Path:
    return cli_env_opened(tmp_path, monkeypatch)


def outgoing(tmp: Path) -> int:
    return len(list((tmp / "data" / "outgoing").glob("*.eml")))


def count(tmp: Path, table: str) -> int:
    with sqlite3.connect(tmp / "state.sqlite") as c:
        return int(c.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _form(tmp: Path) -> Path:
    from tests.flows.test_cli_run import _form as form

    return form(tmp, "BUU", "handleplan")


# --- instants after now ----------------------------------------------------------------


def test_submit_at_a_future_instant_is_refused_and_nothing_is_registered(env: Path) -> None:
    form = _form(env)
    sent = outgoing(env)
    with time_machine.travel(NOW, tick=False):
        for at in ("2099-01-01T10:00", "2012-04-25T10:01"):
            r = cli("submit", str(form), *SUBMIT, "--at", at)
            assert r.exit_code == 1, r.output
            assert "ligger efter nu" in r.stderr and "Traceback" not in r.output
        assert count(env, "submissions") == 0 and outgoing(env) == sent
        r = cli("submit", str(form), *SUBMIT, "--at", "2012-04-25T10:00")  # now itself
        assert r.exit_code == 0, r.output
    assert count(env, "submissions") == 1


def test_submit_without_at_is_now(env: Path) -> None:
    with time_machine.travel(NOW, tick=False):
        r = cli("submit", str(_form(env)), *SUBMIT)
    assert r.exit_code == 0, r.output
    with sqlite3.connect(env / "state.sqlite") as c:
        [received] = c.execute("SELECT received_at FROM requests WHERE committee='BUU' "
                               "AND deliverable='handleplan'").fetchone()
    assert received.startswith("2012-04-25 08:00")  # UTC


@pytest.mark.parametrize(
    "verb",
    [
        ("chase",),
        ("run", "opfordring", "--year", "2012"),
        ("extend", "--year", "2012", "--committee", "BUU", "--deliverable", "handleplan",
         "--until", "2012-05-20"),
        ("purge",),
    ],
    ids=["chase", "run", "extend", "purge"],
)
def test_a_live_as_of_after_now_is_refused_but_a_dry_run_may_look_ahead(
    env: Path, verb: tuple[str, ...]
) -> None:
    sent = outgoing(env)
    with time_machine.travel(NOW, tick=False):
        r = cli(*verb, "--as-of", "2012-05-20T09:00")
        assert r.exit_code == 1, r.output
        assert "--as-of" in r.stderr and "ligger efter nu" in r.stderr
        assert outgoing(env) == sent
        r = cli(*verb, "--as-of", "2012-05-20T09:00", "--dry-run")
        assert r.exit_code in (0, 1) and "ligger efter nu" not in r.output, r.output
        assert outgoing(env) == sent
        r = cli("status", "--year", "2012", "--as-of", "2012-05-20T09:00", "--json")
        assert r.exit_code == 0, r.output  # reading ahead changes nothing


def test_a_past_as_of_catches_up(env: Path) -> None:
    sent = outgoing(env)
    with time_machine.travel(NOW, tick=False):
        r = cli("chase", "--as-of", "2012-04-24T09:00")
    assert r.exit_code == 0, r.output
    assert outgoing(env) > sent


# --- odd file arguments ------------------------------------------------------------------


def _odd(tmp: Path, kind: str, suffix: str) -> Path:
    path = tmp / f"odd-{kind}{suffix}"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    elif kind == "dangling":
        path.symlink_to(tmp / "nowhere")
    return path


def _feed_fifo(path: Path, stop: threading.Event) -> threading.Thread:
    """If anything opens the FIFO for reading, give it bytes and an end (so that a verb
    that wrongly reads it fails on the content instead of hanging the tests)."""

    def feed() -> None:
        while not stop.wait(0.05):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody reads it
                continue
            with os.fdopen(fd, "wb") as f:
                f.write(b"goal,period,value\nHM2,2011-H2,7.4\n")
            return

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    return t


ODD = {
    "directory": "a directory, not a regular file",
    "fifo": "a named pipe (FIFO), not a regular file",
    "zero": "a character device (such as /dev/zero), not a regular file",
    "dangling": "cannot read it: No such file or directory",
}


@pytest.mark.parametrize("kind", sorted(ODD))
def test_submit_refuses_an_odd_file_before_reading_it(env: Path, kind: str) -> None:
    path = _odd(env, kind, ".docx")
    stop = threading.Event()
    feeder = _feed_fifo(path, stop) if kind == "fifo" else None
    try:
        r = cli("submit", str(path), *SUBMIT, "--at", "2012-04-20T10:00")
    finally:
        stop.set()
    assert r.exit_code == 1, r.output
    assert f"refused: {path}: it is {ODD[kind]}" in r.stderr or (
        kind == "dangling" and f"refused: {path}: {ODD[kind]}" in r.stderr), r.stderr
    assert "Traceback" not in r.output
    assert count(env, "submissions") == 0 and count(env, "documents") == 0
    if feeder is not None:
        feeder.join()


@pytest.mark.parametrize("verb", [("barometer", "import"), ("budget", "import", "--year", "2012")])
@pytest.mark.parametrize("kind", sorted(ODD))
def test_imports_refuse_an_odd_file_before_reading_it(env: Path, kind: str,
                                                      verb: tuple[str, ...]) -> None:
    path = _odd(env, kind, ".csv")
    stop = threading.Event()
    feeder = _feed_fifo(path, stop) if kind == "fifo" else None
    try:
        r = cli(*verb, str(path))
    finally:
        stop.set()
    assert r.exit_code == 1, r.output
    reason = ODD[kind] if kind == "dangling" else f"it is {ODD[kind]}"
    assert f"refused: {path}: {reason}. Nothing was stored." in r.stderr, r.stderr
    assert "Traceback" not in r.output
    if feeder is not None:
        feeder.join()


def test_printed_file_names_have_their_control_characters_escaped(env: Path) -> None:
    name = "BUU\x1b[2J\x1b]0;owned\x07 \u202egpj.docx"
    shown = "BUU\\x1b[2J\\x1b]0;owned\\x07 \\u202egpj.docx"
    bad = env / name
    bad.write_bytes(b"not a zip")
    r = cli("submit", str(bad), *SUBMIT, "--at", "2012-04-20T10:00")
    assert r.exit_code == 1
    assert f"refused: {shown}: " in r.stderr and "\x1b" not in r.output, r.stderr
    csv = env / "bad\x1b[31m.csv"
    csv.write_text("goal,period,value\nHM9,2011-H2,7.4\n", encoding="utf-8")
    r = cli("barometer", "import", str(csv))
    assert r.exit_code == 1
    assert "\x1b" not in r.output and f"{env}/bad\\x1b[31m.csv:2 goal: unknown goal" in r.stderr
    good = env / "BUU\x07handleplan.docx"
    good.write_bytes(_form(env).read_bytes())
    r = cli("submit", str(good), *SUBMIT, "--at", "2012-04-20T10:00")
    assert r.exit_code == 0, r.output
    assert "\x07" not in r.output and "«BUU\\x07handleplan.docx»" in r.stdout


@pytest.mark.parametrize("kind", ["directory", "fifo", "zero"])
def test_an_odd_wheel_file_is_refused_before_reading_it(tmp_path: Path, kind: str) -> None:
    path = _odd(tmp_path, kind, ".yaml")
    stop = threading.Event()
    feeder = _feed_fifo(path, stop) if kind == "fifo" else None
    try:
        r = CliRunner().invoke(app, ["check", "--config", str(path)], catch_exceptions=False)
    finally:
        stop.set()
    assert r.exit_code == 1, r.output
    assert r.stderr == f"{path}:0 (file): it is {ODD[kind]}; nothing was run.\n"
    if feeder is not None:
        feeder.join()
