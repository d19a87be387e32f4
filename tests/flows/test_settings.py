"""The one Settings object: every AARSHJUL_* variable read once, bad values refused clearly,
secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.settings import VARIABLES, Settings, SettingsError


def test_defaults_and_overrides() -> None:
    s = Settings.from_env({})
    assert s.config == Path("aarshjul.yaml") and s.smtp_url is None
    assert s.database_url == "sqlite:///aarshjul.sqlite"
    s = Settings.from_env({"AARSHJUL_DATA_DIR": "/srv/a"}, data_dir=Path("/srv/b"))
    assert s.data_dir == Path("/srv/b")  # a flag wins over its variable
    assert Settings.from_env({"AARSHJUL_DATA_DIR": "/srv/a"}, data_dir=None).data_dir == Path(
        "/srv/a")


def test_every_variable_has_a_field() -> None:
    assert {name for name, _what in VARIABLES.values()} <= set(Settings.model_fields)


def test_malformed_values_are_refused_one_line_each_without_the_password() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"AARSHJUL_SMTP_URL": "http://user:hemmeligt@mail.example",
                           "AARSHJUL_SMTP_RATE": "fast"})
    assert len(info.value.problems) == 2
    assert all(p.startswith(("AARSHJUL_SMTP_URL:", "AARSHJUL_SMTP_RATE:"))
               for p in info.value.problems)
    assert "hemmeligt" not in str(info.value)


def test_repr_hides_the_passwords() -> None:
    s = Settings.from_env({"AARSHJUL_SMTP_URL": "smtp://u:hemmeligt@mail.example:25"})
    assert "hemmeligt" not in repr(s) and "hemmeligt" not in str(s)
    assert "u:***@mail.example" in repr(s)
    assert s.child_env()["AARSHJUL_SMTP_URL"] == "smtp://u:hemmeligt@mail.example:25"


@given(st.text(max_size=80))
def test_any_smtp_url_is_taken_or_refused_with_a_message(text: str) -> None:
    try:
        Settings.from_env({"AARSHJUL_SMTP_URL": text})
    except SettingsError as exc:
        assert exc.problems and all(p.startswith("AARSHJUL_SMTP_URL") for p in exc.problems)
