"""No deploy example or document shows an unsafe way with secrets (README "Deploy examples"): no
``env $(cat FILE | xargs)`` (it puts every secret on a command line for ``ps`` and breaks on
spaces), and no compose variable that defaults a password, secret or token."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.flows.helpers import ROOT

UNSAFE_ENV = re.compile(r"\$\(\s*(cat|<)[^)]*\)\s*\|?\s*xargs|xargs[^\n]*\benv\b|"
                        r"\benv\s+\$\(\s*(cat|grep|sed)\b|export\s+\$\(\s*(cat|grep)\b")
SECRETISH = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|AUTH_STRING|API_KEY", re.I)
# ${VAR:-default} or ${VAR-default}: a value used when the operator gave none
DEFAULTED = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-)(?P<default>[^}]*)\}")


def _documents() -> list[Path]:
    docs = [ROOT / "README.md", ROOT / "DEVELOPERS.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [*docs, *sorted(p for p in (ROOT / "deploy").iterdir() if p.is_file())]


def test_no_document_or_deploy_file_reads_an_environment_file_through_xargs() -> None:
    found = [(p.relative_to(ROOT), m.group())
             for p in _documents() for m in UNSAFE_ENV.finditer(p.read_text(encoding="utf-8"))
             if not _is_warning(p.read_text(encoding="utf-8"), m.start())]
    assert found == []


def _is_warning(text: str, at: int) -> bool:
    """The pattern quoted in prose as what not to do (inside a sentence that says so), not
    in a command block."""
    before = text[:at]
    in_block = before.count("```") % 2 == 1
    line_start = before.rfind("\n") + 1
    return not in_block and "`" in text[line_start:at]


def test_the_pattern_finder_finds_the_unsafe_lines() -> None:
    for line in ("env $(cat /etc/aarshjul/aarshjul.env | xargs) aarshjul check",
                 "export $(cat .env | xargs)", "env $(grep -v '^#' .env | xargs) run"):
        assert UNSAFE_ENV.search(line), line
    assert _is_warning("Say no (`env $(cat F | xargs)` would).", 9)
    assert not _is_warning("```sh\nenv $(cat F | xargs) x\n```", 6)


def test_compose_defaults_no_secret_and_writes_none() -> None:
    text = (ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8")
    defaulted = [m.group() for m in DEFAULTED.finditer(text) if SECRETISH.search(m["name"])]
    assert defaulted == []
    doc = yaml.safe_load(text)
    for name, service in doc["services"].items():
        env = service.get("environment") or {}
        items = env.items() if isinstance(env, dict) else (e.partition("=")[::2] for e in env)
        for key, value in items:
            if SECRETISH.search(key) and not key.endswith("_FILE"):
                # a secret comes from a file (or a required ${VAR:?}), never as a value here
                assert re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}", str(value)), \
                    (name, key)
        url = str(env.get("AARSHJUL_DATABASE_URL", "")) if isinstance(env, dict) else ""
        assert not re.search(r"//[^/@:]+:[^/@]+@", url), (name, "a password in the URL")
