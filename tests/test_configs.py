"""Every example spec in configs/ runs, and the README's commands run as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lrviz
from lrviz.cli import app

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def test_configs_cover_every_scheduler() -> None:
    from lrviz.catalog import SCHEDULERS_TABLE

    used = {s.type for path in CONFIGS for s in lrviz.as_spec(path).scheduler.walk()}
    assert used >= {s.name for s in SCHEDULERS_TABLE}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_runs(path: Path, tmp_path: Path, runner: CliRunner) -> None:
    trace = lrviz.simulate(path)
    assert trace.steps >= 1
    assert (trace.lrs > 0).all()
    out = tmp_path / "x.csv"
    result = runner.invoke(app, ["plot", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == trace.steps + 1


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```\n(.*?)```", text, flags=re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("lrviz ") and "..." not in line:
                commands.append(line)
    return commands


@pytest.mark.parametrize("command", _readme_commands())
def test_readme_command_runs(
    command: str, tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    # outputs go to a scratch folder, never into the checkout
    args = [str(tmp_path / a) if Path(a).suffix in (".png", ".csv", ".svg", ".json") else a
            for a in args]
    if args[0] == "plot" and "-o" not in args and "--help" not in args:
        monkeypatch.chdir(tmp_path)
        args = [str(ROOT / a) if a.startswith("configs/") else a for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


def test_readme_python_example_runs() -> None:
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, flags=re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(code.group(1), "README.md", "exec"), namespace)  # our own docs, not user input
    finally:
        os.chdir(cwd)
