"""training.resume (README "Resume"): the resumed process's lr is torch's own.

``restore: full`` must continue every schedule exactly; the other modes must equal a save and
load written here by hand with torch alone (fresh objects, ``load_state_dict`` or
``last_epoch``), float for float.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from torch.optim import lr_scheduler as S
from typer.testing import CliRunner

import lrviz
from lrviz.build import build_spec
from lrviz.cli import app
from lrviz.engine import simulate

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))
STEPS, AT = 100, 37


def resumed(raw: dict[str, Any], at: int, restore: str) -> lrviz.Trace:
    training = {**raw.get("training", {}), "resume": {"at": at, "restore": restore}}
    return simulate(build_spec({**raw, "training": training}))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_full_restore_continues_exactly(path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    plain = simulate(build_spec(raw))
    for at in (1, plain.steps // 3, plain.steps - 1):
        trace = resumed(raw, at, "full")
        assert np.array_equal(trace.lrs, plain.lrs)
        assert trace.lrs_resumed is not None
        assert np.array_equal(trace.lrs_resumed, plain.lrs), (path.stem, at)


# --- the reference: torch alone -------------------------------------------------------

Make = Callable[[torch.optim.Optimizer, int], Any]  # (optimizer, last_epoch) -> scheduler


def _sgd() -> torch.optim.Optimizer:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    opt._opt_called = True  # type: ignore[attr-defined]
    return opt


def reference(make: Make, restore: str, metric: float | None = None) -> list[float]:
    """100 rows, saved after row 36, resumed in fresh objects at row 37."""
    opt = _sgd()
    sched = make(opt, -1)
    lrs = []

    def step(s: Any) -> None:
        s.step(metric) if metric is not None else s.step()

    for _ in range(AT):
        lrs.append(opt.param_groups[0]["lr"])
        step(sched)
    opt_state = copy.deepcopy(opt.state_dict())
    sched_state = copy.deepcopy(sched.state_dict())
    opt = _sgd()
    if restore == "rebuild":
        for key in ("initial_lr", "max_lr", "min_lr", "base_momentum", "max_momentum"):
            if key in opt_state["param_groups"][0]:
                opt.param_groups[0][key] = opt_state["param_groups"][0][key]
        sched = make(opt, sched_state["last_epoch"] - 1)
    else:
        sched = make(opt, -1)
        if restore in ("full", "optimizer"):
            opt.load_state_dict(opt_state)
        if restore in ("full", "scheduler"):
            sched.load_state_dict(sched_state)
    for _ in range(AT, STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        step(sched)
    return lrs


def _seq(opt: torch.optim.Optimizer, last: int) -> Any:
    return S.SequentialLR(opt, [S.LinearLR(opt, 0.01, 1.0, 10),
                                S.CosineAnnealingLR(opt, 90)], [10], last_epoch=last)


CASES: dict[str, tuple[dict[str, Any], Make]] = {
    "cosine": ({"type": "CosineAnnealingLR", "T_max": 100},
               lambda o, e: S.CosineAnnealingLR(o, 100, last_epoch=e)),
    "multistep": ({"type": "MultiStepLR", "milestones": [30, 60], "gamma": 0.1},
                  lambda o, e: S.MultiStepLR(o, [30, 60], 0.1, last_epoch=e)),
    "step": ({"type": "StepLR", "step_size": 10, "gamma": 0.5},
             lambda o, e: S.StepLR(o, 10, 0.5, last_epoch=e)),
    "exponential": ({"type": "ExponentialLR", "gamma": 0.97},
                    lambda o, e: S.ExponentialLR(o, 0.97, last_epoch=e)),
    "onecycle": ({"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 100},
                 lambda o, e: S.OneCycleLR(o, 0.1, total_steps=100, last_epoch=e)),
    "cyclic": ({"type": "CyclicLR", "base_lr": 0.001, "max_lr": 0.1, "step_size_up": 20},
               lambda o, e: S.CyclicLR(o, 0.001, 0.1, step_size_up=20, last_epoch=e)),
    "warm_restarts": ({"type": "CosineAnnealingWarmRestarts", "T_0": 30},
                      lambda o, e: S.CosineAnnealingWarmRestarts(o, 30, last_epoch=e)),
    "sequential": ({"type": "SequentialLR", "milestones": [10], "schedulers": [
        {"type": "LinearLR", "start_factor": 0.01, "end_factor": 1.0, "total_iters": 10},
        {"type": "CosineAnnealingLR", "T_max": 90}]}, _seq),
}


@pytest.mark.parametrize("restore", ["full", "scheduler", "optimizer", "rebuild"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_modes_equal_a_hand_written_save_and_load(name: str, restore: str) -> None:
    sched, make = CASES[name]
    raw = {"steps": STEPS, "scheduler": sched}
    trace = resumed(raw, AT, restore)
    assert trace.lrs_resumed is not None
    assert trace.lrs_resumed[0].tolist() == reference(make, restore)
    if restore == "full":
        assert trace.lrs_resumed[0].tolist() == trace.lrs[0].tolist()


def test_chained_scheduler_rebuild_passes_the_position_to_each_scheduler() -> None:
    raw = {"steps": STEPS, "scheduler": {"type": "ChainedScheduler", "schedulers": [
        {"type": "ExponentialLR", "gamma": 0.98}, {"type": "StepLR", "step_size": 25}]}}

    def make(o: torch.optim.Optimizer, e: int) -> Any:
        return S.ChainedScheduler([S.ExponentialLR(o, 0.98, last_epoch=e),
                                   S.StepLR(o, 25, last_epoch=e)], o)

    for restore in ("full", "scheduler", "optimizer"):
        trace = resumed(raw, AT, restore)
        assert trace.lrs_resumed[0].tolist() == reference(make, restore), restore
    opt = _sgd()
    first = reference(make, "full")[:AT]
    opt.param_groups[0]["initial_lr"] = 0.1
    chained = make(opt, AT - 1)  # both ExponentialLR and StepLR saved last_epoch == AT
    rest = []
    for _ in range(AT, STEPS):
        rest.append(opt.param_groups[0]["lr"])
        chained.step()
    assert resumed(raw, AT, "rebuild").lrs_resumed[0].tolist() == first + rest


def test_plateau_modes_equal_a_hand_written_save_and_load() -> None:
    raw = {"steps": STEPS, "scheduler": {"type": "ReduceLROnPlateau", "patience": 2},
           "metric": {"values": [1.0] * STEPS}}
    for restore in ("full", "scheduler", "optimizer", "rebuild"):
        trace = resumed(raw, AT, restore)
        expected = reference(lambda o, e: S.ReduceLROnPlateau(o, patience=2),
                             "full" if restore == "full" else
                             "scheduler" if restore == "scheduler" else
                             "optimizer" if restore == "optimizer" else "none", metric=1.0)
        assert trace.lrs_resumed[0].tolist() == expected, restore


def test_the_issues_numbers_at_step_37() -> None:
    """Restoring only the scheduler puts the lr back to its first value at step 37."""
    seq = resumed({"steps": STEPS, "scheduler": CASES["sequential"][0]}, AT, "scheduler")
    assert seq.lrs[0, AT] == pytest.approx(0.0794, abs=5e-5)
    assert seq.lrs_resumed[0, AT] == pytest.approx(0.001)
    one = resumed({"steps": STEPS, "scheduler": CASES["onecycle"][0]}, AT, "scheduler")
    assert one.lrs[0, AT] == pytest.approx(0.0968, abs=5e-5)
    assert one.lrs_resumed[0, AT] == pytest.approx(0.004)
    # CosineAnnealingLR never comes back to the planned curve: all 63 later rows differ
    cos = resumed({"steps": STEPS, "scheduler": CASES["cosine"][0]}, AT, "scheduler")
    assert int(np.sum(cos.lrs_resumed[0, AT:] != cos.lrs[0, AT:])) == STEPS - AT


def test_plateau_scheduler_restore_puts_1e8_back_to_0_1_for_21_steps() -> None:
    """The issue's ReduceLROnPlateau: a flat metric has cut the lr to eps's floor (1e-8)
    by step 37; a scheduler loaded alone starts from the fresh optimizer's 0.1 and its
    cuts take 21 steps to get back."""
    raw = {"steps": STEPS, "scheduler": {"type": "ReduceLROnPlateau", "patience": 2},
           "metric": {"values": [1.0] * STEPS}}
    trace = resumed(raw, AT, "scheduler")
    assert trace.lrs[0, AT] == pytest.approx(1e-8)
    assert trace.lrs_resumed[0, AT] == pytest.approx(0.1)
    differs = np.nonzero(trace.lrs_resumed[0] != trace.lrs[0])[0]
    assert differs.tolist() == list(range(AT, AT + 21))


# --- under training: frameworks ----------------------------------------------------------

LOOPS = {
    "hf-trainer": {"framework": "hf-trainer", "dataset_size": 1000, "batch_size": 8,
                   "grad_accum": 4, "epochs": 2},
    "accelerate": {"framework": "accelerate", "dataset_size": 1000, "batch_size": 8,
                   "world_size": 2, "epochs": 1},
    "lightning": {"framework": "lightning", "dataset_size": 400, "batch_size": 8,
                  "epochs": 4},
}


def loop_reference(make: Make, after: np.ndarray, at: int, restore: str) -> list[float]:
    """A torch loop that steps the scheduler ``after[row]`` times after each row, saved
    after row ``at - 1`` and resumed in fresh objects loading what ``restore`` names."""
    opt = _sgd()
    sched = make(opt, -1)
    lrs = []
    for row, calls in enumerate(after.tolist()):
        if row == at:
            opt_state = copy.deepcopy(opt.state_dict())
            sched_state = copy.deepcopy(sched.state_dict())
            opt = _sgd()
            sched = make(opt, -1)
            if restore in ("full", "optimizer"):
                opt.load_state_dict(opt_state)
            if restore in ("full", "scheduler"):
                sched.load_state_dict(sched_state)
        lrs.append(opt.param_groups[0]["lr"])
        for _ in range(calls):
            sched.step()
    return lrs


@pytest.mark.parametrize("restore", ["full", "scheduler", "optimizer"])
@pytest.mark.parametrize("case", ["cosine", "sequential", "step"])
@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_frameworks_resume_as_a_hand_written_loop(loop: str, case: str,
                                                   restore: str) -> None:
    raw = {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9},
           "scheduler": CASES[case][0], "training": LOOPS[loop]}
    spec = build_spec(raw)
    after = spec.plan.after
    at = len(after) // 3 + 1  # mid-epoch for every loop here
    assert 0 < after[:at].sum() < after.sum()  # the scheduler has stepped, and will again
    trace = resumed(raw, at, restore)
    plain = simulate(spec)
    assert trace.lrs.tolist() == plain.lrs.tolist()
    expected = loop_reference(CASES[case][1], after, at, restore)
    assert trace.lrs_resumed[0].tolist() == expected
    if restore == "full":  # a correct checkpoint continues exactly, float for float
        assert trace.lrs_resumed.tolist() == plain.lrs.tolist()
    elif case != "step":  # loading one state alone leaves a curve that moves every
        # scheduler step (StepLR under Lightning's 4 epoch steps never reaches a boundary)
        assert expected != plain.lrs[0].tolist()


def test_csv_has_lr_resumed_and_nothing_changes_without_resume(tmp_path: Path) -> None:
    runner = CliRunner()
    plain, resumed_csv = tmp_path / "a.csv", tmp_path / "b.csv"
    args = ["plot", "StepLR", "--step-size", "10", "--steps", "30"]
    assert runner.invoke(app, [*args, "-o", str(plain)]).exit_code == 0
    assert plain.read_text().splitlines()[0] == "step,lr"
    result = runner.invoke(app, [*args, "--resume-at", "15", "--restore", "scheduler",
                                 "-o", str(resumed_csv)])
    assert result.exit_code == 0, result.output
    rows = resumed_csv.read_text().splitlines()
    assert rows[0] == "step,lr,lr_resumed"
    assert rows[14] == "13,0.010000000000000002,0.010000000000000002"
    # StepLR loaded alone multiplies the fresh optimizer's 0.1 at its next boundary
    assert rows[16] == "15,0.010000000000000002,0.1"
    assert rows[22] == "21,0.0010000000000000002,0.010000000000000002"


@pytest.mark.parametrize(("flags", "message"), [
    (["--resume-at", "30"], "--resume-at: expected a row of the run, from 1 to 29, got 30"),
    (["--resume-at", "0"], "--resume-at: expected an integer >= 1, got 0"),
    (["--resume-at", "3", "--restore", "both"], "--restore: expected one of full, "
     "scheduler, optimizer, rebuild, got 'both'"),
])
def test_bad_resume_is_one_line_exit_2_and_nothing_written(
        tmp_path: Path, flags: list[str], message: str) -> None:
    out = tmp_path / "x.csv"
    result = CliRunner().invoke(app, ["plot", "StepLR", "--step-size", "10", "--steps", "30",
                                      *flags, "-o", str(out)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: {message}"]
    assert not out.exists()


def test_yaml_resume_key_names_the_key() -> None:
    with pytest.raises(lrviz.SpecError, match=r"^r.yaml: training.resume.restore"):
        from lrviz.build import build_file_spec
        build_file_spec({"steps": 10, "scheduler": {"type": "StepLR", "step_size": 2},
                         "training": {"resume": {"at": 3, "restore": "x"}}}, "r.yaml")


# --- the figure --------------------------------------------------------------------------

def _curves(ax: Any) -> list[Any]:
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 2]


def test_figure_draws_the_resumed_run_from_k_and_marks_the_step() -> None:
    from lrviz.render.figure import figure

    raw = {"steps": STEPS, "scheduler": CASES["sequential"][0]}
    trace = resumed(raw, AT, "scheduler")
    ax = figure(trace).axes[0]
    planned, again = _curves(ax)
    assert planned.get_label() == "uninterrupted run"
    assert again.get_label() == "resumed run (scheduler)"
    assert again.get_linestyle() != planned.get_linestyle()
    assert again.get_color() != planned.get_color()
    # from row K to the end of the axis, with the resumed process's values
    assert again.get_xdata()[0] == AT and again.get_xdata()[-1] == STEPS
    assert again.get_ydata()[0] == trace.lrs_resumed[0, AT] == pytest.approx(0.001)
    marks = [line for line in ax.get_lines()
             if line.get_label() == "resumed at step 37 (restore: scheduler)"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [AT, AT]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["uninterrupted run", "resumed run (scheduler)",
                      "resumed at step 37 (restore: scheduler)"]


def test_figure_of_several_groups_dashes_each_groups_resumed_line() -> None:
    from lrviz.render.figure import figure

    raw = {"steps": 50, "scheduler": {"type": "StepLR", "step_size": 10},
           "optimizer": {"type": "SGD", "param_groups": [{"lr": 0.1}, {"lr": 0.01}]}}
    trace = resumed(raw, 15, "optimizer")
    ax = figure(trace).axes[0]
    lines = _curves(ax)
    assert [line.get_label() for line in lines] == [
        "group 0 (lr 0.1)", "group 1 (lr 0.01)",
        "group 0 (lr 0.1), resumed", "group 1 (lr 0.01), resumed"]
    assert lines[2].get_color() == lines[0].get_color()
    assert lines[2].get_linestyle() != lines[0].get_linestyle()


def test_figure_without_resume_has_no_resume_lines() -> None:
    from lrviz.render.figure import figure

    ax = figure(simulate(build_spec({"steps": STEPS, "scheduler": CASES["cosine"][0]})))
    assert [line.get_label() for line in _curves(ax.axes[0])] == ["_child0"]
    assert ax.axes[0].get_legend() is None


# --- check --resume-at -------------------------------------------------------------------

WARMUP_COSINE = {"steps": STEPS, "optimizer": {"type": "SGD", "lr": 0.1},
                 "scheduler": {"type": "SequentialLR", "milestones": [10], "schedulers": [
                     {"type": "LinearLR", "start_factor": 0.01, "total_iters": 10},
                     {"type": "CosineAnnealingLR", "T_max": 90}]}}


def _check(tmp_path: Path, *args: str, spec: dict[str, Any] | None = None) -> Any:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(spec or WARMUP_COSINE))
    before = sorted(tmp_path.iterdir())
    result = CliRunner().invoke(app, ["check", str(path), *args])
    assert sorted(tmp_path.iterdir()) == before  # check writes nothing
    return result


def test_resume_points_avoid_row_0_and_the_runs_end() -> None:
    from lrviz.resume_checks import resume_points

    assert resume_points(100) == [25, 50, 75]
    assert resume_points(2) == [1]
    assert resume_points(3) == [1, 2]
    assert resume_points(1) == []


def test_check_resume_at_names_each_broken_mode_its_step_and_jump(tmp_path: Path) -> None:
    result = _check(tmp_path, "--resume-at", "37")
    assert result.exit_code == 0, result.output
    plain = simulate(build_spec(WARMUP_COSINE)).lrs[0]
    sched = resumed(WARMUP_COSINE, AT, "scheduler").lrs_resumed[0]
    line = next(x for x in result.output.splitlines() if "resumed at step 37" in x)
    # a scheduler loaded alone steps from the fresh optimizer's lr: the warmup's start again
    assert sched[AT] == pytest.approx(0.001)
    assert f"scheduler from step 37 ({plain[AT]:.6g} -> {sched[AT]:.6g}, 63 of 63 steps " \
           "differ)" in line
    assert "optimizer from step 38 (" in line and "rebuild from step 37 (" in line
    assert line.endswith("fix: restore: full (load both the optimizer's and the "
                         "scheduler's state_dict)")
    assert "checked 1 spec: 0 errors, 1 warning, 0 infos" in result.output


def test_check_resume_at_leaves_out_the_modes_that_continue(tmp_path: Path) -> None:
    # LambdaLR rebuilt at its position recomputes the same lr; loaded alone it does not
    spec = {"steps": 20, "scheduler": {"type": "LambdaLR", "lr_lambda": "0.9 ** epoch"}}
    result = _check(tmp_path, "--resume-at", "5", spec=spec)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "resumed at step 5" in x)
    assert "restore: scheduler from step 5 (0.059049 -> 0.1, 1 of 15 steps differ); " \
           "optimizer from step 6 (0.0531441 -> 0.09, 14 of 14 steps differ) fix:" in line
    assert "rebuild" not in line
    # a schedule every mode continues: no finding at all
    flat = {"steps": 20, "scheduler": {"type": "LambdaLR", "lr_lambda": "1.0"}}
    result = _check(tmp_path, "--resume-at", "5", spec=flat)
    assert result.exit_code == 0, result.output
    assert "resumed" not in result.output


def test_check_resume_at_auto_tries_a_quarter_half_and_three_quarters(
        tmp_path: Path) -> None:
    result = _check(tmp_path, "--resume-at", "auto", "--format", "json")
    assert result.exit_code == 0, result.output
    import json
    found = json.loads(result.output)[0]["findings"]
    said = [f["message"].split(",")[0] for f in found if f["code"] == "resume-breaks"]
    assert said == ["resumed at step 25", "resumed at step 50", "resumed at step 75"]
    # without the flag, no resume is tried
    assert "resume-breaks" not in _check(tmp_path, "--format", "json").output


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "--resume-at: expected a step (an integer >= 1) or auto, got 'abc'"),
    ("2.5", "--resume-at: expected a step (an integer >= 1) or auto, got '2.5'"),
    ("0", "--resume-at: expected an integer >= 1, got 0"),
    ("100", "--resume-at: expected a row of the run, from 1 to 99, got 100"),
])
def test_check_bad_resume_at_is_one_line_exit_2(tmp_path: Path, value: str,
                                                message: str) -> None:
    result = _check(tmp_path, "--resume-at", value)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: {message}"]


# --- the README's "Resume" ---------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def _readme_line(start: str) -> list[str]:
    import shlex
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(x for x in readme.splitlines() if x.startswith(start))
    return shlex.split(line)[1:]


def test_readme_resume_figure_is_what_its_command_draws(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = _readme_line("lrviz plot configs/warmup_cosine.yaml --resume-at")
    out = args.index("-o") + 1
    assert args[out] == "docs/resume.png"
    args[out] = str(tmp_path / "resume.png")
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "resume.png").read_bytes() == (ROOT / "docs/resume.png").read_bytes()


def test_readme_check_resume_example_is_what_check_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    args = _readme_line("lrviz check configs/warmup_cosine.yaml --resume-at auto")
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    quoted = readme.split("gives, per resume point, a line such as `", 1)[1]
    quoted = quoted.split(" ... ", 1)[0]
    assert quoted.startswith("warning warmup_cosine step 500 training.resume: resumed at")
    assert quoted in " ".join(result.output.split())
