"""The command line, through CliRunner: outputs, exit codes and the exact error lines."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lrviz.cli import app

CYCLIC = ["plot", "cyclic", "--base-lr", "1e-4", "--max-lr", "1e-2", "--step-size-up", "200",
          "--mode", "triangular2"]


def run(runner: CliRunner, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_mission_example_writes_every_format(runner: CliRunner, tmp_path: Path) -> None:
    outs = [tmp_path / f"c.{ext}" for ext in ("csv", "png", "svg", "pdf", "json", "md")]
    result = run(runner, *CYCLIC, *[a for p in outs for a in ("-o", str(p))])
    assert result.exit_code == 0, result.output
    for path in outs:
        assert path.stat().st_size > 0
        assert str(path) in result.stdout
    rows = list(csv.DictReader(outs[0].read_text().splitlines()))
    assert list(rows[0]) == ["step", "lr", "momentum"]
    assert len(rows) == 800  # two triangular2 cycles, chosen because --steps was not given
    assert "simulating 800 steps" in result.stderr
    assert outs[1].read_bytes().startswith(b"\x89PNG")
    assert outs[3].read_bytes().startswith(b"%PDF")
    data = json.loads(outs[4].read_text())
    assert data["meta"]["spec"]["scheduler"]["type"] == "CyclicLR"
    assert data["meta"]["torch"]
    assert data["series"]["lr"] == [float(r["lr"]) for r in rows]
    assert outs[5].read_text().startswith("| step | lr | momentum |")


def test_without_output_writes_name_png_and_prints_it(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(runner, "plot", "step", "--step-size", "3", "--steps", "10")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "step.png"
    assert (tmp_path / "step.png").exists()


def test_yaml_spec_with_flag_override(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "cos.yaml"
    spec.write_text("steps: 20\nscheduler: {type: CosineAnnealingLR, T_max: 10}\n")
    out = tmp_path / "cos.csv"
    result = run(runner, "plot", str(spec), "--steps", "5", "--eta-min", "0.01", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 5
    data_json = tmp_path / "cos.json"
    run(runner, "plot", str(spec), "--eta-min", "0.01", "-o", str(data_json))
    scheduler = json.loads(data_json.read_text())["meta"]["spec"]["scheduler"]
    assert scheduler == {"type": "CosineAnnealingLR", "T_max": 10, "eta_min": 0.01,
                         "interval": "step"}


def test_torch_spelling_of_flags_is_accepted(runner: CliRunner, tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    run(runner, "plot", "cosine", "--t-max", "7", "--steps", "9", "-o", str(a))
    run(runner, "plot", "cosine", "--T_max", "7", "--steps", "9", "-o", str(b))
    assert a.read_text() == b.read_text()


def test_comma_lr_gives_param_groups(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "g.csv"
    result = run(runner, "plot", "step", "--step-size", "2", "--steps", "4", "--lr", "0.1,0.01",
                 "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == "step,lr_0,lr_1"


def test_same_spec_gives_identical_files(runner: CliRunner, tmp_path: Path) -> None:
    for name in ("a", "b"):
        outs = [str(tmp_path / f"{name}.{ext}") for ext in ("png", "svg", "pdf", "csv", "json")]
        run(runner, *CYCLIC, "--steps", "300", *[x for p in outs for x in ("-o", p)])
    for ext in ("png", "svg", "pdf", "csv", "json"):
        assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes(), ext


# Each bad input: the arguments, the exact error line, the exit code.
BAD = [
    (["plot", "cyclc"],
     "error: cyclc: unknown scheduler 'cyclc' (did you mean 'cyclic'?); "
     "`lrviz list` shows them all", 2),
    (["plot", "cyclic", "--base-lr", "1e-2", "--max-lr", "1e-4"],
     "error: --base-lr: base_lr (0.01) is above max_lr (0.0001); expected base_lr <= max_lr", 2),
    (["plot", "cyclic", "--base-lr", "1e-4", "--max-lr", "1e-2", "--step-size-up", "0"],
     "error: --step-size-up: expected an integer >= 1, got 0", 2),
    (["plot", "cyclic", "--max-lr", "1e-2"],
     "error: --base-lr: CyclicLR requires base_lr: lower bound of the cycle", 2),
    (["plot", "cyclic", "--base-lr", "nan", "--max-lr", "1e-2"],
     "error: --base-lr: expected a finite number, got nan", 2),
    (["plot", "cosine", "--steps", "0"], "error: --steps: expected an integer >= 1, got 0", 2),
    (["plot", "step", "--step-size", "-3"],
     "error: --step-size: expected an integer >= 1, got -3", 2),
    (["plot", "cosine", "--stesp", "10"],
     "error: --stesp: unknown option for CosineAnnealingLR (did you mean '--steps'?); "
     "`lrviz plot cosine --help` lists them", 2),
    (["plot", "cosine", "--t-max", "10", "-o", "x.foo"],
     "error: -o x.foo: unknown output format '.foo'; expected one of "
     ".png .svg .pdf .csv .json .md", 2),
    (["plot", "onecycle", "--max-lr", "0.1", "--total-steps", "10", "--steps", "20"],
     "error: OneCycleLR.step() failed after step 10: Tried to step 11 times. "
     "The specified number of total steps is 10", 1),
    (["plot", "step", "--step-size", "3", "--optimizer", "adamm"],
     "error: --optimizer: unknown optimizer 'adamm' (did you mean 'Adam'?)", 2),
    (["plot", "lambda", "--lr-lambda", "__import__('os').system('touch pwned')"],
     "error: --lr-lambda: function calls are limited to", 2),
    (["plot", "sequential"],
     "error: sequential: SequentialLR needs nested schedulers, written as a `schedulers:` "
     "list in a YAML spec", 2),
    (["plot", "plateau", "--metric", "plateau-los"],
     "error: --metric: unknown generator 'plateau-los' (did you mean 'plateau-loss'?)", 2),
    (["plot", "plateau", "--metric-param", "noise"],
     "error: --metric-param: expected KEY=VALUE, got 'noise'", 2),
    (["plot", "plateau", "--metric-param", "nosie=0.1"],
     "error: --metric-param nosie: unknown key (did you mean 'noise'?)", 2),
    (["plot", "cosine", "--warmup=-1"],
     "error: --warmup: expected an integer >= 0 (0: no warmup), got -1", 2),
    (["plot", "step", "--step-size", "3", "--steps", "10000000000"],
     "error: --steps: 10000000000 steps would need about", 2),
    # absurd sizes: the memory cap counts param groups, and groups have a cap of their own
    (["plot", "step", "--step-size", "3", "--steps", "40000000", "--lr", "0.1,0.01,0.001"],
     "error: --steps: 40000000 steps of 3 param groups would need about", 2),
    # a training loop is held to the cap before any array of its rows is made (found by
    # mutating the example specs: epochs 1e308 raised OverflowError, 10^11 MemoryError)
    (["plot", "cosine", "--framework", "lightning", "--dataset-size", "800",
      "--epochs", "1e308"],
     "error: training: over 10^15 steps would need over 1000 TB of memory; the cap is "
     "50000000 steps of one group (raise it with --limit-steps)", 2),
    (["plot", "cosine", "--framework", "hf-trainer", "--dataset-size", "10000",
      "--batch-size", "8", "--grad-accum", "4", "--epochs", "99999999999"],
     "error: training: 31299999999687 steps would need about 683 TB of memory", 2),
    (["plot", "cosine", "--steps", "1e308"],
     "error: --steps: expected an integer of at most 9007199254740992, got '1e308'", 2),
    (["plot", "step", "--step-size", "3", "--lr", ",".join(["0.1"] * 1001)],
     "error: --lr: 1001 param groups; expected at most 1000", 2),
    # a flag without its value, and list items named by their flag
    (["plot", "cosine", "--t-max", "-o", "x.csv"],
     "error: --t-max: expected a value after it, got the option -o", 2),
    (["plot", "multistep", "--milestones", "10,,x"],
     "error: --milestones (item 2): expected a number, got ''", 2),
    (["plot", "multistep", "--milestones", "10,-5"],
     "error: --milestones (item 2): expected an integer >= 0, got -5", 2),
    # expressions: overflow and non-finite results name their key, nothing is executed
    (["plot", "lambda", "--lr-lambda", "9 ** 9 ** 9 ** 9"],
     "error: --lr-lambda: torch rejected LambdaLR: expression '9 ** 9 ** 9 ** 9': numeric "
     "overflow", 2),
    (["plot", "lambda", "--lr-lambda", "1e308 * 10"],
     "error: --lr-lambda: torch rejected LambdaLR: expression '1e308 * 10': the result is inf",
     2),
    (["plot", "lambda", "--lr-lambda", "().__class__.__bases__[0]"],
     "error: --lr-lambda: ", 2),
    (["plot", "lambda", "--lr-lambda", "[epoch for epoch in range(10**9)]"],
     "error: --lr-lambda: ", 2),
    (["plot", "lambda", "--lr-lambda", "'a' * 10 ** 9"], "error: --lr-lambda: ", 2),
    (["plot", "lambda", "--lr-lambda", "lambda: 0"], "error: --lr-lambda: ", 2),
    (["plot", "lambda", "--lr-lambda", "(" * 600 + "1" + ")" * 600],
     "error: --lr-lambda: expression too long (1201 characters, at most 1000)", 2),
    (["plot", "cyclic", "--base-lr", "1e-4", "--max-lr", "1e-2", "--scale-fn", "open('x')"],
     "error: --scale-fn: ", 2),
    (["plot", "lambda", "--lr-lambda", "1 / (epoch - 3)", "--steps", "10"],
     "error: LambdaLR.step() failed after step 2: expression '1 / (epoch - 3)': division by "
     "zero at epoch = 3", 1),
    # typos, zero and negative periods, inverted ranges, wrong types
    (["plot", "cosine-restart", "--t-0", "10"],
     "error: cosine-restart: unknown scheduler 'cosine-restart' (did you mean "
     "'cosine-restarts'?)", 2),
    (["plot", "cosine-restarts", "--t-0", "10", "--t-mult", "0"],
     "error: --t-mult: expected an integer >= 1, got 0", 2),
    (["plot", "cosine", "--t-max", "0"], "error: --t-max: expected an integer >= 1, got 0", 2),
    (["plot", "cosine", "--eta-min", "-1e-3"],
     "error: --eta-min: expected a number >= 0, got -0.001", 2),
    (["plot", "onecycle", "--max-lr", "0.1", "--pct-start", "1.5"],
     "error: --pct-start: expected a number <= 1, got 1.5", 2),
    (["plot", "onecycle", "--max-lr", "0.1", "--base-momentum", "0.99"],
     "error: --base-momentum: expected base_momentum <= max_momentum", 2),
    (["plot", "cyclic", "--base-lr", "1e-4,1e-3", "--max-lr", "1e-2,1e-4", "--lr", "0.1,0.1"],
     "error: --base-lr: base_lr (0.001) is above max_lr (0.0001) in param group 1", 2),
    (["plot", "step", "--step-size", "2.5"], "error: --step-size: expected an integer, got", 2),
    (["plot", "step", "--step-size", "3", "--gamma", "abc"],
     "error: --gamma: expected a number, got 'abc'", 2),
    (["plot", "cyclic", "--base-lr", "1e-4", "--max-lr", "1e-2", "--mode", "triangle"],
     "error: --mode: expected one of triangular, triangular2, exp_range, got 'triangle'", 2),
    (["plot", "step", "--step-size", "3", "--interval", "epochs"],
     "error: --interval: expected one of step, epoch, got 'epochs'", 2),
    (["plot", "plateau", "--metric", "staircase", "--metric-param", "length=0"],
     "error: --metric-param length: expected a number >= 1, got 0", 2),
    (["plot", "plateau", "--metric-file", "missing.csv"], "error: --metric-file: no such file", 2),
    (["plot", "step", "--step-size", "3", "--lr", "-0.1"],
     "error: --lr: expected a learning rate >= 0, got -0.1", 2),
    # outputs that cannot be written
    (["plot", "step", "--step-size", "3", "-o", "no/such/dir/x.png"], "error: -o no/such/dir", 2),
    (["plot", "step", "--step-size", "3", "-o", "x.xlsx"],
     "error: -o x.xlsx: unknown output format '.xlsx'", 2),
    # custom classes: refused without --allow-import, and nothing is imported
    (["plot", "os:system"], "error: os:system: 'os:system' names a Python class; importing it "
     "runs that module's code, so lrviz does it only when you pass --allow-import", 2),
]


@pytest.mark.parametrize(("args", "line", "code"), BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_input_is_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    args: list[str], line: str, code: int,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(runner, *args)
    assert result.exit_code == code, result.output
    errors = [x for x in result.stderr.splitlines() if not x.startswith("note:")]
    assert len(errors) == 1 and errors[0].startswith(line), result.stderr
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing executed


BAD_YAML = [
    ("scheduler:\n  type: CyclicLR\n  base_lr: 1e-4\n  max_lr: 1e-2\n  step_size_up: 0\n",
     "s.yaml: scheduler.step_size_up: expected an integer >= 1, got 0"),
    ("scheduler:\n  type: CyclicLR\n  base_lr: 1e-4\n  max_lr: 1e-2\n  step_sze_up: 10\n",
     "s.yaml: scheduler.step_sze_up: unknown key (did you mean 'step_size_up'?)"),
    ("scheduler:\n  type: CyclicLR\n  base_lr: [1e-4\n",
     "s.yaml: invalid YAML at line 4, column 1"),
    ("scheduler: !!python/object/apply:os.system ['touch pwned']\n",
     "s.yaml: invalid YAML at line 1, column 12: could not determine a constructor"),
    ("stepz: 3\nscheduler: {type: step, step_size: 3}\n",
     "s.yaml: stepz: unknown key (did you mean 'steps'?)"),
    ("", "s.yaml: the file is empty"),
    ("- 1\n- 2\n", "s.yaml: expected a mapping of spec keys"),
    ("steps: 10\n", "s.yaml: missing the `scheduler:` key"),
    ("scheduler: {type: StepLR, step_size: 3}\noptimizer: {type: SGD, momentun: 0.9}\n",
     "s.yaml: optimizer.momentun: SGD takes no keyword 'momentun' (did you mean 'momentum'?)"),
    ("scheduler: {type: ReduceLROnPlateau}\nmetric: {file: nothere.csv}\n",
     "s.yaml: metric.file: no such file:"),
    ("steps: 5\nscheduler: {type: ReduceLROnPlateau}\nmetric: {values: [1, 2]}\n",
     "s.yaml: metric: expected at least 5 metric values (one per scheduler step), got 2"),
    ("scheduler:\n  type: SequentialLR\n  milestones: [10, 20]\n  schedulers:\n"
     "    - {type: ConstantLR}\n    - {type: ExponentialLR, gamma: 0.9}\n",
     "s.yaml: scheduler.milestones: expected 1 milestone(s) for 2 schedulers, got 2"),
    ("scheduler: {type: StepLR, step_size: 3, gamma: .inf}\n",
     "s.yaml: scheduler.gamma: expected a finite number, got inf"),
    ("scheduler: {type: StepLR, step_size: 3, gamma: .nan}\n",
     "s.yaml: scheduler.gamma: expected a finite number, got nan"),
    ("scheduler: {type: StepLR, step_size: 3, gamma: 1e999}\n",
     "s.yaml: scheduler.gamma: expected a finite number, got inf"),
    # YAML tags and alias bombs: nothing constructed, nothing expanded
    ("scheduler: !!python/name:os.system\n",
     "s.yaml: invalid YAML at line 1, column 12: could not determine a constructor"),
    ("scheduler: {type: StepLR, step_size: !!python/object/new:int [3]}\n",
     "s.yaml: invalid YAML at line 1, column 38: could not determine a constructor"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, "
     "*c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, "
     "*e, *e, *e, *e, *e]\ntitle: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
     "scheduler: {type: StepLR, step_size: 3}\n",
     "s.yaml: f: expands to more than 1000000 values (through YAML aliases?)"),
    ("steps: 10\nsteps: 20\nscheduler: {type: StepLR, step_size: 3}\n",
     "s.yaml: line 2: key 'steps' is given twice (first on line 1)"),
    ("title: [a, b]\nscheduler: {type: StepLR, step_size: 3}\n",
     "s.yaml: title: expected a line of text, got a list"),
    ("scheduler: StepLR\n", "s.yaml: scheduler: expected a mapping, got"),
    ("scheduler: {type: [StepLR]}\n", "s.yaml: scheduler.type: expected a scheduler name"),
    ("scheduler: {type: StepLR, step_size: true}\n", "s.yaml: scheduler.step_size: expected an "
     "integer, got true"),
    ("scheduler: {type: MultiStepLR, milestones: {a: 1}}\n",
     "s.yaml: scheduler.milestones: expected a list of integers"),
    ("scheduler: {type: StepLR, step_size: 3}\noptimizer: {type: Adam, betas: [0.9]}\n",
     "s.yaml: optimizer.betas: expected 2 values"),
    ("scheduler: {type: StepLR, step_size: 3}\noptimizer: {type: SGD, nesterov: [1]}\n",
     "s.yaml: optimizer.nesterov: expected true or false"),
    ("scheduler: {type: StepLR, step_size: 3}\noptimizer: {param_groups: 3}\n",
     "s.yaml: optimizer.param_groups: expected a non-empty list"),
    ("scheduler: {type: ReduceLROnPlateau}\nmetric: {values: [1, .nan, 2]}\n",
     "s.yaml: metric.values[1]: expected a finite number"),
    ("scheduler: {type: StepLR, step_size: 3}\nsteps_per_epoch: 0\n",
     "s.yaml: steps_per_epoch: expected an integer >= 1, got 0"),
    ("scheduler: {type: 'mypkg.sched:Warm'}\n", "s.yaml: scheduler.type: 'mypkg.sched:Warm' "
     "names a Python class"),
    ("warmup: {steps: 500}\nsteps: 100\nscheduler: {type: StepLR, step_size: 3}\n",
     "s.yaml: warmup.steps: the warmup (500 scheduler steps) is at least as long as the run"),
    ("\x00\x01binary", "s.yaml: invalid YAML: unacceptable character #x0000"),
]


@pytest.mark.parametrize(("text", "line"), BAD_YAML)
def test_bad_yaml_is_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(text)
    Path("keep.csv").write_text("precious\n")
    result = run(runner, "plot", "s.yaml", "-o", "keep.csv")
    assert result.exit_code == 2, result.output
    errors = [x for x in result.stderr.splitlines() if not x.startswith("note:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {line}"), result.stderr
    assert Path("keep.csv").read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv", "s.yaml"]


def test_usage_errors_of_the_command_itself_are_one_line() -> None:
    done = subprocess.run([sys.executable, "-m", "lrviz", "plto", "cosine"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr == "error: No such command 'plto'. Did you mean 'plot'?\n"


def test_failed_run_keeps_existing_output(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    out.write_text("old\n")
    result = run(runner, "plot", "onecycle", "--max-lr", "0.1", "--total-steps", "5",
                 "--steps", "9", "-o", str(out))
    assert result.exit_code == 1
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_debug_shows_the_traceback(runner: CliRunner) -> None:
    result = run(runner, "plot", "step", "--step-size", "0", "--debug")
    assert result.exit_code != 0
    assert result.exception is not None


def test_help_lists_every_parameter_with_torch_default(runner: CliRunner) -> None:
    result = run(runner, "plot", "cyclic", "--help")
    assert result.exit_code == 0
    for flag in ("--base-lr", "--max-lr", "--step-size-up", "--step-size-down", "--mode",
                 "--gamma", "--scale-fn", "--scale-mode", "--cycle-momentum",
                 "--base-momentum", "--max-momentum", "--steps", "--output"):
        assert flag in result.stdout
    assert "[2000]" in result.stdout and "[triangular]" in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["plot", "--help"], ["list"],
                                  ["list", "onecycle"], ["plot", "cosine", "-h"]])
def test_help_and_list_work(runner: CliRunner, args: list[str]) -> None:
    result = run(runner, *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()


def test_list_names_every_scheduler(runner: CliRunner) -> None:
    from lrviz.catalog import SCHEDULERS_TABLE

    out = run(runner, "list").stdout
    for sched in SCHEDULERS_TABLE:
        assert sched.name in out


@pytest.mark.parametrize("args", [["--help"], ["list"], ["plot", "cyclic", "--help"]])
def test_help_imports_neither_torch_nor_matplotlib(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lrviz", *args],
        capture_output=True, text=True, check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "torch" not in imported
    assert "matplotlib" not in imported
    assert "numpy" not in imported


def test_python_dash_m_is_the_same_program(tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "lrviz", "plot", "exponential", "--gamma", "0.5", "--steps", "3",
         "-o", str(out)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == "step,lr\n0,0.1\n1,0.05\n2,0.025\n"


def test_plot_prints_what_check_finds(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "plot", "exponential", "--gamma", "1.01", "--steps", "10", "-o",
                 str(tmp_path / "x.csv"))
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: gamma 1.01 > 1: ExponentialLR multiplies the lr up")
