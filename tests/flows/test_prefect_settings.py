"""Where the CLI learns whether a Prefect API is configured (``flows.prefect_server.
configured_api_url``): the same answer as Prefect's own settings, without importing Prefect
where only the environment and a profiles file could configure one (a process that only runs
the engine directly, such as ``aarshjul intake`` without a server, saves ~40 MB; ``doctor``
answers within its budget)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import ROOT

ASK = """
import sys
from flows.prefect_server import configured_api_url
print(configured_api_url(), "prefect" in sys.modules)
"""
ASK_PREFECT = """
from prefect.settings import get_current_settings
url = get_current_settings().api.url
print(str(url).rstrip("/") if url else None)
"""
URL = "http://127.0.0.1:4711/api"
LOCAL = "http://127.0.0.1:4200/api"  # Prefect's own "local" profile


def _run(code: str, cwd: Path, env: dict[str, str]) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          check=True, env={**clean, "HOME": str(cwd), "PYTHONPATH": str(ROOT),
                                           **env}).stdout.split()


def _ask(cwd: Path, **env: str) -> tuple[str, bool]:
    """Our answer and whether Prefect was imported for it; checked against Prefect's own."""
    out = _run(ASK, cwd, env)
    assert out[-2] == _run(ASK_PREFECT, cwd, env)[-1], "not Prefect's answer"
    return out[-2], out[-1] == "True"


def _profiles(path: Path, text: str) -> dict[str, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return {"PREFECT_HOME": str(path.parent)} if path.name == "profiles.toml" else \
        {"PREFECT_PROFILES_PATH": str(path)}


def test_nothing_configured_is_none_without_importing_prefect(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.other]\nx = 1\n", encoding="utf-8")
    assert _ask(tmp_path) == ("None", False)


@pytest.mark.parametrize("where", ["profiles", "profiles-path", "profile-without-url"])
def test_a_profiles_file_is_read_without_importing_prefect(tmp_path: Path, where: str) -> None:
    if where == "profiles":
        env = _profiles(tmp_path / "home" / "profiles.toml",
                        f'active = "mine"\n[profiles.mine]\nPREFECT_API_URL = "{URL}/"\n')
        assert _ask(tmp_path, **env) == (URL, False)
    elif where == "profiles-path":
        env = _profiles(tmp_path / "etc" / "prefect-profiles.toml",
                        f'[profiles.mine]\nPREFECT_API_URL = "{URL}"\n')
        assert _ask(tmp_path, PREFECT_PROFILE="mine", **env) == (URL, False)
    else:
        env = _profiles(tmp_path / "home" / "profiles.toml",
                        'active = "mine"\n[profiles.mine]\nPREFECT_LOGGING_LEVEL = "INFO"\n')
        assert _ask(tmp_path, **env) == ("None", False)


@pytest.mark.parametrize("where", ["profile-variable", "local-in-file", "prefect.toml",
                                   "pyproject", ".env"])
def test_every_other_source_prefect_reads_still_counts(tmp_path: Path, where: str) -> None:
    url, env = URL, {}
    if where == "profile-variable":  # Prefect's own profiles: "local" has a URL
        url, env = LOCAL, {"PREFECT_PROFILE": "local"}
    elif where == "local-in-file":  # the file's "local", not Prefect's, without a URL: none
        url = "None"
        env = _profiles(tmp_path / "home" / "profiles.toml",
                        'active = "local"\n[profiles.local]\nPREFECT_LOGGING_LEVEL = "INFO"\n')
    elif where == "prefect.toml":
        (tmp_path / "prefect.toml").write_text(f'[api]\nurl = "{url}"\n', encoding="utf-8")
    elif where == "pyproject":
        (tmp_path / "pyproject.toml").write_text(f'[tool.prefect.api]\nurl = "{url}"\n',
                                                 encoding="utf-8")
    else:
        (tmp_path / ".env").write_text(f"PREFECT_API_URL={url}\n", encoding="utf-8")
    assert _ask(tmp_path, **env) == (url, True)
