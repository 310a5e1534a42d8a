"""The command line speaks the operator's language, chosen as gettext chooses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dihya.cli import main
from dihya.cli_text import LOCALE_VARIABLES, cli_locale


@pytest.mark.parametrize(("environ", "locale"), [
    ({"LANG": "fr_FR.UTF-8"}, "fr"),
    ({"LANG": "tzm_MA.UTF-8"}, "tzm"),
    ({"LANGUAGE": "de:ar", "LANG": "en_US.UTF-8"}, "ar"),  # LANGUAGE lists preferences in order
    ({"LC_ALL": "fr_CA@euro", "LANG": "ar_MA"}, "fr"),
    ({"LC_ALL": "C"}, "en"),
    ({"LC_ALL": "C", "LANG": "fr_FR.UTF-8"}, "en"),  # the first variable set decides
    ({"LANG": "de_DE.UTF-8"}, "en"),
    ({}, "en"),
])
def test_the_language_comes_from_the_environment(environ: dict[str, str], locale: str) -> None:
    assert cli_locale(environ) == locale


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for variable in LOCALE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("DIHYA_DATABASE_URL", f"sqlite:///{tmp_path / 'dihya.sqlite3'}")
    monkeypatch.setenv("DIHYA_DATA_DIR", str(tmp_path))
    return monkeypatch


@pytest.mark.parametrize(("lang", "expected"), [
    ("en_GB.UTF-8", "The database is at the latest schema."),
    ("fr_FR.UTF-8", "La base de données est au dernier schéma."),
    ("ar_MA.UTF-8", "قاعدة البيانات على أحدث مخطط."),
    ("tzm_MA.UTF-8", "ⵜⴰⵎⵙⵙⵓⴷⵙⵜ ⵏ ⵉⵙⴼⴽⴰ"),
])
def test_results_are_printed_in_the_operators_language(shell: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                       lang: str, expected: str) -> None:
    shell.setenv("LANG", lang)
    assert main(["db", "upgrade"]) == 0
    assert expected in capsys.readouterr().out


def test_verification_in_arabic(shell: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    shell.setenv("LANG", "ar_MA.UTF-8")
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "سجل التدقيق" in out and "Audit" not in out


def test_help_is_translated(shell: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    shell.setenv("LANGUAGE", "fr")
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "discuter avec le bot dans ce terminal" in capsys.readouterr().out


def test_a_bad_setting_is_reported_in_the_operators_language(shell: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    shell.setenv("LANG", "fr_FR.UTF-8")
    shell.setenv("DIHYA_JOBS", "bogus")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dihya : ") and "DIHYA_JOBS" in err
