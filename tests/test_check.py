"""``lrviz check``: one test per finding, clean specs, rendering."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from lrviz.api import as_spec, simulate
from lrviz.check import (
    CHECKS,
    CODES,
    ERROR,
    INFO,
    WARNING,
    Finding,
    Report,
    check_spec,
    exit_code,
)
from lrviz.render.report import render_reports

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def run(raw: dict[str, Any]) -> Report:
    return check_spec(as_spec({"name": "t", **raw}))


def only(report: Report, code: str) -> Finding:
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, report.findings
    return found[0]


def constants(*factors: float) -> list[dict[str, Any]]:
    return [{"type": "ConstantLR", "factor": f, "total_iters": 1000} for f in factors]


# Each case: a spec, the finding code it must produce, its severity, step and param.
CASES: list[tuple[str, dict[str, Any], str, str, int | None, str | None]] = [
    ("a cosine resumed at step 37 with only the scheduler's state restarts from 0.1",
     {"steps": 100, "scheduler": {"type": "CosineAnnealingLR", "T_max": 100},
      "training": {"resume": {"at": 37}}},
     "resume-breaks", WARNING, 37, "training.resume"),
    ("a cosine prepared by accelerate on 4 processes ends at a quarter of the run",
     {"scheduler": {"type": "CosineAnnealingLR", "T_max": 30},
      "training": {"framework": "accelerate", "dataset_size": 640, "batch_size": 16,
                   "world_size": 4, "epochs": 3}},
     "loop-horizon-short", WARNING, 8, "scheduler.T_max"),
    ("a scheduler stepped once per process",
     {"scheduler": {"type": "StepLR", "step_size": 3},
      "training": {"framework": "accelerate", "dataset_size": 64, "batch_size": 8,
                   "world_size": 2, "epochs": 2}},
     "loop-steps-per-process", WARNING, None, "training.world_size"),
    ("a step-sized T_max under Lightning's default interval epoch",
     {"scheduler": {"type": "CosineAnnealingLR", "T_max": 30},
      "training": {"framework": "lightning", "dataset_size": 100, "batch_size": 10,
                   "epochs": 3}},
     "loop-horizon-long", WARNING, None, "scheduler.T_max"),
    ("an epoch's last accumulation window is partial",
     {"scheduler": {"type": "CosineAnnealingLR"},
      "training": {"framework": "hf-trainer", "dataset_size": 37, "batch_size": 4,
                   "grad_accum": 3, "epochs": 2}},
     "loop-partial-window", INFO, None, "training.grad_accum"),
    ("onecycle overstep",
     {"steps": 30, "scheduler": {"type": "OneCycleLR", "max_lr": 1, "total_steps": 10}},
     "onecycle-overstep", ERROR, 10, "scheduler.total_steps"),
    ("onecycle overstep inside SequentialLR",
     {"steps": 30, "scheduler": {"type": "SequentialLR", "milestones": [10], "schedulers": [
         {"type": "LinearLR", "total_iters": 10},
         {"type": "OneCycleLR", "max_lr": 1, "total_steps": 10}]}},
     "onecycle-overstep", ERROR, 20, "scheduler.schedulers[1].total_steps"),
    ("crash in an lr_lambda",
     {"steps": 10, "scheduler": {"type": "LambdaLR", "lr_lambda": "1 / (epoch - 3)"}},
     "crash", ERROR, 2, "scheduler.lr_lambda"),
    ("crash of a composite nested in SequentialLR",
     {"steps": 30, "scheduler": {"type": "SequentialLR", "milestones": [5], "schedulers": [
         {"type": "StepLR", "step_size": 5},
         {"type": "ChainedScheduler", "schedulers": [{"type": "StepLR", "step_size": 5}]}]}},
     "crash", ERROR, 4, "scheduler.schedulers[1]"),
    ("lr overflows to inf",
     {"steps": 10, "scheduler": {"type": "MultiplicativeLR", "lr_lambda": "1e200"}},
     "lr-not-finite", ERROR, 2, "scheduler.lr_lambda"),
    ("lr goes negative",
     {"steps": 10, "scheduler": {"type": "LambdaLR", "lr_lambda": "1 - epoch / 5"}},
     "lr-negative", ERROR, 6, "scheduler.lr_lambda"),
    ("lr zero at every step",
     {"steps": 10, "scheduler": {"type": "ConstantLR", "factor": 0, "total_iters": 100}},
     "lr-zero", ERROR, 0, "scheduler.factor"),
    ("lr zero at some steps",
     {"steps": 20, "scheduler": {"type": "PolynomialLR", "total_iters": 10}},
     "lr-zero", WARNING, 10, "scheduler.total_iters"),
    ("lr zero at the last step only",
     {"steps": 101, "scheduler": {"type": "CosineAnnealingLR", "T_max": 100}},
     "lr-zero", INFO, 100, "scheduler.eta_min"),
    ("warmup longer than the run",
     {"steps": 50, "scheduler": {"type": "LinearLR", "start_factor": 0.1, "total_iters": 100}},
     "warmup-never-ends", WARNING, None, "scheduler.total_iters"),
    ("ConstantLR longer than the run",
     {"steps": 50, "scheduler": {"type": "ConstantLR", "factor": 0.5, "total_iters": 50}},
     "warmup-never-ends", WARNING, None, "scheduler.total_iters"),
    ("warmup cut short by the SequentialLR milestone",
     {"steps": 200, "scheduler": {"type": "SequentialLR", "milestones": [50], "schedulers": [
         {"type": "LinearLR", "start_factor": 0.1, "total_iters": 100},
         {"type": "CosineAnnealingLR"}]}},
     "warmup-never-ends", WARNING, 50, "scheduler.schedulers[0].total_iters"),
    ("decay longer than the run",
     {"steps": 50, "scheduler": {"type": "PolynomialLR", "total_iters": 80}},
     "decay-unfinished", INFO, None, "scheduler.total_iters"),
    ("OneCycleLR longer than the run",
     {"steps": 50, "scheduler": {"type": "OneCycleLR", "max_lr": 1, "total_steps": 100}},
     "onecycle-unfinished", WARNING, None, "scheduler.total_steps"),
    ("cosine rises after T_max",
     {"steps": 150, "scheduler": {"type": "CosineAnnealingLR", "T_max": 100, "eta_min": 1e-3}},
     "cosine-rises", WARNING, 101, "scheduler.T_max"),
    ("cosine rises after T_max inside SequentialLR",
     {"steps": 200, "scheduler": {"type": "SequentialLR", "milestones": [50], "schedulers": [
         {"type": "LinearLR", "start_factor": 0.1, "total_iters": 50},
         {"type": "CosineAnnealingLR", "T_max": 100, "eta_min": 1e-3}]}},
     "cosine-rises", WARNING, 151, "scheduler.schedulers[1].T_max"),
    ("cosine rises after T_max, stepped per epoch",
     {"steps": 100, "steps_per_epoch": 10,
      "scheduler": {"type": "CosineAnnealingLR", "interval": "epoch", "T_max": 5}},
     "cosine-rises", WARNING, 60, "scheduler.T_max"),
    ("cosine cut short before T_max",
     {"steps": 50, "scheduler": {"type": "CosineAnnealingLR", "T_max": 100}},
     "cosine-unfinished", WARNING, None, "scheduler.T_max"),
    ("eta_min above the initial lr",
     {"steps": 50, "optimizer": {"lr": 0.01},
      "scheduler": {"type": "CosineAnnealingLR", "eta_min": 0.1}},
     "eta-min-above-lr", WARNING, None, "scheduler.eta_min"),
    ("eta_min above one group's lr (warm restarts)",
     {"steps": 50, "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 0.001}]},
      "scheduler": {"type": "CosineAnnealingWarmRestarts", "T_0": 10, "eta_min": 0.01}},
     "eta-min-above-lr", WARNING, None, "scheduler.eta_min"),
    ("gamma above one",
     {"steps": 50, "scheduler": {"type": "StepLR", "step_size": 10, "gamma": 2}},
     "gamma-above-one", WARNING, 10, "scheduler.gamma"),
    ("gamma above one in ExponentialLR",
     {"steps": 50, "scheduler": {"type": "ExponentialLR", "gamma": 1.01}},
     "gamma-above-one", WARNING, 1, "scheduler.gamma"),
    ("gamma above one in CyclicLR exp_range",
     {"steps": 50, "scheduler": {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1,
                                 "step_size_up": 10, "mode": "exp_range", "gamma": 1.1}},
     "gamma-above-one", WARNING, None, "scheduler.gamma"),
    ("lr zero in one param group",
     {"steps": 20, "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 0.0}]},
      "scheduler": {"type": "StepLR", "step_size": 5}},
     "lr-zero", WARNING, 0, "optimizer.param_groups[1].lr"),
    ("gamma of one",
     {"steps": 50, "scheduler": {"type": "MultiStepLR", "milestones": [10], "gamma": 1}},
     "gamma-one", INFO, None, "scheduler.gamma"),
    ("duplicate MultiStepLR milestones",
     {"steps": 50, "scheduler": {"type": "MultiStepLR", "milestones": [10, 10, 30]}},
     "duplicate-milestones", WARNING, 10, "scheduler.milestones"),
    ("duplicate SequentialLR milestones",
     {"steps": 40, "scheduler": {"type": "SequentialLR", "milestones": [10, 10],
                                 "schedulers": constants(0.5, 0.25, 0.125)}},
     "duplicate-milestones", WARNING, 10, "scheduler.milestones"),
    ("unsorted MultiStepLR milestones (harmless)",
     {"steps": 50, "scheduler": {"type": "MultiStepLR", "milestones": [30, 10]}},
     "unsorted-milestones", INFO, None, "scheduler.milestones"),
    ("unsorted SequentialLR milestones (change the schedule)",
     {"steps": 40, "scheduler": {"type": "SequentialLR", "milestones": [20, 10],
                                 "schedulers": constants(0.5, 0.25, 0.125)}},
     "unsorted-milestones", WARNING, 10, "scheduler.milestones"),
    ("every MultiStepLR milestone past the end",
     {"steps": 50, "scheduler": {"type": "MultiStepLR", "milestones": [100, 200]}},
     "milestone-past-end", WARNING, None, "scheduler.milestones"),
    ("some MultiStepLR milestones past the end",
     {"steps": 50, "scheduler": {"type": "MultiStepLR", "milestones": [10, 200]}},
     "milestone-past-end", INFO, None, "scheduler.milestones"),
    ("SequentialLR child after the end of the run",
     {"steps": 40, "scheduler": {"type": "SequentialLR", "milestones": [10, 100],
                                 "schedulers": constants(0.5, 0.25, 0.125)}},
     "scheduler-never-runs", WARNING, None, "scheduler.schedulers[2]"),
    ("SequentialLR first milestone 0",
     {"steps": 40, "scheduler": {"type": "SequentialLR", "milestones": [0],
                                 "schedulers": constants(0.5, 0.25)}},
     "scheduler-never-runs", WARNING, None, "scheduler.schedulers[0]"),
    ("SGD momentum 0 overwritten by CyclicLR",
     {"steps": 40, "optimizer": {"momentum": 0},
      "scheduler": {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 10}},
     "momentum-overwritten", WARNING, 0, "optimizer.momentum"),
    ("a param group's momentum 0 overwritten",
     {"steps": 40, "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 0.01, "momentum": 0}]},
      "scheduler": {"type": "OneCycleLR", "max_lr": [1, 0.1]}},
     "momentum-overwritten", WARNING, 0, "optimizer.param_groups[1].momentum"),
    ("explicit momentum overwritten by OneCycleLR",
     {"steps": 40, "optimizer": {"momentum": 0.5},
      "scheduler": {"type": "OneCycleLR", "max_lr": 0.1}},
     "momentum-overwritten", INFO, 0, "optimizer.momentum"),
    ("explicit Adam beta1 overwritten by OneCycleLR",
     {"steps": 40, "optimizer": {"type": "Adam", "betas": [0.5, 0.99]},
      "scheduler": {"type": "OneCycleLR", "max_lr": 0.1}},
     "momentum-overwritten", INFO, 0, "optimizer.betas"),
    ("min_lr floor stops ReduceLROnPlateau's cuts",
     {"optimizer": {"lr": 1.0},
      "scheduler": {"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.5, "min_lr": 0.2},
      "metric": {"values": [1.0] * 12}},
     "min-lr-floor", INFO, 4, "scheduler.min_lr"),
    ("eps makes ReduceLROnPlateau skip cuts",
     {"optimizer": {"lr": 1e-7},
      "scheduler": {"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.5},
      "metric": {"values": [1.0] * 12}},
     "eps-skips-cut", WARNING, 4, "scheduler.eps"),
    ("eps skips cuts, stepped per epoch",
     {"steps": 120, "steps_per_epoch": 10, "optimizer": {"lr": 1e-7},
      "scheduler": {"type": "ReduceLROnPlateau", "interval": "epoch", "patience": 0,
                    "factor": 0.5},
      "metric": {"values": [1.0] * 12}},
     "eps-skips-cut", WARNING, 49, "scheduler.eps"),
    ("lr zero in a nested scheduler names its parameter",
     {"steps": 40, "scheduler": {"type": "SequentialLR", "milestones": [10], "schedulers": [
         {"type": "LinearLR", "start_factor": 0.1, "total_iters": 10},
         {"type": "PolynomialLR", "total_iters": 20}]}},
     "lr-zero", WARNING, 30, "scheduler.schedulers[1].total_iters"),
    ("negative lr in the second param group",
     {"steps": 30, "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 0.01}]},
      "scheduler": {"type": "LambdaLR", "lr_lambda": ["0.9 ** epoch", "1 - epoch / 20"]}},
     "lr-negative", ERROR, 21, "scheduler.lr_lambda"),
    ("min_lr above the lr: no cut can happen",
     {"optimizer": {"type": "Adam", "lr": 0.01},
      "scheduler": {"type": "ReduceLROnPlateau", "patience": 1, "min_lr": 0.1},
      "metric": {"values": [1.0] * 12}},
     "min-lr-floor", WARNING, 2, "scheduler.min_lr"),
    ("eps skips the cuts of one param group",
     {"steps": 10, "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 1e-8}]},
      "scheduler": {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 1},
      "metric": {"values": [1.0] * 10}},
     "eps-skips-cut", WARNING, 2, "scheduler.eps"),
    ("RMSprop's default momentum 0 overwritten",
     {"steps": 100, "optimizer": {"type": "RMSprop", "lr": 1e-3},
      "scheduler": {"type": "CyclicLR", "base_lr": 1e-4, "max_lr": 1e-3, "step_size_up": 20}},
     "momentum-overwritten", WARNING, 0, "optimizer.momentum"),
    ("hf warmup longer than the run",
     {"steps": 100, "scheduler": {"type": "hf:cosine", "num_warmup_steps": 200}},
     "warmup-never-ends", WARNING, None, "scheduler.num_warmup_steps"),
    ("hf warmup from 0 costs only step 0",
     {"steps": 100, "scheduler": {"type": "hf:linear", "num_warmup_steps": 10,
                                  "num_training_steps": 101}},
     "lr-zero", INFO, 0, "scheduler.num_warmup_steps"),
    ("lr collapses: StepLR in epochs stepped per batch",
     {"epochs": 10, "steps_per_epoch": 100, "scheduler": {"type": "StepLR", "step_size": 3}},
     "lr-collapses", WARNING, 21, "scheduler.interval"),
    ("lr collapses: ExponentialLR far too fast",
     {"steps": 200, "scheduler": {"type": "ExponentialLR", "gamma": 0.5}},
     "lr-collapses", WARNING, 20, "scheduler.gamma"),
    ("LinearLR with total_iters 0",
     {"steps": 20, "scheduler": {"type": "LinearLR", "start_factor": 0.1, "total_iters": 0}},
     "ramp-of-zero-length", WARNING, 0, "scheduler.total_iters"),
    ("ConstantLR with total_iters 0 inside SequentialLR",
     {"steps": 20, "scheduler": {"type": "SequentialLR", "milestones": [5], "schedulers": [
         {"type": "StepLR", "step_size": 2},
         {"type": "ConstantLR", "factor": 0.5, "total_iters": 0}]}},
     "ramp-of-zero-length", WARNING, 5, "scheduler.schedulers[1].total_iters"),
    ("ChainedScheduler first in SequentialLR runs a step ahead",
     {"steps": 20, "scheduler": {"type": "SequentialLR", "milestones": [10], "schedulers": [
         {"type": "ChainedScheduler", "schedulers": [
             {"type": "LinearLR", "start_factor": 0.5, "total_iters": 4},
             {"type": "ExponentialLR", "gamma": 0.9}]},
         {"type": "ConstantLR", "factor": 1.0, "total_iters": 1}]}},
     "nested-composite-early", WARNING, 0, "scheduler.schedulers[0]"),
    ("CyclicLR exp_range with torch's default gamma",
     {"steps": 100, "scheduler": {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1,
                                  "step_size_up": 10, "mode": "exp_range"}},
     "gamma-one", WARNING, None, "scheduler.gamma"),
    ("CyclicLR exp_range with gamma 1 written out",
     {"steps": 100, "scheduler": {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1,
                                  "step_size_up": 10, "mode": "exp_range", "gamma": 1}},
     "gamma-one", INFO, None, "scheduler.gamma"),
    ("hf cosine past num_training_steps",
     {"steps": 30, "scheduler": {"type": "hf:cosine", "num_warmup_steps": 5,
                                 "num_training_steps": 20}},
     "hf-past-training-steps", WARNING, 21, "scheduler.num_training_steps"),
]


@pytest.mark.parametrize(
    ("raw", "code", "severity", "step", "param"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_finding(
    raw: dict[str, Any], code: str, severity: str, step: int | None, param: str | None
) -> None:
    finding = only(run(raw), code)
    assert (finding.severity, finding.step, finding.param) == (severity, step, param)
    assert finding.message and "\n" not in finding.message
    assert finding.fix and "\n" not in finding.fix


def test_every_code_is_listed_and_tested() -> None:
    # the generic checks are in check.py (and the ramp helper in spans.py), each
    # scheduler's own pitfalls in its record
    package = Path(__file__).resolve().parent.parent / "lrviz"
    source = "".join(p.read_text() for p in (package / "check.py", package / "spans.py",
                                             package / "loop_checks.py",
                                             package / "resume_checks.py",
                                             *sorted((package / "schedulers").glob("*.py"))))
    used = set(re.findall(r'(?:ERROR|WARNING|INFO),\s+"([a-z0-9-]+)"', source))
    assert used == set(CODES)
    assert {case[2] for case in CASES} | {"torch-warning"} == set(CODES)


def test_crash_message_is_torchs_own_and_keeps_the_rows_before() -> None:
    report = run({"steps": 30, "scheduler": {"type": "OneCycleLR", "max_lr": 1,
                                             "total_steps": 10}})
    finding = only(report, "onecycle-overstep")
    assert "Tried to step 11 times. The specified number of total steps is 10" in finding.message
    assert "at least 30" in (finding.fix or "")
    assert report.has_errors
    assert report.trace is not None and report.trace.steps == 10  # rows before the crash


def test_nothing_is_reported_past_the_crash() -> None:
    report = run({"steps": 30, "scheduler": {"type": "SequentialLR", "milestones": [5],
                                             "schedulers": [
        {"type": "StepLR", "step_size": 5},
        {"type": "ChainedScheduler", "schedulers": [{"type": "CosineAnnealingLR", "T_max": 10},
                                                    {"type": "StepLR", "step_size": 5}]}]}})
    assert [f.code for f in report.findings] == ["crash"]


def test_crash_at_the_first_step_has_no_trace() -> None:
    report = run({"steps": 5, "scheduler": {"type": "LambdaLR",
                                            "lr_lambda": "1 if epoch < 1 else math.log(-1)"}})
    finding = only(report, "crash")
    assert finding.step == 0 and "math domain error" in finding.message
    assert report.trace is None


def test_lr_negative_also_reports_the_zero_before_it() -> None:
    report = run({"steps": 10, "scheduler": {"type": "LambdaLR", "lr_lambda": "1 - epoch / 5"}})
    assert only(report, "lr-zero").step == 5
    assert only(report, "lr-negative").step == 6


def test_duplicate_milestones_change_the_result_and_unsorted_do_not() -> None:
    """What the milestone findings claim about torch, checked against torch."""
    def lrs(kind: str, ms: list[int], **extra: Any) -> list[float]:
        sched = {"type": kind, "milestones": ms, **extra}
        return list(simulate({"steps": 40, "optimizer": {"lr": 1.0}, "scheduler": sched}).lr)

    assert lrs("MultiStepLR", [20, 10], gamma=0.5) == lrs("MultiStepLR", [10, 20], gamma=0.5)
    assert lrs("MultiStepLR", [10, 10], gamma=0.5)[10] == 0.25  # gamma applied twice
    unsorted = lrs("SequentialLR", [20, 10], schedulers=constants(0.5, 0.25, 0.125))
    ordered = lrs("SequentialLR", [10, 20], schedulers=constants(0.5, 0.25, 0.125))
    assert ordered[10] == 0.25 and unsorted[10] == 0.125  # schedulers[1] skipped
    assert unsorted[:10] == ordered[:10]


def test_torch_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from torch.optim.lr_scheduler import StepLR

    original = StepLR.get_lr

    def noisy(self: Any) -> Any:
        warnings.warn("something torch does not like", UserWarning, stacklevel=2)
        return original(self)

    monkeypatch.setattr(StepLR, "get_lr", noisy)
    report = run({"steps": 5, "scheduler": {"type": "StepLR", "step_size": 2}})
    finding = only(report, "torch-warning")
    assert finding.severity == WARNING
    assert finding.message == "torch warns: UserWarning: something torch does not like"


CLEAN: list[dict[str, Any]] = [
    {"steps": 1000, "optimizer": {"type": "AdamW", "lr": 3e-4},
     "scheduler": {"type": "SequentialLR", "milestones": [100], "schedulers": [
         {"type": "LinearLR", "start_factor": 0.01, "total_iters": 100},
         {"type": "CosineAnnealingLR", "eta_min": 3e-5}]}},
    {"steps": 1000, "scheduler": {"type": "OneCycleLR", "max_lr": 0.1}},
    {"steps": 300, "scheduler": {"type": "MultiStepLR", "milestones": [100, 200]}},
    {"steps": 100, "scheduler": {"type": "ExponentialLR", "gamma": 0.95}},
    {"steps": 400, "scheduler": {"type": "CyclicLR", "base_lr": 1e-4, "max_lr": 1e-2,
                                 "step_size_up": 100}},
    {"steps": 50, "scheduler": {"type": "ChainedScheduler", "schedulers": [
        {"type": "ConstantLR", "factor": 0.5, "total_iters": 5},
        {"type": "ExponentialLR", "gamma": 0.9}]}},
    {"steps": 500, "scheduler": {"type": "hf:cosine_with_min_lr", "num_warmup_steps": 50,
                                 "min_lr_rate": 0.1}},
    {"steps": 300, "scheduler": {"type": "ReduceLROnPlateau"}},  # the synthetic metric
    {"steps": 300, "warmup": {"steps": 30}, "scheduler": {
        "type": "SequentialLR", "milestones": [100], "schedulers": [
            {"type": "ConstantLR", "factor": 0.5, "total_iters": 100},
            {"type": "CosineAnnealingLR", "eta_min": 1e-4}]}},
]


@pytest.mark.parametrize("raw", CLEAN, ids=lambda r: r["scheduler"]["type"])
def test_clean_spec_has_no_warnings_or_errors(raw: dict[str, Any]) -> None:
    report = run(raw)
    assert [f for f in report.findings if f.severity != INFO] == []
    assert not report.has_errors


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_configs_have_no_errors(path: Path) -> None:
    # Some configs show a pitfall on purpose (cosine.yaml runs past T_max): warnings are fine.
    assert not check_spec(as_spec(path)).has_errors


def test_cosine_config_shows_the_rise_it_is_about() -> None:
    report = check_spec(as_spec(CONFIGS / "cosine.yaml"))
    assert [(f.code, f.step) for f in report.findings] == [("cosine-rises", 101)]


def test_findings_are_sorted_most_severe_first() -> None:
    report = run({"steps": 10, "scheduler": {"type": "LambdaLR", "lr_lambda": "1 - epoch / 5"}})
    ranks = [(0, 1, 2)[(ERROR, WARNING, INFO).index(f.severity)] for f in report.findings]
    assert ranks == sorted(ranks)


def test_json_round_trips() -> None:
    reports = [
        run({"steps": 30, "scheduler": {"type": "OneCycleLR", "max_lr": 1, "total_steps": 10}}),
        run({"steps": 100, "scheduler": {"type": "ExponentialLR", "gamma": 0.95}}),
    ]
    out = io.StringIO()
    render_reports(reports, "json", Console(file=out, width=40))
    data = json.loads(out.getvalue())
    assert data == [r.to_dict() for r in reports]
    assert [Finding(**f) for f in data[0]["findings"]] == reports[0].findings
    assert data[0]["errors"] == 1 and data[1]["findings"] == []
    assert exit_code(reports) == 1 and exit_code(reports[1:]) == 0


def test_text_has_one_line_per_finding() -> None:
    reports = [
        run({"steps": 150, "scheduler": {"type": "CosineAnnealingLR", "T_max": 100,
                                         "eta_min": 1e-3}}),
        run({"steps": 100, "scheduler": {"type": "ExponentialLR", "gamma": 0.95}}),
    ]
    out = io.StringIO()
    render_reports(reports, "text", Console(file=out, width=60, color_system=None))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("warning t step 101 scheduler.T_max: CosineAnnealingLR reaches")
    assert "fix: set T_max to 150" in lines[0]
    assert lines[1] == "ok      t: no problems found"
    assert lines[2] == "checked 2 specs: 0 errors, 1 warning, 0 infos"
    with pytest.raises(ValueError, match="unknown format"):
        render_reports(reports, "yaml", Console(file=out))


def test_checks_are_a_registry() -> None:
    assert all(callable(c) for c in CHECKS) and len(CHECKS) >= 8
    extra = Finding(INFO, "custom", "a custom check ran")
    CHECKS.append(lambda spec, trace: [extra])
    try:
        report = run({"steps": 10, "scheduler": {"type": "StepLR", "step_size": 5}})
    finally:
        CHECKS.pop()
    assert extra in report.findings


def test_importing_check_does_not_import_torch() -> None:
    code = "import sys, lrviz.check; print('torch' in sys.modules, 'rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "False"]


def test_a_spec_torch_refuses_to_build_is_a_spec_error() -> None:
    from lrviz.errors import SpecError

    raw = {"steps": 10, "optimizer": {"type": "Adagrad"},
           "scheduler": {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1}}
    with pytest.raises(SpecError, match="torch rejected CyclicLR"):
        run(raw)


# --- issue 13: what check missed ------------------------------------------------------------


def test_collapse_says_where_and_why_before_the_zero() -> None:
    report = run({"epochs": 10, "steps_per_epoch": 100,
                  "scheduler": {"type": "StepLR", "step_size": 3}})
    collapse = only(report, "lr-collapses")
    assert collapse.message == (
        "the lr collapses: from step 21 it is below 1e-06 of its peak (1e-08 against 0.1) for "
        "979 of 1000 steps, which then learn next to nothing")
    assert collapse.fix == ("StepLR steps every training step, 100 times an epoch: if "
                            "step_size counts epochs, set scheduler.interval: epoch "
                            "(--interval epoch)")
    assert only(report, "lr-zero").step == 969  # still said, after the collapse
    fixed = run({"epochs": 10, "steps_per_epoch": 100,
                 "scheduler": {"type": "StepLR", "step_size": 3, "interval": "epoch"}})
    assert [f.code for f in fixed.findings] == []


@pytest.mark.parametrize("raw", [
    {"steps": 100_000, "scheduler": {"type": "CosineAnnealingLR", "T_max": 100_000}},
    {"steps": 100_000, "scheduler": {"type": "hf:linear", "num_warmup_steps": 100}},
    {"steps": 2000, "scheduler": {"type": "OneCycleLR", "max_lr": 1e-3}},
    {"steps": 1000, "scheduler": {"type": "LinearLR", "start_factor": 1e-9,
                                  "total_iters": 10}},
], ids=["cosine to 0", "hf linear to 0", "onecycle", "warmup from almost 0"])
def test_schedules_that_only_brush_zero_do_not_collapse(raw: dict[str, Any]) -> None:
    assert "lr-collapses" not in {f.code for f in run(raw).findings}


def test_nested_composite_claim_holds_in_this_torch() -> None:
    """The premise of nested-composite-early, on torch itself: a ChainedScheduler first in a
    SequentialLR gives other lrs than the same ChainedScheduler alone."""
    import torch
    from torch.optim.lr_scheduler import (
        ChainedScheduler,
        ConstantLR,
        ExponentialLR,
        LinearLR,
        SequentialLR,
    )

    def lrs(nested: bool) -> list[float]:
        out = []
        with warnings.catch_warnings():  # step() before optimizer.step(), on purpose
            warnings.simplefilter("ignore")
            opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            chain = ChainedScheduler([LinearLR(opt, 0.5, 1.0, 4), ExponentialLR(opt, 0.9)])
            sched = SequentialLR(opt, [chain, ConstantLR(opt, 1.0, 1)], milestones=[100]) \
                if nested else chain
            for _ in range(5):
                out.append(opt.param_groups[0]["lr"])
                sched.step()
        return out

    alone, nested = lrs(False), lrs(True)
    assert alone[0] == 0.5 and nested[0] == pytest.approx(0.45)  # 0.9 applied once too often
    finding = only(run({"steps": 20, "scheduler": {
        "type": "SequentialLR", "milestones": [10], "schedulers": [
            {"type": "ChainedScheduler", "schedulers": [
                {"type": "LinearLR", "start_factor": 0.5, "total_iters": 4},
                {"type": "ExponentialLR", "gamma": 0.9}]},
            {"type": "ConstantLR", "factor": 1.0, "total_iters": 1}]}}),
        "nested-composite-early")
    assert finding.message.endswith("from step 0 the lr is 0.045, not 0.05")


def test_nested_composite_that_matches_alone_is_not_reported() -> None:
    # ConstantLR's factor is recomputed, not multiplied: the extra step changes nothing
    report = run({"steps": 20, "scheduler": {
        "type": "SequentialLR", "milestones": [10], "schedulers": [
            {"type": "ChainedScheduler", "schedulers": [
                {"type": "ConstantLR", "factor": 0.5, "total_iters": 100}]},
            {"type": "ConstantLR", "factor": 1.0, "total_iters": 1}]}})
    assert "nested-composite-early" not in {f.code for f in report.findings}


def test_plot_warns_of_a_ramp_of_zero_length(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from lrviz.cli import app

    result = CliRunner().invoke(app, ["plot", "linear", "--start-factor", "0.1",
                                      "--total-iters", "0", "--steps", "10", "-o",
                                      str(tmp_path / "l.csv")])
    assert result.exit_code == 0, result.output
    assert ("warning: LinearLR with total_iters 0 never ramps: torch holds the lr at "
            "start_factor (0.1) times the initial lr for the whole run and never reaches "
            "end_factor (1) (step 0)") in result.stderr


def test_nested_composite_that_cannot_be_compared_is_still_said() -> None:
    # inside a ChainedScheduler the lr mixes other factors: no step, but the warning
    finding = only(run({"steps": 20, "scheduler": {
        "type": "ChainedScheduler", "schedulers": [
            {"type": "ExponentialLR", "gamma": 0.99},
            {"type": "SequentialLR", "milestones": [100], "schedulers": [
                {"type": "ChainedScheduler", "schedulers": [
                    {"type": "LinearLR", "start_factor": 0.5, "total_iters": 4},
                    {"type": "ExponentialLR", "gamma": 0.9}]},
                {"type": "ConstantLR", "factor": 1.0, "total_iters": 1}]}]}}),
        "nested-composite-early")
    assert (finding.step, finding.param) == (None, "scheduler.schedulers[1].schedulers[0]")
    assert finding.message.endswith("one step ahead of the same ChainedScheduler alone")
