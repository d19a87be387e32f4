"""Template checks for `aarshjul check` (filled in by the letters work)."""

from __future__ import annotations

from models.config import Loaded
from models.problems import Problem


def template_problems(loaded: Loaded) -> list[Problem]:
    """Every problem with the templates the wheel names; empty when all is well."""
    return []
