"""Session-wide test set-up.

Prefect reads its settings at import, so its home and analytics are set here, before any
test module imports it. Under CI (``AARSHJUL_REQUIRE_MARKERS``), a test marked postgres,
ui, office or imap that skips is turned into a failure: those tests must really run there.

Hypothesis profiles, loaded here before any test module builds its ``@settings``: ``ci``
(when ``CI`` is set) draws the same examples on every run (``derandomize``, no example
database), so a run of the suite is deterministic; ``dev`` (otherwise) draws new examples
each run and keeps the failing ones in ``.hypothesis/`` to replay them. Either prints the
reproduction blob of a failure. ``HYPOTHESIS_PROFILE=ci`` picks one by name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests import ROOT

# Both from Hypothesis's own defaults, not from whatever profile it loaded at import (it
# loads its built-in "ci" profile when it sees a CI variable, even an empty one). The
# too_slow health check times the data generation: on a shared machine it is not
# deterministic, so ci leaves it out.
_BASE = settings.get_profile("default")
settings.register_profile("ci", _BASE, derandomize=True, database=None, max_examples=100,
                          deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", _BASE, max_examples=100, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI")
                                                               else "dev"))

_HOME = Path(tempfile.mkdtemp(prefix="aarshjul-test-prefect-"))
os.environ["PREFECT_HOME"] = str(_HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("AARSHJUL_SMTP_URL", None)
os.environ.pop("AARSHJUL_DATABASE_URL", None)
os.environ.pop("AARSHJUL_IMAP_URL", None)

REQUIRED = {m for m in os.environ.get("AARSHJUL_REQUIRE_MARKERS", "").split(",") if m}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.skipped and REQUIRED:
        kinds = REQUIRED & {m.name for m in item.iter_markers()}
        if kinds:
            report.outcome = "failed"
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            report.longrepr = (
                f"a {'/'.join(sorted(kinds))} test skipped under CI, which must run it: {reason}"
            )


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def wheel_file() -> Path:
    return ROOT / "aarshjul.yaml"


@pytest.fixture(scope="session")
def prefect_harness():  # type: ignore[no-untyped-def]
    """One Prefect test server for the whole session (startup ~10 s), heartbeats off."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield


@pytest.fixture
def no_prefect(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """No Prefect API for this test, even when the session's test server (above) is up: the
    CLI then runs the engine in this process, as with PREFECT_API_URL unset."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield
