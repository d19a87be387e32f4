"""Where the CLI learns whether a Prefect API is configured (``flows.prefect_server.
configured_api_url``): the same answer as Prefect's own settings, without importing Prefect
when nothing could configure one (a process that only runs the engine directly, such as
``aarshjul intake`` without a server, saves ~40 MB)."""

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


def _ask(cwd: Path, **env: str) -> tuple[str, bool]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    out = subprocess.run([sys.executable, "-c", ASK], cwd=cwd, capture_output=True, text=True,
                         check=True, env={**clean, "HOME": str(cwd), "PYTHONPATH": str(ROOT),
                                          **env}).stdout.split()
    return out[-2], out[-1] == "True"


def test_nothing_configured_is_none_without_importing_prefect(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.other]\nx = 1\n", encoding="utf-8")
    assert _ask(tmp_path) == ("None", False)


@pytest.mark.parametrize("where", ["profiles", "profile-variable", "prefect.toml", "pyproject",
                                   ".env"])
def test_every_source_prefect_reads_still_counts(tmp_path: Path, where: str) -> None:
    url, env = "http://127.0.0.1:4711/api", {}
    if where == "profiles":
        (tmp_path / "home").mkdir()
        (tmp_path / "home" / "profiles.toml").write_text(
            f'active = "mine"\n[profiles.mine]\nPREFECT_API_URL = "{url}"\n', encoding="utf-8")
        env = {"PREFECT_HOME": str(tmp_path / "home")}
    elif where == "profile-variable":  # Prefect's own profiles: "local" has a URL
        url, env = "http://127.0.0.1:4200/api", {"PREFECT_PROFILE": "local"}
    elif where == "prefect.toml":
        (tmp_path / "prefect.toml").write_text(f'[api]\nurl = "{url}"\n', encoding="utf-8")
    elif where == "pyproject":
        (tmp_path / "pyproject.toml").write_text(f'[tool.prefect.api]\nurl = "{url}"\n',
                                                 encoding="utf-8")
    else:
        (tmp_path / ".env").write_text(f"PREFECT_API_URL={url}\n", encoding="utf-8")
    assert _ask(tmp_path, **env) == (url, True)
