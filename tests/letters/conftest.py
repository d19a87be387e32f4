"""Fixtures for the letters tests: the bundled wheel and its 2012 plan (one of each per
module), a fresh cache folder and a copy of the templates for the template checks, and the
Dovecot test servers (tests/imapd.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from letters.render import TEMPLATES_DIR
from models.config import load
from models.plan import YearPlan, year_plan
from models.wheel import Wheel
from tests import ROOT
from tests.imapd import dovecot, dovecot_tls

__all__ = ["dovecot", "dovecot_tls", "fresh_cache", "plan", "tdir", "wheel"]


@pytest.fixture(scope="module")
def wheel() -> Wheel:
    """The wheel of the bundled aarshjul.yaml."""
    return load(ROOT / "aarshjul.yaml").wheel


@pytest.fixture(scope="module")
def plan(wheel: Wheel) -> YearPlan:
    """The bundled wheel's plan of 2012."""
    return year_plan(wheel, 2012)


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache folder (``XDG_CACHE_HOME``), so a test checks templates for real
    instead of trusting a result remembered from an earlier run."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


@pytest.fixture
def tdir(tmp_path: Path) -> Path:
    """A copy of the shipped templates that a test may break."""
    d = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, d)
    return d
