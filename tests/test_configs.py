"""Every example spec in configs/ runs, and the README's commands run as written."""

from __future__ import annotations

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


def _readme_blocks(language: str) -> list[str]:
    """The README's fenced blocks of one language ("" for untagged), by walking the fences."""
    blocks: list[str] = []
    current: list[str] | None = None
    keep = False
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            if current is None:
                current, keep = [], line[3:].strip() == language
            else:
                if keep:
                    blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def _readme_commands() -> list[str]:
    commands = []
    for block in _readme_blocks(""):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
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
    args = [str(tmp_path / Path(a).name) if i and args[i - 1] in ("-o", "--output") else a
            for i, a in enumerate(args)]
    if args[0] in ("plot", "compare") and "-o" not in args and "--help" not in args:
        args = [str(ROOT / a) if a.startswith("configs/") else a for a in args]
        monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


def test_readme_python_example_runs() -> None:
    code = _readme_blocks("python")[0]
    namespace: dict[str, object] = {}
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(code, "README.md", "exec"), namespace)  # our own docs, not user input
    finally:
        os.chdir(cwd)
