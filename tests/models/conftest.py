"""Fixtures for the model tests: the wheel of the bundled aarshjul.yaml (one per module)."""

from __future__ import annotations

import pytest

from models.config import load
from models.wheel import Wheel
from tests import ROOT


@pytest.fixture(scope="module")
def wheel() -> Wheel:
    return load(ROOT / "aarshjul.yaml").wheel
