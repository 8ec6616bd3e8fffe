"""Shared test set-up: a stable terminal width and a CLI runner."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.fixture(autouse=True)
def _stable_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # rich sizes tables to the terminal; fix it so output does not depend on the machine.
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("LRVIZ_DEBUG", raising=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
