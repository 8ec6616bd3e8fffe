"""Issue 13, what a new user trips over in the first hour: each point as the user met it.

Exact error lines through CliRunner; outputs read back from the files written.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lrviz.cli import app

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


def err(result) -> str:  # type: ignore[no-untyped-def]
    return result.stderr.strip()


# --- 1. compare's wide columns: unique, and `step` is only the index ---------------------


def test_compare_column_named_like_the_index_is_renamed(runner: CliRunner,
                                                        tmp_path: Path) -> None:
    specs = [str(CONFIGS / f"{n}.yaml") for n in ("cosine", "step", "onecycle")]
    out, js = tmp_path / "cmp.csv", tmp_path / "cmp.json"
    result = runner.invoke(app, ["compare", *specs, "-o", str(out), "-o", str(js)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["step", "cosine", "step/lr", "onecycle"]
    assert [r[0] for r in rows[1:4]] == ["0", "1", "2"]  # the index, not StepLR's lr
    assert list(json.loads(js.read_text())["series"]) == rows[0]


def test_wide_columns_stay_unique_with_groups_and_duplicates() -> None:
    import lrviz
    from lrviz.compare import wide_columns

    one = {"steps": 3, "scheduler": {"type": "StepLR", "step_size": 1}}
    two = {**one, "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 0.2}]}}
    traces = [lrviz.simulate({**one, "name": n}) for n in ("step", "x", "a", "a")]
    # no spec name has a slash today; the naming holds even if one did
    traces[1] = dataclasses.replace(traces[1], spec=dataclasses.replace(traces[1].spec,
                                                                        name="step/lr"))
    traces.append(lrviz.simulate({**two, "name": "b"}))
    names = [n for n, _ in wide_columns(traces)]
    assert names == ["step", "step/lr", "step/lr/lr", "a", "a/lr", "b/lr_0", "b/lr_1"]
    assert len(set(names)) == len(names)


# --- 2. every command takes only the options it honours ----------------------------------


@pytest.mark.parametrize(("args", "line"), [
    (["table", "step", "--step-size", "3", "--dpi", "300"],
     "error: --dpi: `lrviz table` draws no figure, so it takes no --dpi; `lrviz plot` does"),
    (["table", "step", "--log-y", "--step-size", "3"],
     "error: --log-y: `lrviz table` draws no figure, so it takes no --log-y; `lrviz plot` does"),
    (["table", "step", "--step-size", "3", "--size=5x3"],
     "error: --size: `lrviz table` draws no figure, so it takes no --size; `lrviz plot` does"),
    (["code", "step", "--step-size", "3", "--terminal"],
     "error: --terminal: `lrviz code` draws no figure, so it takes no --terminal; "
     "`lrviz plot` does"),
    (["code", "step", "--step-size", "3", "--linear-y"],
     "error: --linear-y: `lrviz code` draws no figure, so it takes no --linear-y; "
     "`lrviz plot` does"),
    (["table", "step", "--step-size", "3", "-o", "t.png"],
     "error: -o t.png: `lrviz table` writes .md .csv .json, got '.png'; figures come from "
     "`lrviz plot`"),
    (["code", "step", "--step-size", "3", "--every", "2"],
     "error: --every: unknown option for StepLR (did you mean '--seed'?); "
     "`lrviz code step --help` lists them"),
])
def test_options_of_other_commands_are_refused(runner: CliRunner, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               args: list[str], line: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert err(result) == line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("command", "listed", "left_out"), [
    ("plot", ["--log-y", "--linear-y", "--size", "--dpi", "--terminal", "--output"], []),
    ("table", ["--every", "--all", "--output"],
     ["--log-y", "--linear-y", "--size", "--dpi", "--terminal"]),
    ("code", ["--output FILE.py"], ["--log-y", "--linear-y", "--size", "--dpi", "--terminal",
                                   "--every"]),
])
def test_help_lists_only_the_commands_options(runner: CliRunner, command: str,
                                              listed: list[str], left_out: list[str]) -> None:
    for args in ([command, "--help"], [command, "cosine", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0
        for flag in [*listed, "--steps", "--epochs", "--lr"]:
            assert flag in result.stdout, (args, flag)
        for flag in left_out:
            assert flag not in result.stdout, (args, flag)


def test_code_accepts_an_output_path() -> None:
    from lrviz.flags import parse

    inv = parse(["cosine", "--t-max", "10", "-o", "sched.py"], command="code")
    assert inv.outputs == [Path("sched.py")]


def test_table_still_writes_its_formats(runner: CliRunner, tmp_path: Path) -> None:
    outs = [tmp_path / f"t.{s}" for s in ("md", "csv", "json")]
    result = runner.invoke(app, ["table", "step", "--step-size", "3", "--steps", "7",
                                 *[a for p in outs for a in ("-o", str(p))]])
    assert result.exit_code == 0, result.output
    assert all(p.stat().st_size for p in outs)


# --- 5. a list of lrs points to param_groups -----------------------------------------------


def test_a_list_of_lrs_points_to_param_groups(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "groups.yaml"
    spec.write_text("steps: 5\noptimizer: {lr: [1e-5, 3e-5, 1e-4, 1e-3]}\n"
                    "scheduler: {type: StepLR, step_size: 2}\n")
    result = runner.invoke(app, ["plot", str(spec), "-o", str(tmp_path / "g.csv")])
    assert result.exit_code == 2
    assert err(result) == (
        f"error: {spec}: optimizer.lr: expected one number, got a list of 4; one lr per "
        "param group goes in optimizer.param_groups: "
        "`param_groups: [{lr: 1e-05}, {lr: 3e-05}, {lr: 0.0001}, ...]`")
    # and what it says to write works
    spec.write_text("steps: 5\noptimizer: {param_groups: [{lr: 1e-05}, {lr: 3e-05}]}\n"
                    "scheduler: {type: StepLR, step_size: 2}\n")
    ok = runner.invoke(app, ["plot", str(spec), "-o", str(tmp_path / "g.csv")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "g.csv").read_text().splitlines()[0] == "step,lr_0,lr_1"


# --- 6. --epochs is a run flag --------------------------------------------------------------


def test_epochs_flag_sets_the_run_length(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    result = runner.invoke(app, ["plot", "step", "--step-size", "3", "--epochs", "3",
                                 "--steps-per-epoch", "4", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = out.read_text().splitlines()
    assert rows[0] == "step,epoch,lr" and len(rows) == 1 + 12


def test_epochs_flag_beats_the_files_steps(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    result = runner.invoke(app, ["plot", str(CONFIGS / "warmup_plateau.yaml"), "--epochs",
                                 "10", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 1 + 10 * 100


def test_epochs_flag_reaches_onecycles_own_epochs() -> None:
    from lrviz.flags import parse

    spec = parse(["onecycle", "--max-lr", "0.1", "--epochs", "10",
                  "--steps-per-epoch", "100"]).spec()
    assert spec.steps == 1000
    assert spec.scheduler.params["epochs"] == 10


def test_steps_and_epochs_together_are_refused(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plot", "cosine", "--epochs", "3", "--steps", "10"])
    assert result.exit_code == 2
    assert err(result) == "error: --epochs: give the run's length as --steps or as --epochs, " \
                          "not both"


def test_epoch_stepped_runs_speak_of_epochs(runner: CliRunner) -> None:
    result = runner.invoke(app, ["table", str(CONFIGS / "warmup_plateau.yaml")])
    assert result.exit_code == 0, result.output
    assert "warmup ends (5 epochs)" in result.stdout
    assert "no improvement for 5 epochs: lr 0.1 -> 0.05" in result.stdout
    assert " steps" not in result.stdout


def test_figure_labels_say_epochs_and_step_runs_still_say_steps() -> None:
    import lrviz
    from lrviz.events import events
    from lrviz.render.figure import figure

    trace = lrviz.simulate(str(CONFIGS / "warmup_plateau.yaml"))
    texts = [t.get_text() for ax in figure(trace).axes for t in ax.texts]
    assert any("warmup ends (5 epochs)" in t for t in texts), texts
    by_step = {"steps": 40, "warmup": {"steps": 1}, "scheduler": {
        "type": "SequentialLR", "milestones": [5],
        "schedulers": [{"type": "LinearLR", "total_iters": 3}, {"type": "StepLR", "step_size": 9}]}}
    labels = [e.label for e in events(lrviz.as_spec(by_step))]
    assert "warmup ends (1 step)" in labels
    assert "LinearLR: end of the 3-step ramp" in labels
    by_epoch = {**by_step, "steps_per_epoch": 2, "steps": 80}
    by_epoch["scheduler"] = {**by_step["scheduler"], "interval": "epoch"}  # type: ignore[dict-item]
    labels = [e.label for e in events(lrviz.as_spec(by_epoch))]
    assert "warmup ends (1 epoch)" in labels
    assert "LinearLR: end of the 3-epoch ramp" in labels
    plateau = lrviz.simulate({"steps": 40, "scheduler": {"type": "plateau", "patience": 2}})
    assert any("no improvement for 3 steps" in e.label for e in events(plateau.spec, plateau))


# --- 13. help and edges -----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["plot", "table", "code"])
def test_free_command_without_a_target_is_a_usage_error(runner: CliRunner,
                                                       command: str) -> None:
    result = runner.invoke(app, [command])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Usage: lrviz {command} SCHEDULER|SPEC.yaml [OPTIONS]",
        f"error: {command}: missing SCHEDULER|SPEC.yaml (`lrviz {command} --help` lists the "
        "schedulers and options)",
    ]
    assert result.stdout == ""


def test_missing_column_names_the_flag_to_type(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("loss,acc\n1,0.5\n0.9,0.6\n")
    result = runner.invoke(app, ["plot", "plateau", "--metric-file", str(log), "--steps", "2",
                                 "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert err(result) == (f"error: --metric-column: {log} has several columns; name one of: "
                           "'loss', 'acc'")
    alone = runner.invoke(app, ["plot", "plateau", "--metric-column", "loss"])
    assert alone.exit_code == 2
    assert err(alone) == ("error: --metric-column: a column needs its file: give `file:` "
                          "(--metric-file) beside it")


def test_check_of_a_missing_file_does_not_count_specs(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", "nope.yaml"])
    assert result.exit_code == 2
    assert err(result) == "error: nope.yaml: no such spec file"
    assert "checked" not in result.stdout


def test_warmup_zero_is_no_warmup(runner: CliRunner, tmp_path: Path) -> None:
    import lrviz

    spec = {"steps": 20, "scheduler": {"type": "cosine", "T_max": 20}}
    plain = lrviz.simulate(spec).lr.tolist()
    assert lrviz.simulate({**spec, "warmup": {"steps": 0}}).lr.tolist() == plain
    out = tmp_path / "sweep.csv"
    result = runner.invoke(app, ["compare", str(CONFIGS / "cosine.yaml"), "--sweep",
                                 "warmup.steps=0,10", "-o", str(out)])
    assert result.exit_code == 0, result.output
    header = out.read_text().splitlines()[0]
    assert header == "step,warmup.steps=0,warmup.steps=10"
    baseline = [float(r.split(",")[1]) for r in out.read_text().splitlines()[1:]]
    assert baseline == lrviz.simulate(str(CONFIGS / "cosine.yaml")).lr.tolist()


def test_a_bad_number_is_refused_before_torch_is_imported(tmp_path: Path) -> None:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "lrviz", "plot", "cosine",
                           "--t-max", "abc"], capture_output=True, text=True, cwd=tmp_path,
                          check=False)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    imported = {line.split("|")[-1].strip() for line in lines if line.startswith("import time:")}
    assert "torch" not in imported
    assert [x for x in lines if not x.startswith("import time:")] == [
        "error: --t-max: expected a number, got 'abc'"]
    assert time.perf_counter() - start < 10  # generous: the machine is shared


@pytest.mark.parametrize(("command", "usage", "shown"), [
    ("check", "check [OPTIONS] SPEC.yaml...", ["--format text|json"]),
    ("compare", "compare [OPTIONS] [SPEC|RUN...]",
     ["-o, --output FILE", "--layout overlay|grid", "--steps N", "--sweep KEY=V1,V2,...",
      "--title TEXT"]),
    ("gallery", "gallery [OPTIONS] [DIR]", ["-o, --output OUTDIR"]),
    ("list", "list [OPTIONS] [NAME]", ["NAME"]),
    ("schema", "schema [OPTIONS]", []),
])
def test_help_shows_metavars_not_python_types(runner: CliRunner, command: str, usage: str,
                                              shown: list[str]) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert usage in result.stdout.splitlines()[0]
    for text in shown:
        assert text in result.stdout, text
    for python in ("<str>", "<int>", "<path>", "list[", "<list", "{SPEC"):
        assert python not in result.stdout, python


def test_custom_class_help_is_its_own_docstring_or_nothing(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "mine.py").write_text(
        "from torch.optim.lr_scheduler import LRScheduler, StepLR\n\n"
        "class Bare(LRScheduler):\n"
        "    def get_lr(self):\n"
        "        return [g['lr'] for g in self.optimizer.param_groups]\n\n"
        "class Said(StepLR):\n"
        "    '''Step, but said.\n\n    More text.'''\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "mine", raising=False)
    bare = runner.invoke(app, ["plot", "mine:Bare", "--allow-import", "--help"])
    assert bare.exit_code == 0, bare.output
    assert bare.stdout.splitlines()[2] == "mine.Bare"
    assert "Adjusts" not in bare.stdout and "learning rate" not in bare.stdout.lower()
    said = runner.invoke(app, ["list", "mine:Said"])
    assert said.exit_code == 2  # list never imports
    said = runner.invoke(app, ["plot", "mine:Said", "--allow-import", "--help"])
    assert said.stdout.splitlines()[2] == "mine.Said: Step, but said."


def test_readme_names_every_commands_own_option() -> None:
    from lrviz import flags

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for flag in (*flags.RUN_FLAGS, *flags.FIGURE_FLAGS, *flags.TABLE_FLAGS):
        assert f"`{flag.flag}" in readme or f"/{flag.flag}`" in readme, flag.flag
    assert "`code` takes `-o FILE.py`" in readme


def test_completion_offers_only_the_commands_options() -> None:
    from lrviz.flags import complete

    # the training loop's flags are every command's; --dpi is plot's own
    assert complete(["step"], "--d", command="table") == ["--dataset-size", "--debug",
                                                          "--drop-last"]
    assert complete(["step"], "--d", command="plot") == ["--dataset-size", "--debug", "--dpi",
                                                         "--drop-last"]
    assert complete(["step"], "--e", command="code") == ["--epochs"]
