"""File modes: what the engine writes under its data directory is for its own user only
(README "Data protection"), whatever the caller's umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from letters.private import open_private, private_dir, write_private
from tests import ROOT

CONFIG = str(ROOT / "aarshjul.yaml")


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _open_to_others(top: Path) -> list[str]:
    found = []
    for p in [top, *top.rglob("*")]:
        mode = p.lstat().st_mode
        if stat.S_ISLNK(mode):
            continue
        if mode & 0o077:
            found.append(f"{p.relative_to(top)} {stat.filemode(mode)}")
    return found


def test_the_helpers_set_the_modes_under_umask_022(tmp_path: Path, umask_022: None) -> None:
    d = private_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    f = write_private(d / "x.bin", b"x")
    assert stat.S_IMODE(f.stat().st_mode) == 0o600 and f.read_bytes() == b"x"
    (d / "old").write_bytes(b"")
    os.chmod(d / "old", 0o644)
    os.close(open_private(d / "old", os.O_WRONLY))  # an existing file is narrowed too
    assert stat.S_IMODE((d / "old").stat().st_mode) == 0o600
    assert _open_to_others(tmp_path / "a") == []


def test_a_simulated_year_leaves_nothing_readable_by_others(tmp_path: Path,
                                                            umask_022: None) -> None:
    out = tmp_path / "year"
    r = CliRunner().invoke(app, ["simulate", "--year", "2012", "--out", str(out),
                                 "--no-prefect", "--config", CONFIG])
    assert r.exit_code == 0, r.output
    assert (out / "state.sqlite").exists() and list((out / "journal").rglob("*.eml"))
    assert list((out / "submissions").rglob("*.docx")) and (out / "documents").is_dir()
    assert _open_to_others(out) == []
