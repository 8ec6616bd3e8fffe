"""``training:``: the schedule a framework's loop really gives, end to end.

The frameworks' own runs (tests/frameworks/recordings: a tiny model trained on the CPU by
transformers' Trainer, Lightning, accelerate on two gloo processes, torchtune and
mmengine, the lr recorded before every optimizer step) are replayed through lrviz's
spec, engine and outputs, and must match float for float. Hand-written torch loops hold
the engine's stepping of a plan (several calls per row, a metric fed once per row,
accelerate's OneCycleLR cap); the flags, columns, axes and errors are held from the
command line.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import lrviz
from lrviz.api import as_spec
from lrviz.check import check_spec
from lrviz.errors import SpecError

RECORDINGS = Path(__file__).parent / "frameworks" / "recordings"
FRAMEWORKS = ("hf-trainer", "lightning", "accelerate", "torchtune", "mmengine")


def spec_of_run(run: dict[str, Any]) -> dict[str, Any]:
    """The lrviz spec of a recorded framework run: its loop, its scheduler, SGD(lr)."""
    training = dict(run["loop"])
    scheduler = dict(run["scheduler"])
    interval = training.pop("interval", None)
    if interval is not None:
        scheduler["interval"] = interval
    return {"name": run["case"], "optimizer": {"type": "SGD", "lr": run["base_lr"]},
            "scheduler": scheduler, "training": training}


def assert_simulation_matches(run: dict[str, Any]) -> None:
    """lrviz's rows equal the lr the framework used at each optimizer step, bit for bit."""
    trace = lrviz.simulate(spec_of_run(run))
    assert trace.lrs[0].tolist() == run["lr"], run["case"]
    assert trace.spec.plan.epoch.tolist() == run["epoch"], run["case"]


def _recorded_runs() -> list[dict[str, Any]]:
    runs = []
    for framework in FRAMEWORKS:
        recording = json.loads((RECORDINGS / f"{framework}.json").read_text())
        runs.extend(r for r in recording["runs"] if not r.get("loader_only"))
    return runs


RUNS = _recorded_runs()


@pytest.mark.parametrize("run", RUNS, ids=[r["case"] for r in RUNS])
def test_a_recorded_framework_run_is_what_lrviz_simulates(run: dict[str, Any]) -> None:
    assert_simulation_matches(run)


def test_every_framework_is_recorded() -> None:
    assert {r["loop"]["framework"] for r in RUNS} == set(FRAMEWORKS)
    assert len(RUNS) >= 30


def test_hf_warmup_ratio_is_the_trainers_own() -> None:
    for run in (r for r in RUNS if "warmup" in r):
        spec = as_spec({"scheduler": {"type": "hf:linear",
                                      "warmup_ratio": run["warmup"]["ratio"]},
                        "training": run["loop"]})
        assert spec.scheduler.params["num_warmup_steps"] == run["warmup"]["steps"]
        assert spec.scheduler.params["num_training_steps"] == run["lengths"][
            "num_training_steps"]
        assert "warmup_ratio" not in spec.scheduler.params


# ---------------------------------------------------------------------------------------
# the engine steps a plan as a hand-written torch loop does


def _torch_loop(build: Any, after: list[int], before: int = 0,
                metric: list[float] | None = None, cap: bool = False) -> list[float]:
    """Record the lr, then call step() after[k] times; a row's metric fed to each call."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    sched = build(opt)
    opt.step()  # as training does before the scheduler's first step (no grad: no change)
    fed = iter(metric or [])

    def calls(n: int) -> None:
        value = next(fed) if metric is not None and n else None
        for _ in range(n):
            if cap and sched._step_count > sched.total_steps:
                continue
            sched.step() if value is None else sched.step(value)

    calls(before)
    out = []
    for n in after:
        out.append(opt.param_groups[0]["lr"])
        calls(n)
    return out


def test_accelerate_steps_once_per_process_as_a_torch_loop() -> None:
    spec = {"scheduler": {"type": "CosineAnnealingLR", "T_max": 25},
            "training": {"framework": "accelerate", "dataset_size": 100, "batch_size": 4,
                         "world_size": 3, "grad_accum": 2, "epochs": 2}}
    trace = lrviz.simulate(spec)
    after = trace.spec.plan.after.tolist()
    assert set(after) == {3}
    expected = _torch_loop(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 25), after)
    assert trace.lrs[0].tolist() == expected


def test_accelerate_leaves_a_onecycle_alone_past_its_total_steps() -> None:
    spec = {"scheduler": {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 20},
            "training": {"framework": "accelerate", "dataset_size": 64, "batch_size": 4,
                         "world_size": 2, "epochs": 2}}
    trace = lrviz.simulate(spec)
    after = trace.spec.plan.after.tolist()
    expected = _torch_loop(
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=20),
        after, cap=True)
    assert trace.lrs[0].tolist() == expected
    assert trace.steps == 16 and len(set(trace.lrs[0, 10:].tolist())) == 1


def test_a_plateau_metric_is_measured_once_per_row_and_fed_to_each_call() -> None:
    values = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8]
    spec = {"scheduler": {"type": "ReduceLROnPlateau", "patience": 2},
            "metric": {"values": values},
            "training": {"framework": "accelerate", "dataset_size": 48, "batch_size": 4,
                         "world_size": 2, "epochs": 2}}
    trace = lrviz.simulate(spec)
    after = trace.spec.plan.after.tolist()
    assert after == [2] * 12
    expected = _torch_loop(
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, patience=2), after,
        metric=values)
    assert trace.lrs[0].tolist() == expected
    assert trace.metric is not None and trace.metric.tolist() == values


def test_mmengine_steps_before_the_first_optimizer_step() -> None:
    spec = {"scheduler": {"type": "ExponentialLR", "gamma": 0.5, "interval": "step"},
            "training": {"framework": "mmengine", "batches_per_epoch": 10, "grad_accum": 4,
                         "epochs": 1}}
    trace = lrviz.simulate(spec)
    plan = trace.spec.plan
    assert plan.before == 3
    expected = _torch_loop(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.5),
                           plan.after.tolist(), before=plan.before)
    assert trace.lrs[0].tolist() == expected


def test_without_training_the_plain_loop_keeps_its_compact_plan() -> None:
    spec = as_spec({"steps": 50_000_000, "scheduler": {"type": "StepLR", "step_size": 10}})
    assert spec.plan.plain and spec.plan.positions is None
    assert spec.scheduler_steps == 50_000_000


# ---------------------------------------------------------------------------------------
# columns and axes


def test_epoch_samples_and_tokens_columns() -> None:
    # 37 samples, batch 4, accumulation 3: 10 batches, steps at batches 3, 6, 9 and 10
    trace = lrviz.simulate({
        "scheduler": {"type": "StepLR", "step_size": 1},
        "training": {"framework": "hf-trainer", "dataset_size": 37, "batch_size": 4,
                     "grad_accum": 3, "epochs": 2, "tokens_per_sample": 100}})
    cols = dict(trace.columns())
    assert list(cols)[:4] == ["step", "epoch", "samples", "tokens"]
    assert cols["epoch"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert cols["samples"].tolist() == [0, 12, 24, 36, 37, 49, 61, 73]
    assert cols["tokens"].tolist() == [100 * s for s in cols["samples"].tolist()]
    assert trace.spec.plan.x("epoch").tolist() == [0, 0.3, 0.6, 0.9, 1, 1.3, 1.6, 1.9]


def test_samples_count_every_process_and_the_samplers_padding() -> None:
    # Lightning's DistributedSampler pads 39 samples to 20 per process (40 in all)
    plan = as_spec({"scheduler": {"type": "StepLR", "step_size": 1, "interval": "step"},
                    "training": {"framework": "lightning", "dataset_size": 39,
                                 "batch_size": 4, "world_size": 2, "epochs": 2}}).plan
    assert plan.batches_per_epoch == 5
    assert plan.samples().tolist() == [0, 8, 16, 24, 32, 40, 48, 56, 64, 72]


def test_the_plain_loop_has_the_epoch_column_it_always_had() -> None:
    trace = lrviz.simulate({"steps": 6, "steps_per_epoch": 3,
                            "scheduler": {"type": "StepLR", "step_size": 1}})
    assert [name for name, _ in trace.columns()] == ["step", "epoch", "lr"]


# ---------------------------------------------------------------------------------------
# checks


def test_check_names_a_cosine_that_ends_at_a_quarter_on_4_processes() -> None:
    report = check_spec(as_spec({
        "scheduler": {"type": "CosineAnnealingLR", "T_max": 300},
        "training": {"framework": "accelerate", "dataset_size": 4800, "batch_size": 4,
                     "world_size": 4, "epochs": 1}}))
    (finding,) = [f for f in report.findings if f.code == "loop-horizon-short"]
    assert "4 times per optimizer step" in finding.message
    assert "ends at optimizer step 75 of 300" in finding.message
    assert finding.step == 75 and "split_batches" in (finding.fix or "")
    # the generic cosine finding on the same key says less; it is left out
    assert not [f for f in report.findings if f.code == "cosine-rises"]


def test_check_is_quiet_when_the_loop_and_schedule_agree() -> None:
    report = check_spec(as_spec({
        "scheduler": {"type": "CosineAnnealingLR"},
        "training": {"framework": "accelerate", "dataset_size": 4800, "batch_size": 4,
                     "world_size": 4, "epochs": 1, "split_batches": True}}))
    assert not [f for f in report.findings if f.code.startswith("loop-")]


# ---------------------------------------------------------------------------------------
# the command line


def _lrviz(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lrviz", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_flags_equal_the_yaml_section(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(
        "scheduler: {type: CosineAnnealingLR, T_max: 40}\n"
        "training: {framework: accelerate, dataset_size: 37, batch_size: 4, world_size: 2,"
        " grad_accum: 3, epochs: 2}\n")
    a = _lrviz("plot", "run.yaml", "-o", "a.csv", cwd=tmp_path)
    b = _lrviz("plot", "cosine", "--t-max", "40", "--framework", "accelerate",
               "--dataset-size", "37", "--batch-size", "4", "--world-size", "2",
               "--grad-accum", "3", "--epochs", "2", "-o", "b.csv", cwd=tmp_path)
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert "once per process: 2 times per optimizer step" in a.stderr


def test_max_steps_is_the_runs_length_and_limit_steps_the_cap(tmp_path: Path) -> None:
    a = _lrviz("plot", "cosine", "--max-steps", "30", "-o", "a.csv", cwd=tmp_path)
    b = _lrviz("plot", "cosine", "--steps", "30", "-o", "b.csv", cwd=tmp_path)
    assert a.returncode == b.returncode == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    with (tmp_path / "a.csv").open() as f:
        assert len(list(csv.reader(f))) == 31
    capped = _lrviz("plot", "cosine", "--steps", "100", "--limit-steps", "10", "-o", "c.csv",
                    cwd=tmp_path)
    assert capped.returncode == 2 and "--limit-steps" in capped.stderr
    assert not (tmp_path / "c.csv").exists()


@pytest.mark.parametrize(("args", "said"), [
    (["--framework", "keras", "--epochs", "1"], "--framework: expected one of plain, "),
    (["--framework", "hf-trainer", "--epochs", "1"],
     "expected one of dataset_size or batches_per_epoch"),
    (["--framework", "hf-trainer", "--dataset-size", "10", "--steps", "5"],
     "--steps: under a framework the run's length is --epochs or --max-steps"),
    (["--framework", "torchtune", "--dataset-size", "10", "--epochs", "1.5"],
     "--epochs: expected a whole number of epochs"),
    (["--framework", "lightning", "--dataset-size", "10", "--epochs", "1", "--grad-accum",
      "0"], "--grad-accum: expected an integer >= 1, got 0"),
    (["--steps", "10", "--x", "samples"], "--x: expected one of step, epoch; a samples axis"),
])
def test_bad_training_flags_say_which_and_write_nothing(tmp_path: Path, args: list[str],
                                                        said: str) -> None:
    done = _lrviz("plot", "cosine", *args, "-o", "out.png", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.png").exists()


def test_training_keys_are_checked_by_the_table() -> None:
    with pytest.raises(SpecError, match=r"training.world_sise: unknown key .*world_size"):
        as_spec({"scheduler": {"type": "StepLR", "step_size": 1},
                 "training": {"framework": "accelerate", "world_sise": 2}})
    with pytest.raises(SpecError, match=r"training.epochs: expected a number > 0, got 0"):
        as_spec({"scheduler": {"type": "StepLR", "step_size": 1},
                 "training": {"framework": "hf-trainer", "dataset_size": 8, "epochs": 0}})
    with pytest.raises(SpecError, match=r"scheduler\.interval: expected step for HF Trainer"):
        as_spec({"scheduler": {"type": "StepLR", "step_size": 1, "interval": "epoch"},
                 "training": {"framework": "hf-trainer", "dataset_size": 8, "epochs": 1}})


def test_fractional_epochs_as_hf_runs_them() -> None:
    spec = as_spec({"scheduler": {"type": "StepLR", "step_size": 1},
                    "training": {"framework": "hf-trainer", "dataset_size": 37,
                                 "batch_size": 4, "grad_accum": 3, "epochs": 2.5}})
    assert spec.steps == math.ceil(2.5 * 4)
    assert np.array_equal(spec.plan.epoch, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2])


def test_check_takes_the_training_flags_for_every_spec(tmp_path: Path) -> None:
    (tmp_path / "cosine.yaml").write_text("scheduler: {type: CosineAnnealingLR, T_max: 300}\n")
    loop = ["--framework", "accelerate", "--dataset-size", "4800", "--batch-size", "4",
            "--epochs", "1"]
    done = _lrviz("check", "cosine.yaml", *loop, "--world-size", "4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "the schedule ends at optimizer step 75 of 300" in done.stdout
    bad = _lrviz("check", "cosine.yaml", *loop, "--world-size", "0", cwd=tmp_path)
    assert bad.returncode == 2
    assert "--world-size: expected an integer >= 1, got 0" in bad.stderr
    # every training key is a flag of check too, as of plot: split_batches steps once
    split = _lrviz("check", "cosine.yaml", *loop, "--world-size", "4", "--split-batches",
                   "true", "--drop-last", cwd=tmp_path)
    assert split.returncode == 0, split.stderr
    assert "once per process" not in split.stdout  # the batch of 4 is split over 4
    assert "the schedule ends at optimizer step 300 of 1200" in split.stdout
    wrong = _lrviz("check", "cosine.yaml", *loop, "--split-batches", "maybe", cwd=tmp_path)
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("error: --split-batches: ")


def test_an_epoch_of_billions_of_batches_makes_only_the_rows_run() -> None:
    # the per-epoch pattern is cut at the run's length: 5 rows of a 10^11-sample epoch
    # (an array per batch of the epoch would be 93 GiB)
    spec = as_spec({"scheduler": {"type": "StepLR", "step_size": 1, "interval": "step"},
                    "training": {"framework": "lightning", "dataset_size": 10**11,
                                 "batch_size": 8, "max_steps": 5}})
    assert spec.steps == 5
    assert np.array_equal(spec.plan.epoch, [0] * 5)
    assert spec.plan.samples().tolist() == [0, 8, 16, 24, 32]
