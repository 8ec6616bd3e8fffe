"""The frameworks themselves, run now, against lrviz.loop's plan.

Every framework that is installed runs its grid once per session (record.py, each in its
own process, two at a time) and every run is held to the plan float for float, as
tests/test_loop.py does with the committed recordings. Where the installed versions are
the ones that made the committed recordings, the fresh runs must equal them too, so the
committed files stay what the frameworks really do.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).parent))

from record import RUNNERS, record
from test_loop import RECORDINGS, assert_plan_matches
from test_training import assert_simulation_matches

pytestmark = pytest.mark.frameworks

# the packages each framework's runner needs (the Trainer needs accelerate)
PACKAGES = {"hf-trainer": ("transformers", "accelerate"), "lightning": ("lightning",),
            "accelerate": ("accelerate",), "torchtune": ("torchtune", "torchao", "torchdata"),
            "mmengine": ("mmengine", "cv2")}


def _installed(framework: str) -> bool:
    return all(importlib.util.find_spec(name) is not None for name in PACKAGES[framework])


def _need(framework: str) -> None:
    for name in PACKAGES[framework]:
        pytest.importorskip(name)


@pytest.fixture(scope="session")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """This session's recording of every installed framework."""
    installed = [name for name in RUNNERS if _installed(name)]
    if not installed:
        return {}
    paths = record(tmp_path_factory.mktemp("recordings"), installed)
    return {name: json.loads(path.read_text()) for name, path in paths.items()}


@pytest.mark.parametrize("framework", list(RUNNERS))
def test_framework_runs_follow_the_plan(framework: str, fresh: dict[str, Any]) -> None:
    _need(framework)
    runs = fresh[framework]["runs"]
    assert runs
    for run in runs:
        assert_plan_matches(run)
        if not run.get("loader_only"):  # and lrviz's own rows are the lr it used
            assert_simulation_matches(run)


@pytest.mark.parametrize("framework", list(RUNNERS))
def test_committed_recordings_are_what_the_framework_does(framework: str,
                                                          fresh: dict[str, Any]) -> None:
    _need(framework)
    committed = json.loads((RECORDINGS / f"{framework}.json").read_text())
    if committed["versions"] != fresh[framework]["versions"]:
        pytest.skip(f"recorded with {committed['versions']}, installed "
                    f"{fresh[framework]['versions']}: re-record with record.py")
    assert fresh[framework]["runs"] == committed["runs"]
