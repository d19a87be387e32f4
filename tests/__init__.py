"""The test suite. ``ROOT`` is the repository's top; ``CPH`` the wheel's zone, for the
instants the tests build."""

from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
CPH = ZoneInfo("Europe/Copenhagen")
