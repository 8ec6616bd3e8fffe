"""lrviz verify: alignment and diagnosis on logs built from real simulations, on the logs
the frameworks wrote (tests/runs_data), and the command's outputs and refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lrviz.api import simulate
from lrviz.cli import app
from lrviz.runs.model import LoggedRun
from lrviz.verify import compare

DATA = Path(__file__).parent / "runs_data"
SPEC = {"steps": 200, "optimizer": {"type": "AdamW", "lr": 3e-4},
        "scheduler": {"type": "OneCycleLR", "max_lr": 3e-3}}


@pytest.fixture(scope="module")
def plan() -> np.ndarray:
    return np.asarray(simulate(SPEC).lrs[0])


def _run(steps: np.ndarray, lr: np.ndarray, **kwargs: object) -> LoggedRun:
    return LoggedRun(np.asarray(steps, dtype=np.int64), np.asarray(lr, dtype=np.float64),
                     "lr", "run.csv", "table", **kwargs)  # type: ignore[arg-type]


def test_follows_hf_counting_every_tenth_step(plan: np.ndarray) -> None:
    rows = np.arange(9, 200, 10)
    result = compare(plan, _run(rows + 1, plan[rows], first_step=1))
    assert result.follows and result.verdict.first is None


def test_float32_logs_follow_when_rounded(plan: np.ndarray) -> None:
    logged = plan.astype(np.float32).astype(np.float64)
    assert compare(plan, _run(np.arange(200), logged, float32=True)).follows
    assert not compare(plan, _run(np.arange(200), logged)).follows  # not bit for bit


def test_unknown_counting_tries_both(plan: np.ndarray) -> None:
    result = compare(plan, _run(np.arange(1, 201), plan, first_step=None))
    assert result.follows and "counted from 1" in result.verdict.message


def test_shifted_by_one(plan: np.ndarray) -> None:
    result = compare(plan, _run(np.arange(1, 200), plan[1:], first_step=1))  # step N: row N
    assert result.verdict.kind == "shifted"
    assert (int(result.run.steps[result.verdict.first]), result.run.lr[0]) == (1, plan[1])


@pytest.mark.parametrize(("speed", "lag"), [(2, 0), (4, 0), (4, 3), (8, 0)])
def test_runs_n_times_fast(plan: np.ndarray, speed: int, lag: int) -> None:
    rows = np.arange(200 // speed)
    rows = rows[rows * speed + lag < 200]
    result = compare(plan, _run(rows, plan[rows * speed + lag]))
    assert (result.verdict.kind, result.verdict.factor) == ("fast", speed)


def test_restarts_at_k_between_logged_steps(plan: np.ndarray) -> None:
    full = np.concatenate([plan[:73], plan[:127]])  # resumed at 73, scheduler rebuilt
    rows = np.arange(0, 200, 5)
    result = compare(plan, _run(rows, full[rows]))
    assert (result.verdict.kind, result.verdict.at) == ("restarts", 73)
    assert result.rows[result.verdict.first] == 75  # the first logged step after it


def test_restarts_to_the_initial_lr(plan: np.ndarray) -> None:
    logged = plan.copy()
    logged[120:] = plan[0] * np.linspace(1, 0.5, 80)  # back to the first lr, then its own way
    result = compare(plan, _run(np.arange(200), logged))
    assert (result.verdict.kind, result.verdict.at) == ("restarts", 120)


def test_lags_when_the_scheduler_misses_steps(plan: np.ndarray) -> None:
    """fp16 loss scaling skips optimizer steps, and the HF Trainer then skips
    scheduler.step(): the log falls behind the plan (seen on real whisper fine-tunes)."""
    skipped = np.searchsorted([13, 40, 41], np.arange(200), side="right")  # 0, 1, 2, 3
    rows = np.arange(4, 200, 5)
    result = compare(plan, _run(rows + 1, plan[rows - skipped[rows]], first_step=1))
    assert (result.verdict.kind, result.verdict.factor, result.verdict.at) == ("lags", 3, 14)
    assert "the plan's 1 to 3 steps earlier" in result.verdict.message
    assert result.rows[result.verdict.first] == 14
    catching_up = plan[rows - skipped[rows]]
    catching_up[-5:] = plan[rows[-5:]]  # back on the plan: no lag explains that
    assert compare(plan, _run(rows + 1, catching_up, first_step=1)).verdict.kind == "differs"


def test_scaled_by_a_constant(plan: np.ndarray) -> None:
    scaled = np.asarray(simulate({**SPEC, "scheduler": {**SPEC["scheduler"],
                                                        "max_lr": 6e-3}}).lrs[0])
    result = compare(plan, _run(np.arange(200), scaled))
    assert result.verdict.kind == "scaled" and result.verdict.factor == pytest.approx(2)


def test_differs_from_step_k(plan: np.ndarray) -> None:
    logged = plan.copy()
    logged[150:] *= 0.1  # a manual cut at 150
    result = compare(plan, _run(np.arange(200), logged))
    assert result.verdict.kind == "differs" and result.rows[result.verdict.first] == 150
    assert "first difference at logged step 150 (plan step 150)" in result.line()


def test_decimal_text_gets_a_tiny_tolerance_only(plan: np.ndarray) -> None:
    printed = np.array([float(f"{v:.15g}") for v in plan])
    assert compare(plan, _run(np.arange(200), printed, decimal=True)).follows
    assert not compare(plan, _run(np.arange(200), printed * (1 + 1e-9), decimal=True)).follows


def test_a_longer_run_does_not_follow(plan: np.ndarray) -> None:
    result = compare(plan[:100], _run(np.arange(200), plan))
    assert result.verdict.kind == "longer"


# --- the logs the frameworks wrote (tests/runs_data/write_logs.py) --------------------------

@pytest.mark.parametrize(("run", "kind", "first_step"), [
    ("hf_follows", "follows", None),
    ("lightning_follows", "follows", None),
    ("tb_follows", "follows", None),
    ("mlflow_db", "follows", None),
    ("mlruns", "follows", None),
    ("hf_old_shift", "shifted", 1),
    ("tb_shift", "shifted", 0),
    ("hf_base_lr", "scaled", 1),
    ("tb_fast", "fast", 1),
    ("lightning_micro", "fast", 0),
    ("hf_scheduler_only", "restarts", 13),
    ("tb_rebuilt", "restarts", 20),
])
def test_framework_logs_are_diagnosed(run: str, kind: str, first_step: int | None) -> None:
    result = CliRunner().invoke(app, ["verify", str(DATA / "cosine.yaml"), str(DATA / run)])
    assert result.exit_code == (0 if kind == "follows" else 1), result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1
    expected = {"follows": "follows the plan", "shifted": "shifted by one step",
                "scaled": "scaled by a constant: the log is 0.5 times", "fast": "runs 2 times fast",
                "restarts": "restarts at plan step"}[kind]
    assert expected in line
    if first_step is not None:
        assert f"first difference at logged step {first_step} " in line


def test_outputs_side_by_side_and_the_overlay(tmp_path: Path) -> None:
    out = [tmp_path / "o.png", tmp_path / "d.csv", tmp_path / "d.json", tmp_path / "o.svg"]
    result = CliRunner().invoke(app, ["verify", str(DATA / "cosine.yaml"),
                                      str(DATA / "hf_follows"), str(DATA / "tb_rebuilt"),
                                      *[a for p in out for a in ("-o", str(p))]])
    assert result.exit_code == 1, result.output
    assert all(p.stat().st_size > 0 for p in out)
    rows = (tmp_path / "d.csv").read_text().splitlines()
    assert rows[0] == "run,step,plan_step,logged,plan,difference"
    assert len(rows) == 1 + 16 + 40
    document = json.loads((tmp_path / "d.json").read_text())
    assert [r["diagnosis"] for r in document["runs"]] == ["follows", "restarts"]
    assert document["runs"][1]["first_difference"]["plan_step"] == 20


def test_unreadable_runs_exit_2_and_write_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "trainer_state.json"
    bad.write_text('{"log_history": [{"learning_rate": "x", "step": 1}]}')
    out = tmp_path / "o.png"
    result = CliRunner().invoke(app, ["verify", str(DATA / "cosine.yaml"),
                                      str(DATA / "hf_follows"), str(bad), "-o", str(out)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "expected a number" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_a_bad_output_is_refused_before_any_work(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["verify", str(DATA / "cosine.yaml"), "missing",
                                      "-o", str(tmp_path / "o.md")])
    assert result.exit_code == 2 and "unknown output format '.md'" in result.output


def test_the_overlay_needs_neither_torch_nor_the_engine(tmp_path: Path) -> None:
    code = """
import io, sys
import numpy as np
from lrviz.runs.model import LoggedRun
from lrviz.verify import compare
from lrviz.render.overlay import save_overlay, write_csv, write_json
plan = np.linspace(0.1, 0.0, 50)
run = LoggedRun(np.arange(50), plan * 2, "lr", "r", "table")
c = compare(plan, run)
for suffix in (".png", ".svg"):
    save_overlay([c], io.BytesIO(), suffix)
write_csv([c], io.BytesIO()); write_json([c], io.BytesIO())
print(",".join(m for m in ("torch", "lrviz.engine") if m in sys.modules) or "none")
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"


# --- alignment from the spec's training loop (lrviz.loop.LOGS) -----------------------------

def _training_spec(tmp_path: Path, interval: str | None = None, **training: object) -> Path:
    """cosine.yaml's plan, run by a framework: 40 batches of one epoch."""
    scheduler: dict[str, object] = {"type": "CosineAnnealingLR", "T_max": 40}
    if interval is not None:
        scheduler["interval"] = interval
    spec = {"name": "cosine", "optimizer": {"type": "SGD", "lr": 0.1}, "scheduler": scheduler,
            "training": {"batches_per_epoch": 40, "epochs": 1, **training}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def _verify(spec: Path, run: Path | str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["verify", str(spec), str(run)])
    return result.exit_code, result.output


def test_the_framework_counts_the_steps_of_a_log_that_does_not(tmp_path: Path) -> None:
    # the event file counts from 0 (a plain loop wrote it); unnamed, both countings are tried
    assert _verify(DATA / "cosine.yaml", DATA / "tb_follows")[0] == 0
    lightning = _training_spec(tmp_path, framework="lightning", interval="step")
    code, out = _verify(lightning, DATA / "tb_follows")
    assert code == 0 and "counted from 1" not in out
    # the HF Trainer logs step N for row N-1: this log holds the next step's lr under it
    code, out = _verify(_training_spec(tmp_path, framework="hf-trainer"), DATA / "tb_follows")
    assert code == 1 and "shifted by one step" in out


def test_a_log_counted_from_1_follows_hf_without_guessing(tmp_path: Path) -> None:
    plan = np.asarray(simulate(str(DATA / "cosine.yaml")).lrs[0])
    log = tmp_path / "log.csv"
    log.write_text("step,lr\n" + "".join(f"{k + 1},{float(v)!r}\n" for k, v in enumerate(plan)))
    code, out = _verify(_training_spec(tmp_path, framework="hf-trainer"), log)
    assert code == 0 and "follows the plan:" in out and "counted from 1" not in out
    code, out = _verify(_training_spec(tmp_path, framework="lightning", interval="step"), log)
    assert code == 1 and "follows" not in out  # Lightning counts from 0: no second guess


def test_a_trainer_state_keeps_hf_counting_whatever_the_spec_names(tmp_path: Path) -> None:
    spec = _training_spec(tmp_path, framework="lightning", interval="step")
    code, out = _verify(spec, DATA / "hf_follows")
    assert code == 0, out


def test_accelerate_processes_are_planned_and_named(tmp_path: Path) -> None:
    two = _training_spec(tmp_path, framework="accelerate", world_size=2)
    assert _verify(two, DATA / "tb_fast")[0] == 0  # the plan steps twice per optimizer step
    code, out = _verify(two, DATA / "tb_follows")
    assert code == 1 and "runs 2 times slow" in out
    split = _training_spec(tmp_path, framework="accelerate", world_size=2, split_batches=True,
                           batch_size=2)
    code, out = _verify(split, DATA / "tb_fast")
    assert code == 1
    assert "runs 2 times fast" in out
    assert "accelerate steps the scheduler once per process: 2 processes" in out


def test_stepping_per_micro_batch_names_grad_accum(tmp_path: Path) -> None:
    spec = _training_spec(tmp_path, framework="lightning", interval="step", grad_accum=2)
    code, out = _verify(spec, DATA / "tb_fast")
    assert code == 1 and "runs 2 times fast" in out
    assert "the scheduler stepped per micro-batch: grad_accum 2" in out


def test_mmengine_logs_iterations_and_verify_reads_the_optimizer_steps(tmp_path: Path) -> None:
    spec = _training_spec(tmp_path, framework="mmengine", interval="step", grad_accum=2)
    plan = np.asarray(simulate(str(spec)).lrs[0])
    # iteration i (logged as i + 1): the optimizer steps at odd ones; the lr in between moves
    iterations = np.arange(2 * plan.size)
    lr = np.where(iterations % 2 == 1, np.repeat(plan, 2), 0.5)
    result = compare(plan, _run(iterations + 1, lr, first_step=None),
                     loop=_loop_of(spec))
    assert result.follows, result.line()
    assert len(result.run) == plan.size


def test_mmengine_scalars_json_is_read_by_its_optimizer_steps(tmp_path: Path) -> None:
    """mmengine's own scalars.json says it counts from 1, and it counts iterations: under
    accumulative_counts 2 its iteration 2 is the plan's row 0. A real Runner's log (warmup by
    iteration beside a MultiStepLR) said "differs from plan step 0" before."""
    spec = _training_spec(tmp_path, framework="mmengine", interval="step", grad_accum=2)
    plan = np.asarray(simulate(str(spec)).lrs[0])
    iterations = np.arange(2 * plan.size)
    lr = np.where(iterations % 2 == 1, np.repeat(plan, 2), 0.5)  # the lr moves in between
    work = tmp_path / "work" / "20261202_000000" / "vis_data"
    work.mkdir(parents=True)
    (work / "scalars.json").write_text("".join(
        json.dumps({"lr": float(v), "loss": 1.0, "step": int(i) + 1}) + "\n"
        for i, v in zip(iterations, lr, strict=True)))
    code, output = _verify(spec, tmp_path / "work")
    assert code == 0, output
    assert f"follows the plan: {plan.size} logged lr values" in output


def _loop_of(spec: Path) -> object:
    from lrviz.api import load_spec
    from lrviz.verify import Loop

    return Loop.of(load_spec(str(spec)))


def test_first_differences_at_one_step_share_a_label_and_labels_do_not_overlap() -> None:
    from lrviz.render.overlay import overlay

    plan = np.linspace(0.1, 0.0, 50)
    runs = [LoggedRun(np.arange(50), plan * factor, "lr", f"r{factor}", "table")
            for factor in (2.0, 3.0)]  # both differ from step 0
    runs.append(LoggedRun(np.arange(50), np.where(np.arange(50) < 20, plan, 0.1), "lr", "r",
                          "table"))  # a restart at step 20
    fig = overlay([compare(plan, run) for run in runs])
    labels = [t for t in fig.axes[0].texts if t.get_text().startswith("first difference")]
    assert sorted(t.get_text() for t in labels) == ["first difference: plan step 0",
                                                    "first difference: plan step 20"]
    assert {t.xy[1] for t in labels} == {1.0}  # both anchored at the top of the axes
    assert len({t.xyann[1] for t in labels}) == 2  # one below the other


def test_a_trainer_state_is_no_deepspeed_config() -> None:
    """trainer_state.json has a train_batch_size, one of DeepSpeed's own keys: it was read
    as a DeepSpeed config ("neither scheduler: nor optimizer:"), and compare would have
    called every trainer_state.json both a spec and a run."""
    from lrviz import readers

    state = json.loads((DATA / "hf_follows" / "trainer_state.json").read_text())
    assert "train_batch_size" in state
    assert readers.claims(state) == []
    result = CliRunner().invoke(app, ["plot", str(DATA / "hf_follows" / "trainer_state.json")])
    assert result.exit_code == 2 and "not a spec lrviz reads" in result.stderr


def test_a_long_log_that_differs_is_checked_in_few_full_passes(
    plan: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every (speed, lag) of "runs N times fast" and every restart point was a full pass
    over the log: a million logged steps that differ took 40 s or more. Now the first
    HEAD points rule a candidate out first."""
    import lrviz.verify as verify

    full: list[int] = []
    matches = verify._matches

    def counted(*args: object) -> tuple[bool, int]:
        points = args[3]
        if len(points) > verify.HEAD:  # type: ignore[arg-type]
            full.append(len(points))  # type: ignore[arg-type]
        return matches(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(verify, "_matches", counted)
    rows = np.arange(200_000)
    long_plan = np.cos(np.linspace(0, 3, rows.size)) * 0.1 + 0.1
    logged = long_plan.copy()
    logged[rows.size // 2:] *= 1.0001
    logged[rows.size * 3 // 4:] += 1e-4
    result = compare(long_plan, _run(rows, logged))
    assert result.verdict.kind == "differs"
    assert len(full) <= 4, full


def test_the_training_flags_describe_the_loop_of_a_config_that_leaves_it_out(
        tmp_path: Path) -> None:
    # a config without its dataset (as a TrainingArguments file is) verifies with the
    # training flags plot and check take, and their errors name the flag
    spec = tmp_path / "cosine.yaml"
    spec.write_text("optimizer: {type: SGD, lr: 0.1}\n"
                    "scheduler: {type: CosineAnnealingLR, T_max: 40}\n")
    loop = ["--framework", "hf-trainer", "--batch-size", "2", "--epochs", "2"]
    follows = CliRunner().invoke(app, ["verify", str(spec), str(DATA / "hf_follows"), *loop,
                                       "--dataset-size", "40"])
    assert follows.exit_code == 0 and "follows the plan" in follows.output
    half = CliRunner().invoke(app, ["verify", str(spec), str(DATA / "hf_follows"), *loop,
                                    "--dataset-size", "20"])
    assert half.exit_code == 1 and "the run is longer than the plan" in half.output
    bad = CliRunner().invoke(app, ["verify", str(spec), str(DATA / "hf_follows"), *loop,
                                   "--dataset-size", "0"])
    assert bad.exit_code == 2
    assert "--dataset-size: expected an integer >= 1, got 0" in bad.output


def test_a_plan_stepped_per_epoch_against_a_run_stepped_per_step_names_the_interval(
        tmp_path: Path) -> None:
    # Lightning steps a scheduler per epoch unless told interval: step; the run (every
    # step) then runs 4 times fast against a plan of 4-step epochs, and the line says why
    spec = _training_spec(tmp_path, framework="lightning", batches_per_epoch=4, epochs=10)
    code, out = _verify(spec, DATA / "tb_follows")
    assert code == 1
    assert "runs 4 times fast" in out
    assert "likelier here: the run stepped it every optimizer step, the plan once per epoch " \
           "of 4 steps; set interval: step in the spec" in out
    fixed = _training_spec(tmp_path, interval="step", framework="lightning",
                           batches_per_epoch=4, epochs=10)
    assert _verify(fixed, DATA / "tb_follows")[0] == 0
