"""The loader refuses broken wheel files with one exact line per problem.

Each file in ``broken/`` is a small wheel derived from ``aarshjul.yaml`` with one thing (or,
in ``multiple_problems.yaml``, several things) wrong. The expected problems are written in
the file itself, as comments next to the line they concern::

    due: "02-30"  # !! deliverables[0].due: '02-30' is not a date

means a problem on *this* line with key path ``deliverables[0].due`` whose message contains
the text after the colon. ``# !!+1`` / ``# !!-1`` point one line down / up, ``# !!@20`` at
line 20 (for lines that cannot carry a comment, e.g. inside an unclosed quote). Several
problems on one line are separated by two spaces and ``!!``. The test asserts that the
loader reports exactly these problems: the same lines and key paths, nothing more.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models.config import load, loads
from models.problems import ConfigError, Problem

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(BROKEN.glob("*.yaml"))
MARK = re.compile(rb"#\s*!!(?P<where>[+-]\d+|@\d+)?\s+(?P<rest>.*)$")


def expected(path: Path) -> list[tuple[int, str, str]]:
    """(line, key path, message part) for every ``# !!`` marker in the file."""
    out = []
    for n, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        m = MARK.search(raw)
        if not m:
            continue
        where = (m.group("where") or b"").decode()
        line = int(where[1:]) if where.startswith("@") else n + int(where or 0)
        for item in m.group("rest").decode("utf-8", "replace").split("  !! "):
            key_path, _, message = item.partition(": ")
            out.append((line, key_path.strip(), message.strip()))
    return out


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert all(expected(p) for p in CASES), [p.name for p in CASES if not expected(p)]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_broken_file_is_refused_with_exact_lines(path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(path)
    problems: list[Problem] = info.value.problems
    want = expected(path)
    got = [(p.line, p.path) for p in problems]
    assert sorted(got) == sorted((line, key) for line, key, _ in want), "\n".join(map(str, problems))
    for line, key, message in want:
        p = next(p for p in problems if (p.line, p.path) == (line, key))
        assert message in p.message, f"{p}\n  expected: {message}"
        assert p.file == str(path) and p.severity == "error"
        assert str(p) == f"{path}:{line} {key}: {p.message}"
