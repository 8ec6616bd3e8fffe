"""The ``frameworks`` marker: tests that train a tiny model with a real framework.

Registered here so that ``--strict-markers`` accepts it without touching pyproject.toml;
deselect them with ``-m "not frameworks"``.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "frameworks: trains a tiny model with a real framework on the CPU (slow)")
