"""The README and --help say what the code does; shell completion offers what it accepts.

These fail when a command, flag or scheduler is added, renamed or removed in the code
and not in the README (or the other way round), and when a documented command line no
longer parses.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lrviz import catalog, flags
from lrviz.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = {c.name or (c.callback.__name__ if c.callback else "") for c in
            app.registered_commands}
FREE = {"plot", "table", "code"}  # commands that parse their own flags (lrviz.flags)


def readme_command_lines() -> list[list[str]]:
    """Every ``lrviz ...`` line of the README's code blocks, as tokens, comments cut."""
    lines = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            line = line.strip().removeprefix("- run: ")
            if line.startswith("lrviz "):
                lines.append(shlex.split(line, comments=True)[1:])
    return lines


def test_readme_commands_table_is_the_cli() -> None:
    table = set(re.findall(r"^\| `([a-z]+)[ `]", README, flags=re.M))
    assert {name.rstrip("_") for name in COMMANDS} == table


def test_every_command_has_help_text() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--help"])
    for name in COMMANDS:
        name = name.rstrip("_")
        assert re.search(rf"^\s+{name}\s+\S", result.stdout, flags=re.M), name


def test_readme_names_every_run_flag() -> None:
    for flag in flags.RUN_FLAGS:
        assert f"`{flag.flag}" in README or f"/{flag.flag}`" in README, flag.flag


def test_readme_names_every_scheduler() -> None:
    for sched in catalog.SCHEDULERS_TABLE:
        for alias in sched.aliases:
            assert f"`{alias}`" in README, alias
    for sched in catalog.HF_SCHEDULERS:
        assert f"`{sched.name}`" in README, sched.name


@pytest.mark.parametrize("tokens", readme_command_lines(), ids=" ".join)
def test_readme_command_lines_parse(tokens: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    command, args = tokens[0], tokens[1:]
    assert command in {n.rstrip("_") for n in COMMANDS}, command
    if command in FREE:
        extra = flags.TABLE_FLAGS if command == "table" else ()
        inv = flags.parse(args, extra)
        assert inv.help or inv.target is not None
        return
    group = typer.main.get_command(app)
    ctx = group.make_context("lrviz", [command, *args])
    sub = group.get_command(ctx, command)  # type: ignore[attr-defined]
    assert sub is not None
    sub.make_context(command, list(args), parent=ctx)  # raises on an unknown option


def test_changelog_mentions_every_command() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"lrviz {name.rstrip('_')}" in changelog, name


# --- shell completion -------------------------------------------------------------------


def complete(words: str) -> list[str]:
    """What ``lrviz``'s bash completion offers for the command line ``words``."""
    env = {**os.environ, "_LRVIZ_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
    code = "import sys; sys.argv[0] = 'lrviz'; from lrviz.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)
    return done.stdout.split()


@pytest.mark.parametrize(("words", "offered"), [
    ("lrviz pl", ["plot"]),
    ("lrviz plot cyc", ["cyclic", "cycliclr"]),
    ("lrviz plot hf:cosine_w", ["hf:cosine_warmup_with_min_lr", "hf:cosine_with_min_lr",
                               "hf:cosine_with_restarts"]),
    ("lrviz plot cyclic --step-size", ["--step-size-down", "--step-size-up"]),
    ("lrviz plot cyclic --mode ", ["triangular", "triangular2", "exp_range"]),
    ("lrviz plot configs/cosine.yaml --eta", ["--eta-min"]),
    ("lrviz plot configs/cos", ["configs/cosine.yaml", "configs/cosine_warm_restarts.yaml"]),
    ("lrviz table step --ev", ["--every"]),
    ("lrviz plot plateau --metric st", ["staircase"]),
    ("lrviz list onec", ["onecycle", "onecyclelr"]),
])
def test_completion(words: str, offered: list[str]) -> None:
    assert complete(words) == offered


def test_completion_is_offered_to_install() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert "--install-completion" in result.stdout


def test_nothing_cites_a_document_the_repository_does_not_have() -> None:
    # The contract lives in the README; the code cites its sections by title.
    titles = {line.lstrip("#").strip() for line in README.splitlines() if line.startswith("#")}
    for path in [*(ROOT / "lrviz").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        text = path.read_text()
        assert "SPEC " + "section" not in text, path
        for cited in re.findall(r'README,? "([^"]+)"', " ".join(text.split())):
            assert cited in titles, (path, cited)
