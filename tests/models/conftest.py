"""Fixtures for the model tests: the wheel of the bundled aarshjul.yaml (one per module)."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.config import load
from models.wheel import Wheel


@pytest.fixture(scope="module")
def wheel() -> Wheel:
    return load(Path(__file__).resolve().parents[2] / "aarshjul.yaml").wheel
