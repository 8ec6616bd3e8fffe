"""lrviz.loop: the training loop's rows and scheduler steps.

Two layers. The pure rules run always: the plain loop is README "What a row means" exactly, each
framework's counting on hand-worked cases, validation messages. The framework layer holds
every rule against recordings of the real frameworks training a tiny model on the CPU
(tests/frameworks/): the recordings committed in tests/frameworks/recordings/ are compared
always; with the frameworks installed (marker ``frameworks``) they are recorded afresh and
compared too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lrviz.errors import SpecError
from lrviz.loop import FRAMEWORKS, RULES, Loop, Plan, plan
from lrviz.warmups import hf_warmup_steps

RECORDINGS = Path(__file__).parent / "frameworks" / "recordings"


def _spec4(steps: int, steps_per_epoch: int, interval: str) -> list[int]:
    """README "What a row means", written out: scheduler.step() calls after each row."""
    out = []
    for k in range(steps):
        out.append(1 if interval == "step" or (k + 1) % steps_per_epoch == 0 else 0)
    return out


# ---------------------------------------------------------------------------------------
# the plain loop is README "What a row means"


@pytest.mark.parametrize("steps", [1, 2, 7, 30, 31])
@pytest.mark.parametrize("steps_per_epoch", [1, 3, 7, 40])
@pytest.mark.parametrize("interval", ["step", "epoch"])
def test_plain_loop_is_spec_section_4(steps: int, steps_per_epoch: int, interval: str) -> None:
    p = plan(Loop(max_steps=steps, steps_per_epoch=steps_per_epoch, interval=interval))
    assert p.rows == steps
    assert p.before == 0
    assert p.after.tolist() == _spec4(steps, steps_per_epoch, interval)
    assert p.epoch.tolist() == [k // steps_per_epoch for k in range(steps)]
    assert p.scheduler_steps == sum(_spec4(steps, steps_per_epoch, interval))
    assert p.lengths == {}
    assert p.notes == ()


def test_plain_loop_defaults_to_one_step_epochs_and_epochs_multiply() -> None:
    assert plan(Loop(max_steps=5)).after.tolist() == [1] * 5
    p = plan(Loop(epochs=3, steps_per_epoch=4, interval="epoch"))
    assert p.rows == 12 and p.after.tolist() == _spec4(12, 4, "epoch")


def test_calls_before_is_the_position_in_the_schedule() -> None:
    p = plan(Loop(framework="mmengine", batches_per_epoch=10, grad_accum=3, epochs=2,
                  interval="step"))
    assert p.calls_before().tolist() == [2, 5, 8, 11, 14, 17, 19]
    assert p.scheduler_steps == 20  # one per micro-batch


def test_a_ten_million_row_plan_is_cheap() -> None:
    import time

    start = time.perf_counter()
    p = plan(Loop(framework="lightning", batches_per_epoch=30_000_000, grad_accum=3, epochs=1,
                  interval="step", frequency=2))
    assert p.rows == 10_000_000
    assert time.perf_counter() - start < 5  # about 0.3 s; generous for a shared machine


# ---------------------------------------------------------------------------------------
# each rule on hand-worked cases


def test_hf_trainer_ceil_per_epoch_and_fractional_epochs() -> None:
    # 37 samples, 4 per process: 10 batches; accumulation 3: 3 full windows + 1 of 1 batch
    p = plan(Loop(framework="hf-trainer", dataset_size=37, batch_size=4, grad_accum=3,
                  epochs=2.5))
    assert p.steps_per_epoch == 4
    assert p.rows == math.ceil(2.5 * 4) == 10
    assert p.epoch.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert p.after.tolist() == [1] * 10
    assert p.lengths["num_training_steps"].value == 10
    assert "ceil(2.5 × 4) = 10" in p.lengths["num_training_steps"].note


def test_hf_trainer_max_steps_wins_over_epochs() -> None:
    p = plan(Loop(framework="hf-trainer", dataset_size=64, batch_size=8, epochs=1, max_steps=19))
    assert p.rows == 19 and p.epoch[-1] == 2
    assert "max_steps = 19" in p.lengths["num_training_steps"].note


def test_hf_trainer_shards_batches_over_processes() -> None:
    ceil = plan(Loop(framework="hf-trainer", dataset_size=37, batch_size=4, world_size=2,
                     epochs=1))
    floor = plan(Loop(framework="hf-trainer", dataset_size=37, batch_size=4, world_size=2,
                      drop_last=True, epochs=1))
    assert (ceil.batches_per_epoch, floor.batches_per_epoch) == (5, 4)
    assert ceil.after.tolist() == [1] * 5  # the Trainer's scheduler is not stepped per process


def test_hf_warmup_ratio_is_ceil() -> None:
    assert hf_warmup_steps(0.1, 33).value == 4
    assert hf_warmup_steps(0.0, 33).value == 0
    assert hf_warmup_steps(5, 33).value == 5
    assert "ceil(0.1 × 33 training steps) = 4" in hf_warmup_steps(0.1, 33).note
    with pytest.raises(SpecError, match=r"^scheduler\.warmup_ratio: expected a number >= 0"):
        hf_warmup_steps(-0.1, 33)


def test_lightning_frequency_counts_batches_within_each_epoch() -> None:
    # 10 batches, accumulation 3: optimizer steps at batches 2, 5, 8, 9 of every epoch;
    # frequency 2 steps after batches whose number (1-based) is even: 6 and 10
    p = plan(Loop(framework="lightning", batches_per_epoch=10, grad_accum=3, epochs=2,
                  interval="step", frequency=2))
    assert p.after.tolist() == [0, 1, 0, 1] * 2
    assert p.lengths["estimated_stepping_batches"].value == 8


def test_lightning_defaults_to_epoch_interval_and_skips_an_unfinished_epoch() -> None:
    p = plan(Loop(framework="lightning", batches_per_epoch=4, epochs=3))
    assert p.after.tolist() == [0, 0, 0, 1] * 3
    assert any("every epoch" in note for note in p.notes)
    # max_steps stops mid-epoch: that epoch's end never comes
    cut = plan(Loop(framework="lightning", batches_per_epoch=4, epochs=3, max_steps=6))
    assert cut.after.tolist() == [0, 0, 0, 1, 0, 0]
    every2 = plan(Loop(framework="lightning", batches_per_epoch=2, epochs=4, frequency=2))
    assert every2.after.tolist() == [0, 0, 0, 1, 0, 0, 0, 1]


def test_lightning_ranks_are_padded_before_batching() -> None:
    # 39 samples on 2 ranks: 20 each, floor(20 / 4) = 5 (accelerate's sharding gives 4)
    lt = plan(Loop(framework="lightning", dataset_size=39, batch_size=4, world_size=2,
                   drop_last=True, epochs=1))
    hf = plan(Loop(framework="hf-trainer", dataset_size=39, batch_size=4, world_size=2,
                   drop_last=True, epochs=1))
    assert (lt.batches_per_epoch, hf.batches_per_epoch) == (5, 4)


def test_accelerate_steps_once_per_process_unless_split_batches() -> None:
    p = plan(Loop(framework="accelerate", dataset_size=64, batch_size=4, world_size=2,
                  grad_accum=3, epochs=1))
    assert p.batches_per_epoch == 8 and p.rows == 3
    assert p.after.tolist() == [2, 2, 2]
    assert p.stops_at_total_steps
    split = plan(Loop(framework="accelerate", dataset_size=64, batch_size=4, world_size=2,
                      split_batches=True, epochs=1))
    assert split.batches_per_epoch == 16 and split.after.tolist() == [1] * 16


def test_torchtune_floors_and_caps_per_epoch() -> None:
    p = plan(Loop(framework="torchtune", dataset_size=37, batch_size=4, grad_accum=4, epochs=3))
    assert p.batches_per_epoch == 9 and p.steps_per_epoch == 2 and p.rows == 6
    assert p.lengths["num_training_steps"].value == 6
    capped = plan(Loop(framework="torchtune", dataset_size=100, batch_size=4, epochs=2,
                       max_steps_per_epoch=7))
    assert capped.rows == 14 and capped.epoch.tolist() == [0] * 7 + [1] * 7


def test_deepspeed_counts_windows_over_the_whole_run() -> None:
    # 10 micro-batches an epoch, accumulation 4, 2 epochs: boundaries at 3, 7, 11, 15, 19
    p = plan(Loop(framework="deepspeed", batches_per_epoch=10, grad_accum=4, epochs=2))
    assert p.rows == 5
    assert p.epoch.tolist() == [0, 0, 1, 1, 1]
    assert p.after.tolist() == [1] * 5


def test_mmengine_iterations_and_epochs() -> None:
    it = plan(Loop(framework="mmengine", batches_per_epoch=10, grad_accum=4, epochs=2,
                   interval="step"))
    # optimizer steps at iterations 3, 7, 11, 15 and the run's last, 19
    assert it.before == 3 and it.after.tolist() == [4, 4, 4, 4, 1]
    ep = plan(Loop(framework="mmengine", batches_per_epoch=10, grad_accum=4, epochs=2))
    # epoch ends after iterations 9 and 19: after rows 1 (iteration 7) and 4 (19)
    assert ep.before == 0 and ep.after.tolist() == [0, 1, 0, 0, 1]


def test_every_framework_is_one_rule() -> None:
    assert set(FRAMEWORKS) == {"plain", "hf-trainer", "lightning", "accelerate", "torchtune",
                               "deepspeed", "mmengine"}
    assert all(RULES[name].name == name for name in FRAMEWORKS)


# ---------------------------------------------------------------------------------------
# the plan against each framework's loop written out naively, micro-batch by micro-batch


def _naive_batches(loop: Loop) -> int:
    if loop.batches_per_epoch is not None:
        return loop.batches_per_epoch
    n, bs, ws = loop.dataset_size, loop.batch_size, loop.world_size
    assert n is not None
    drop = loop.drop_last if loop.drop_last is not None else loop.framework == "torchtune"
    cut = math.floor if drop else math.ceil
    if loop.framework in ("hf-trainer", "accelerate"):  # accelerate's BatchSamplerShard
        return cut(n / bs) if loop.split_batches else cut(n / (bs * ws))
    return cut(math.ceil(n / ws) / bs)  # a DistributedSampler pads, then the DataLoader


def _naive(loop: Loop) -> tuple[list[int], list[int], int]:
    """The epoch of every optimizer step, scheduler.step() calls before it, and in all."""
    fw, ga, f = loop.framework, loop.grad_accum, loop.frequency
    batches = _naive_batches(loop) if fw != "plain" else (loop.steps_per_epoch or 1)
    epochs: list[int] = []
    before: list[int] = []
    calls = 0
    rows = 0
    interval = loop.interval or ("epoch" if fw in ("lightning", "mmengine") else "step")
    if fw == "hf-trainer":
        per_epoch = max(1, -(-batches // ga))
        max_steps = loop.max_steps or math.ceil((loop.epochs or 0) * per_epoch)
    else:
        max_steps = loop.max_steps or 10**9
    n_epochs = math.ceil(loop.epochs) if loop.epochs is not None else 10**9
    if fw == "hf-trainer":
        n_epochs = 10**9  # the Trainer runs epochs until max_steps
    run = int(loop.epochs) * batches if loop.epochs is not None else None  # mmengine
    micro = 0
    for epoch in range(n_epochs):
        for j in range(batches):
            micro += 1
            if fw in ("hf-trainer", "accelerate", "lightning", "plain"):
                steps = (j + 1) % ga == 0 or j + 1 == batches
            elif fw == "torchtune":
                steps = (j + 1) % ga == 0
            elif fw == "deepspeed":
                steps = micro % ga == 0
            else:  # mmengine
                steps = micro % ga == 0 or micro == run
            if steps:
                epochs.append(epoch)
                before.append(calls)
                rows += 1
                if fw == "accelerate":
                    calls += 1 if loop.split_batches else loop.world_size
                elif fw == "lightning":
                    calls += interval == "step" and (j + 1) % f == 0
                elif fw == "plain":
                    calls += interval == "step" or (j + 1) % batches == 0
                elif fw != "mmengine":
                    calls += 1
            if fw == "mmengine" and interval == "step":
                calls += 1
            if fw == "torchtune" and (j + 1) // ga == loop.max_steps_per_epoch:
                break
            if rows >= max_steps:
                if j + 1 == batches and interval == "epoch" and fw in ("lightning", "mmengine") \
                        and (epoch + 1) % f == 0:
                    calls += 1
                return epochs, before, calls
        if interval == "epoch" and fw in ("lightning", "mmengine") and (epoch + 1) % f == 0:
            calls += 1
    return epochs, before, calls


def _random_loops(seed: int, count: int) -> list[Loop]:
    import random

    rng = random.Random(seed)
    loops = []
    while len(loops) < count:
        fw = rng.choice(FRAMEWORKS)
        sizes: dict[str, Any] = (
            {"batches_per_epoch": rng.randint(1, 12)} if rng.random() < 0.5 else
            {"dataset_size": rng.randint(8, 120), "batch_size": rng.choice([1, 2, 4, 8]),
             "drop_last": rng.choice([None, False, True])})
        loop = dict(framework=fw, grad_accum=rng.choice([1, 1, 2, 3, 4]),
                    world_size=rng.choice([1, 2, 4]),
                    epochs=rng.choice([None, 1, 2, 3]), max_steps=rng.choice([None, 1, 5, 13]),
                    interval=rng.choice([None, "step", "epoch"]),
                    frequency=rng.choice([1, 1, 2, 3]), split_batches=rng.random() < 0.2,
                    max_steps_per_epoch=rng.choice([None, 1, 3]), **sizes)
        if fw == "plain":
            loop.update(batches_per_epoch=None, dataset_size=None, batch_size=1, grad_accum=1,
                        world_size=1, drop_last=None, steps_per_epoch=rng.randint(1, 6))
        if fw == "hf-trainer" and rng.random() < 0.3:
            loop["epochs"] = rng.choice([0.5, 1.5, 2.5])
        candidate = Loop(**loop)
        try:
            plan(candidate)
        except SpecError:
            continue  # combinations the framework does not have
        loops.append(candidate)
    return loops


@pytest.mark.parametrize("loop", _random_loops(seed=15, count=600), ids=repr)
def test_plan_equals_the_loop_written_out(loop: Loop) -> None:
    p = plan(loop)
    epochs, before, total = _naive(loop)
    assert p.epoch.tolist() == epochs
    assert p.calls_before().tolist() == before
    assert p.scheduler_steps == total


# ---------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize(("loop", "message"), [
    (Loop(framework="keras", max_steps=3), "training.framework: expected one of plain, "),
    (Loop(max_steps=0), "training.max_steps: expected an integer >= 1, got 0"),
    (Loop(max_steps=True), "training.max_steps: expected an integer >= 1, got True"),
    (Loop(), "training.epochs: expected epochs or max_steps"),
    (Loop(max_steps=3, grad_accum=2), "training.grad_accum: expected 1: the plain loop"),
    (Loop(framework="hf-trainer", epochs=1), "training.dataset_size: expected one of "),
    (Loop(framework="hf-trainer", dataset_size=3, batch_size=4, drop_last=True, epochs=1),
     "training.dataset_size: an epoch has no batch"),
    (Loop(framework="lightning", batches_per_epoch=3, epochs=1.5),
     "training.epochs: expected a whole number of epochs"),
    (Loop(framework="hf-trainer", batches_per_epoch=3, epochs=float("nan")),
     "training.epochs: expected a number > 0, got nan"),
    (Loop(framework="hf-trainer", batches_per_epoch=3, epochs=1, interval="epoch"),
     "training.interval: expected step for HF Trainer, got 'epoch'"),
    (Loop(framework="hf-trainer", batches_per_epoch=3, epochs=1, frequency=2),
     "training.frequency: expected 1 (HF Trainer has no scheduler frequency), got 2"),
    (Loop(framework="lightning", batches_per_epoch=3, epochs=1, split_batches=True),
     "training.split_batches: expected false"),
    (Loop(framework="accelerate", batches_per_epoch=3, batch_size=3, world_size=2, epochs=1,
          split_batches=True), "training.batch_size: expected a multiple of world_size 2"),
    (Loop(framework="torchtune", dataset_size=30, batch_size=4, drop_last=False, epochs=1),
     "training.drop_last: expected true or left out"),
    (Loop(framework="torchtune", batches_per_epoch=3, grad_accum=4, epochs=1),
     "training.grad_accum: torchtune makes no optimizer step in an epoch"),
    (Loop(framework="deepspeed", batches_per_epoch=3, grad_accum=4, epochs=1),
     "training.grad_accum: DeepSpeed makes no optimizer step"),
    (Loop(framework="lightning", batches_per_epoch=3, epochs=1, max_steps_per_epoch=2),
     "training.max_steps_per_epoch: expected no value"),
    (Loop(framework="torchtune", batches_per_epoch=3, epochs=1, max_steps=2),
     "training.max_steps: expected no value (torchtune runs whole epochs"),
])
def test_invalid_loops_name_the_key(loop: Loop, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        plan(loop)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_the_key_path_prefix_is_the_callers() -> None:
    with pytest.raises(SpecError, match=r"^run\.yaml: training\.batch_size"):
        plan(Loop(framework="hf-trainer", batches_per_epoch=3, batch_size=0, epochs=1),
             where="run.yaml: training")


# ---------------------------------------------------------------------------------------
# against the frameworks' own runs


def _loop_of(record: dict[str, Any]) -> Loop:
    return Loop(**record["loop"])


def replay(p: Plan, base_lr: float, scheduler: dict[str, Any]) -> tuple[list[float], list[int]]:
    """The lr of every row, a fresh torch scheduler stepped as the plan says, and the
    ``scheduler.step()`` calls that reached torch before each row (and at the end).

    The scheduler is the recordings' (tests/frameworks/common.py): a cosine whose lr changes
    at every step, or a OneCycleLR, which accelerate stops stepping at its total_steps: a
    call goes through only while ``_step_count <= total_steps``.
    """
    torch = pytest.importorskip("torch")
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    kwargs = dict(scheduler)
    sched = getattr(torch.optim.lr_scheduler, kwargs.pop("type"))(optimizer, **kwargs)
    optimizer.step()  # a training loop's optimizer has stepped before its scheduler
    total = getattr(sched, "total_steps", None) if p.stops_at_total_steps else None
    calls = 0

    def step() -> None:
        nonlocal calls
        if total is None or sched._step_count <= total:
            sched.step()
            calls += 1

    lrs, calls_before = [], []
    for _ in range(p.before):
        step()
    for k in range(p.rows):
        lrs.append(optimizer.param_groups[0]["lr"])
        calls_before.append(calls)
        for _ in range(int(p.after[k])):
            step()
    return lrs, [*calls_before, calls]


def assert_plan_matches(record: dict[str, Any]) -> None:
    """A framework's recorded run against the plan: rows, epochs, calls, lr float for float."""
    p = plan(_loop_of(record))
    case = record["case"]
    assert p.batches_per_epoch == record["batches_per_epoch"], f"{case}: batches per epoch"
    if record.get("loader_only"):
        return
    assert p.rows == len(record["lr"]), f"{case}: rows"
    assert p.epoch.tolist() == record["epoch"], f"{case}: epochs"
    for name, value in record.get("lengths", {}).items():
        assert p.lengths[name].value == value, f"{case}: {name}"
    if "warmup" in record:
        total = p.lengths["num_training_steps"].value
        assert hf_warmup_steps(record["warmup"]["ratio"], total).value == \
            record["warmup"]["steps"], f"{case}: warmup"
    lrs, calls = replay(p, record["base_lr"], record["scheduler"])
    assert calls == [*record["calls_before"], record["calls_total"]], f"{case}: scheduler steps"
    assert lrs == record["lr"], f"{case}: lr"
    if record["scheduler"]["type"] != "OneCycleLR":  # nothing capped: the plan's own counts
        assert p.calls_before().tolist() == record["calls_before"], f"{case}: calls before"
        assert p.scheduler_steps == record["calls_total"], f"{case}: scheduler steps"


def recorded(folder: Path = RECORDINGS) -> list[dict[str, Any]]:
    """Every run recorded in ``folder`` (one JSON file per framework)."""
    out: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        out.extend(json.loads(path.read_text())["runs"])
    return out


@pytest.mark.parametrize("record", recorded(), ids=lambda r: r["case"])
def test_committed_recordings_match_the_plan(record: dict[str, Any]) -> None:
    assert_plan_matches(record)


def test_every_recorded_framework_has_recordings() -> None:
    frameworks = {record["loop"]["framework"] for record in recorded()}
    assert {"hf-trainer", "lightning", "accelerate", "torchtune", "mmengine"} <= frameworks


def test_plans_are_read_only_arrays_of_int64() -> None:
    p = plan(Loop(framework="accelerate", batches_per_epoch=5, world_size=2, epochs=2))
    assert p.after.dtype == np.int64 and p.epoch.dtype == np.int64
    with pytest.raises(ValueError):
        p.after[0] = 3
