"""The training loop: which optimizer steps a run makes and when its scheduler steps.

This is the one place that knows how a training loop drives a scheduler (the spec's
coming ``training:`` section; README "What a row means" is the ``plain`` rule below).
:class:`Loop` describes the loop, :func:`plan` turns it into plain numbers:

- a **row** is one optimizer step, and its lr is the lr that optimizer step used;
- ``plan.epoch[k]`` is the epoch row ``k`` belongs to;
- ``plan.after[k]`` is how many times ``scheduler.step()`` runs after row ``k`` and
  before row ``k + 1`` (``plan.before`` counts the calls before row 0);
- ``plan.lengths`` are the lengths the framework fills in for the scheduler
  (``num_training_steps``, ``estimated_stepping_batches``), and ``plan.notes`` say in plain
  words what was counted, filled or assumed.

Every framework is one :class:`Rule` in :data:`RULES`: how it counts batches per process,
where its optimizer steps fall under gradient accumulation, what drives its scheduler,
and what it fills in. Nothing outside this table branches on a framework's name.

Time is counted in micro-batches (batches one process sees): the run is epochs of ``B``
micro-batches; the optimizer steps at some of them (the rows); the scheduler steps at
optimizer steps, at every micro-batch, or at epoch ends. A scheduler step at micro-batch
``t`` belongs after the last row at or before ``t``.

The rules, as the frameworks themselves run them (tests/frameworks/ trains a tiny model on
the CPU with torch 2.13.0, transformers 5.24.0, lightning 2.6.6, accelerate 1.15.0,
torchtune 0.6.1 and mmengine-lite 0.10.7 and records the lr before every optimizer step and
every ``scheduler.step()`` call; DeepSpeed from its source only). ``N`` is dataset_size.

- HF Trainer: batches per process ``ceil(N / (batch_size * world_size))`` (floor with
  ``drop_last``; accelerate's BatchSamplerShard, the same as sharding then dividing);
  optimizer steps per epoch ``max(1, ceil(batches / grad_accum))``: ``Trainer._run_epoch``
  steps at the epoch's last batch with a partial window (37 samples, batch 4, accumulation
  3: 10 batches, 4 steps per epoch, the last on 1 batch); ``max_steps = ceil(epochs *
  steps_per_epoch)`` unless ``max_steps > 0`` (``epochs: 2.5`` gives 10 rows, the third
  epoch cut after 2); the scheduler steps once per optimizer step whatever the world size
  (the Trainer does not prepare its scheduler with accelerate; 2 gloo processes, 37
  samples: 5 batches each, 5 rows, 5 calls); ``num_training_steps = max_steps``; warmup from
  a ratio ``ceil(ratio * num_training_steps)`` (``TrainingArguments.get_warmup_steps``;
  transformers 5 reads ``warmup_steps < 1`` as the ratio).
- Lightning: ``interval`` defaults to ``epoch``; with ``step`` the scheduler steps after a
  batch where the optimizer stepped and ``(batch_idx + 1) % frequency == 0``, ``batch_idx``
  counting batches within the epoch (100 samples, batch 4, drop_last, accumulation 4,
  frequency 3: optimizer steps at batches 3, 7, ..., 23 and 24 of each epoch, the scheduler
  only after batches 11 and 23: 2 calls per 7 steps); the optimizer steps at the last batch
  of an epoch even with a partial window; with ``epoch`` it steps at the end of every
  ``frequency``-th epoch, and only when the epoch ran to its end (``max_steps`` 25 of 30:
  no step for the cut epoch; ``max_steps`` 4 ending an epoch exactly: it steps);
  ``estimated_stepping_batches = ceil(batches / accum) * epochs`` capped by ``max_steps``;
  with several processes its DistributedSampler pads every rank to ``ceil(N / world_size)``
  samples before batching (39 samples, batch 4, drop_last, 2 processes: 5 batches, where
  accelerate's sharding gives 4).
- accelerate: batches per process as HF; optimizer steps at each ``grad_accum``-th batch
  and at the end of the dataloader; a prepared scheduler steps ``num_processes`` times per
  optimizer step unless ``split_batches`` (then once, and a batch is split over the
  processes: ``ceil(N / batch_size)`` batches per process); a scheduler with
  ``total_steps`` (OneCycleLR) is no longer stepped once its ``_step_count`` (1 + the steps
  so far) passes ``total_steps`` (not under ``split_batches``): the engine applies that
  cap, :attr:`Plan.stops_at_total_steps` says so. The calls made while accumulating do not
  count towards it: ``AcceleratedScheduler`` would bump ``_step_count`` for them when
  ``adjust_scheduler`` (documented default true), but ``GradientAccumulationPlugin.to_kwargs``
  leaves default values out and ``GradientState`` reads the missing key as false (recorded:
  OneCycleLR total_steps 9, 2 processes, accumulation 3, 6 optimizer steps: 9 real steps,
  the last row's lr the one after 9 steps, where an early cap would have stopped at 4).
- torchtune: ``DataLoader(drop_last=True)`` over a DistributedSampler (every rank padded to
  ``ceil(N / world_size)`` samples); ``steps_per_epoch = batches // grad_accum`` (floor:
  the last partial window of an epoch never steps; its gradients carry into the next
  epoch's first step), capped by ``max_steps_per_epoch``; ``num_training_steps = epochs *
  steps_per_epoch``; the scheduler steps once per optimizer step. The recipe's own
  ``train()`` and ``_setup_data`` ran on a stand-in model; ``num_training_steps`` is the
  recipe's ``setup()`` arithmetic, restated.
- DeepSpeed (its own loop, ``engine.step()`` per micro-batch): the accumulation boundary is
  ``(micro_steps + 1) % grad_accum == 0`` over the whole run (not reset per epoch; an
  epoch's leftover micro-batches join the next epoch's first window) and the scheduler steps
  right after the optimizer at those boundaries only. Source only (``DeepSpeedEngine``'s
  ``is_gradient_accumulation_boundary`` and ``_take_model_step``): not installed here.
- mmengine: an iteration is a micro-batch; ``OptimWrapper.should_update`` steps at every
  ``accumulative_counts``-th iteration over the whole run and at the run's last iteration
  (``_max_counts = max_epochs * len(dataloader)``); ``ParamSchedulerHook`` steps
  iteration-based schedulers (``by_epoch=False``) after every iteration (``grad_accum``
  times per optimizer step, and ``grad_accum - 1`` times before the first) and epoch-based
  ones (mmengine's default) after every epoch (37 samples, batch 4, accumulation 4, 2
  epochs: optimizer steps at iterations 3, 7, 11, 15, 19, the first with the lr after 3
  calls). ``max_steps`` is lrviz's: the run stops after its last optimizer step.
- plain (README "What a row means"): a row is a step; the scheduler steps after every row, or with
  ``interval: epoch`` after row ``k`` when ``(k + 1) % steps_per_epoch == 0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from lrviz.errors import SpecError
from lrviz.keys import FRAMEWORKS, X_AXES
from lrviz.plan import Filled, Plan

Interval = Literal["step", "epoch"]
# Where a framework's optimizer steps fall under gradient accumulation:
# "epoch-ceil":  every grad_accum-th batch of an epoch and the epoch's last batch;
# "epoch-floor": every grad_accum-th batch of an epoch, leftovers never step;
# "run":         every grad_accum-th micro-batch counted over the whole run;
# "run-final":   as "run", and the run's last micro-batch too.
Windows = Literal["epoch-ceil", "epoch-floor", "run", "run-final"]
# How batches per process follow from dataset_size:
# "shard":   accelerate's BatchSamplerShard, ceil(N / (batch_size * world_size)) (floor with
#            drop_last; with split_batches a batch is split, ceil(N / batch_size));
# "sampler": a DistributedSampler pads each rank to ceil(N / world_size) samples, then the
#            DataLoader batches them, ceil (floor with drop_last).
Loader = Literal["shard", "sampler"]
# What one scheduler step per row is tied to under interval "step":
# "optimizer": the optimizer step; "batch": every micro-batch (mmengine iteration-based).
StepsOn = Literal["optimizer", "batch"]


class TooLong(SpecError):
    """A plan of more rows than ``Loop.limit``; ``rows`` may be a float (epochs: 1e308)."""

    def __init__(self, rows: float, where: str) -> None:
        super().__init__(f"the run would have {rows:.6g} optimizer steps, over the cap of rows",
                         where)
        self.rows = rows


@dataclass(frozen=True)
class Loop:
    """A training loop, as the spec's coming ``training:`` section describes it.

    ``None`` means "not given": the framework's default applies. ``max_steps`` is the run's
    length in optimizer steps (the plain loop's ``steps``); ``epochs`` may be fractional
    where the framework allows it (HF Trainer).
    """

    framework: str = "plain"
    dataset_size: int | None = None
    batches_per_epoch: int | None = None
    batch_size: int = 1
    world_size: int = 1
    grad_accum: int = 1
    drop_last: bool | None = None
    epochs: float | None = None
    max_steps: int | None = None
    interval: str | None = None
    frequency: int = 1
    split_batches: bool = False
    steps_per_epoch: int | None = None
    max_steps_per_epoch: int | None = None
    tokens_per_sample: int | None = None
    limit: int | None = None  # the most rows a plan may have (refused before allocating)


@dataclass(frozen=True)
class Rule:
    """How one framework drives the scheduler: data, read by :func:`plan`."""

    name: str
    title: str  # for notes: "HF Trainer"
    loader: Loader
    windows: Windows
    steps_on: StepsOn = "optimizer"
    intervals: tuple[str, ...] = ("step",)  # the first is the default
    frequency: bool = False  # lightning's frequency (batches under step, epochs under epoch)
    per_process: bool = False  # accelerate: the scheduler steps once per process
    fractional_epochs: bool = False
    max_steps: bool = True  # False: the framework has no run length in optimizer steps
    fixed_drop_last: bool | None = None
    counts_batches: bool = True  # False: the plain loop counts optimizer steps only
    stops_at_total_steps: bool = False
    # lengths the framework fills in: name -> function(plan numbers) -> Filled
    fills: tuple[tuple[str, Callable[[_Counts], Filled]], ...] = ()


@dataclass(frozen=True)
class _Counts:
    """The numbers a rule's fillers read."""

    rows: int
    steps_per_epoch: int | None
    epochs: float | None
    max_steps: int | None
    batches: int
    grad_accum: int


def _hf_num_training_steps(c: _Counts) -> Filled:
    if c.max_steps is not None:
        how = f"max_steps = {c.max_steps}"
    else:
        how = (f"ceil(epochs × optimizer steps per epoch) = ceil({_num(c.epochs)} × "
               f"{c.steps_per_epoch}) = {c.rows}")
    return Filled(c.rows, f"HF Trainer passes num_training_steps = {how} to the scheduler")


def _torchtune_num_training_steps(c: _Counts) -> Filled:
    return Filled(c.rows, f"torchtune passes num_training_steps = epochs × steps per epoch = "
                          f"{_num(c.epochs)} × {c.steps_per_epoch} = {c.rows} to the scheduler")


def _lightning_estimated(c: _Counts) -> Filled:
    how = (f"ceil({c.batches} batches / {c.grad_accum}) × {_num(c.epochs)} epochs"
           if c.epochs is not None else "max_steps")
    if c.epochs is not None and c.max_steps is not None:
        how += f", capped by max_steps {c.max_steps}"
    return Filled(c.rows, f"Lightning's trainer.estimated_stepping_batches = {how} = {c.rows}")


RULES: dict[str, Rule] = {rule.name: rule for rule in (
    Rule("plain", "the plain loop", loader="shard", windows="epoch-ceil",
         intervals=("step", "epoch"), counts_batches=False),
    Rule("hf-trainer", "HF Trainer", loader="shard", windows="epoch-ceil",
         fractional_epochs=True, fills=(("num_training_steps", _hf_num_training_steps),)),
    Rule("lightning", "Lightning", loader="sampler", windows="epoch-ceil",
         intervals=("epoch", "step"), frequency=True,
         fills=(("estimated_stepping_batches", _lightning_estimated),)),
    Rule("accelerate", "accelerate", loader="shard", windows="epoch-ceil", per_process=True,
         stops_at_total_steps=True),
    Rule("torchtune", "torchtune", loader="sampler", windows="epoch-floor",
         fixed_drop_last=True, max_steps=False,
         fills=(("num_training_steps", _torchtune_num_training_steps),)),
    Rule("deepspeed", "DeepSpeed", loader="sampler", windows="run"),
    # mmengine's param schedulers default to by_epoch=True: interval epoch
    Rule("mmengine", "mmengine", loader="sampler", windows="run-final", steps_on="batch",
         intervals=("epoch", "step")),
)}

assert tuple(RULES) == FRAMEWORKS, "one rule per framework the spec names (lrviz.keys)"


@dataclass(frozen=True)
class Logs:
    """How a framework logs the lr, for ``lrviz verify``: data, read by :mod:`lrviz.verify`."""

    # the logged step number of row 0 (HF and mmengine count from 1, Lightning counts the
    # optimizer steps taken, torchtune logs the lr after step N under step N); None: the
    # user's own loop decides, so both 0 and 1 are tried
    first_step: int | None
    # what a logged step counts: optimizer steps, or micro-batches (mmengine iterations)
    unit: Literal["optimizer", "batch"] = "optimizer"
    # the framework's own reason for a scheduler stepping N times per optimizer step
    fast: str = "the scheduler stepped per micro-batch"


LOGS: dict[str, Logs] = {
    "plain": Logs(None, fast="stepped per micro-batch, or by accelerate in several processes"),
    "hf-trainer": Logs(1),
    "lightning": Logs(0),
    "accelerate": Logs(None, fast="accelerate steps the scheduler once per process"),
    "torchtune": Logs(0),
    "deepspeed": Logs(None),
    "mmengine": Logs(1, unit="batch"),
}

assert tuple(LOGS) == FRAMEWORKS, "one logging record per framework (lrviz.keys)"


def plan(loop: Loop, where: str = "training") -> Plan:
    """The rows of ``loop`` and the scheduler steps after each; SpecError when invalid."""
    rule = _rule(loop, where)
    _validate(loop, rule, where)
    if not rule.counts_batches:
        return _plain(loop)
    notes: list[str] = []
    batches = _batches(loop, rule, notes, where)
    ga = loop.grad_accum
    interval = loop.interval if loop.interval is not None else rule.intervals[0]
    if loop.interval is None and len(rule.intervals) > 1:
        notes.append(f"{rule.title} steps the scheduler every {interval} unless told otherwise "
                     f"(interval: {interval})")

    # Where the optimizer steps: global micro-batch positions of the rows.
    positions, epoch, epoch_rows = _positions(loop, rule, batches, where)
    rows = len(positions)
    last = int(positions[-1])  # the run stops right after its last optimizer step
    _window_notes(rule, loop, batches, epoch_rows, notes)

    after = np.zeros(rows, dtype=np.int64)
    before = 0
    if interval == "step" and rule.steps_on == "batch":
        # every micro-batch steps the scheduler: the gaps between optimizer steps
        before = int(positions[0])
        after[:-1] = np.diff(positions)
        after[-1] = 1
        if ga > 1:
            notes.append(f"{rule.title} steps an iteration-based scheduler after every "
                         f"micro-batch: {ga} times per optimizer step")
    elif interval == "step":
        per_row = loop.world_size if rule.per_process and not loop.split_batches else 1
        if rule.frequency and loop.frequency > 1:
            in_epoch = positions - epoch * batches
            after[:] = ((in_epoch + 1) % loop.frequency == 0) * per_row
            notes.append(f"{rule.title} counts frequency {loop.frequency} in batches within "
                         f"each epoch: the scheduler steps after an optimizer step whose batch "
                         f"number is a multiple of {loop.frequency}")
        else:
            after[:] = per_row
        if per_row > 1:
            notes.append(f"{rule.title} steps a prepared scheduler once per process: "
                         f"{per_row} times per optimizer step (split_batches: false)")
    else:
        every = loop.frequency if rule.frequency else 1
        ends = np.arange(every * batches - 1, last + 1, every * batches, dtype=np.int64)
        if rule.windows.startswith("epoch"):
            # an epoch's end comes after its last optimizer step, before the next epoch's
            where_row = (ends // batches + 1) * epoch_rows - 1
        else:
            where_row = np.searchsorted(positions, ends, side="right") - 1
        before = int(np.count_nonzero(where_row < 0))
        after += np.bincount(where_row[where_row >= 0], minlength=rows)
        notes.append(f"{rule.title} steps the scheduler at the end of every "
                     + (f"{every} epochs" if every > 1 else "epoch")
                     + (" that runs to its end" if rule.frequency else ""))
    stops = rule.stops_at_total_steps and not loop.split_batches

    spe = epoch_rows if rule.windows.startswith("epoch") else None
    counts = _Counts(rows, spe, loop.epochs, loop.max_steps, batches, ga)
    lengths = {name: fill(counts) for name, fill in rule.fills}
    notes.extend(filled.note for filled in lengths.values())
    unit, per_epoch = _samples(loop, rule, batches)
    for array in (positions, epoch, after):  # a Plan is shared by engine, checks and exports
        array.flags.writeable = False
    return Plan(rows=rows, before=before, batches_per_epoch=batches, steps_per_epoch=spe,
                lengths=lengths, notes=tuple(notes), stops_at_total_steps=stops,
                positions=positions, after_steps=after, epochs_of_rows=epoch,
                samples_per_batch=unit, samples_per_epoch=per_epoch,
                tokens_per_sample=loop.tokens_per_sample, framework=rule.name,
                interval=interval)


def _within_limit(rows: float, loop: Loop, where: str) -> int:
    """``rows`` rounded up, or an error when a plan that long is over ``loop.limit``
    (said before any array of that length is made: epochs: 1e308 is a number)."""
    if loop.limit is not None and not rows <= loop.limit:
        raise TooLong(rows, where)
    return math.ceil(rows)


def _plain(loop: Loop) -> Plan:
    """README "What a row means": a row is a step; one call per row, or per epoch."""
    spe = loop.steps_per_epoch or 1
    lengths = [] if loop.epochs is None else [int(loop.epochs) * spe]
    if loop.max_steps is not None:
        lengths.append(loop.max_steps)
    rows = min(lengths)  # _validate: one of them is given
    every = spe if loop.interval == "epoch" else 1
    return Plan(rows=rows, before=0, batches_per_epoch=spe, steps_per_epoch=spe, every=every,
                interval=loop.interval or "step")


def _samples(loop: Loop, rule: Rule, batches: int) -> tuple[int, int]:
    """Samples in one micro-batch over all processes, and in one epoch.

    A sampler that pads every process to ``ceil(N / world_size)`` samples trains on the
    padding too; a dropped last batch is not trained on.
    """
    unit = loop.batch_size if loop.split_batches else loop.batch_size * loop.world_size
    if loop.dataset_size is None:
        return unit, batches * unit
    total = loop.dataset_size
    if rule.loader == "sampler":
        total = _ceildiv(total, loop.world_size) * loop.world_size
    return unit, min(total, batches * unit)


# ---------------------------------------------------------------------------------------
# the counting


def _batches(loop: Loop, rule: Rule, notes: list[str], where: str) -> int:
    """Micro-batches one process sees in an epoch."""
    if not rule.counts_batches:
        return loop.steps_per_epoch or 1
    if loop.batches_per_epoch is not None:
        return loop.batches_per_epoch
    n = loop.dataset_size
    assert n is not None  # _validate
    bs, ws = loop.batch_size, loop.world_size
    drop = loop.drop_last if loop.drop_last is not None else bool(rule.fixed_drop_last)
    cut = "floor" if drop else "ceil"
    div = _floordiv if drop else _ceildiv
    if rule.loader == "shard" and loop.split_batches:
        batches = div(n, bs)
        how = f"{cut}({n} samples / batch {bs}, split over {_many(ws, 'process')})"
    elif rule.loader == "shard":
        batches = div(n, bs * ws)
        how = f"{cut}({n} samples / ({bs} per process × {_many(ws, 'process')}))"
    else:
        per_rank = _ceildiv(n, ws)
        batches = div(per_rank, bs)
        how = (f"{cut}({per_rank} samples per process / {bs})" if ws > 1
               else f"{cut}({n} samples / {bs})")
    if batches < 1:
        raise SpecError(f"an epoch has no batch: {how} = 0; expected dataset_size >= "
                        f"{bs * (1 if loop.split_batches else ws)}", f"{where}.dataset_size")
    notes.append(f"{rule.title}: {batches} batches per process per epoch = {how}"
                 + ("; torchtune always drops the last partial batch"
                    if rule.fixed_drop_last and loop.drop_last is None else ""))
    return batches


def _positions(loop: Loop, rule: Rule, batches: int,
               where: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Global micro-batch index and epoch of every optimizer step; steps per epoch."""
    ga = loop.grad_accum
    cap = loop.max_steps
    if rule.windows.startswith("epoch"):
        if rule.windows == "epoch-ceil":
            per_epoch = max(1, _ceildiv(batches, ga))
        else:
            per_epoch = batches // ga
            if loop.max_steps_per_epoch is not None:
                per_epoch = min(per_epoch, loop.max_steps_per_epoch)
            if per_epoch < 1:
                raise SpecError(f"{rule.title} makes no optimizer step in an epoch: "
                                f"{batches} batches // grad_accum {ga} = 0; expected "
                                f"grad_accum <= {batches}", f"{where}.grad_accum")
        if loop.epochs is not None:
            total = _within_limit(loop.epochs * per_epoch, loop, where)
            cap = total if cap is None else cap if rule.fractional_epochs else min(cap, total)
        assert cap is not None  # _validate: epochs or max_steps
        cap = _within_limit(cap, loop, where)
        # an epoch's steps, no more than the run has (an epoch may be 10^10 batches)
        pattern = np.arange(1, min(per_epoch, cap) + 1, dtype=np.int64) * ga - 1
        if rule.windows == "epoch-ceil":
            pattern = np.minimum(pattern, batches - 1)
        # whole epochs of one pattern, cut at the cap: cheap for millions of rows
        epochs = _ceildiv(cap, per_epoch)
        starts = np.arange(epochs, dtype=np.int64) * batches
        positions = (starts[:, None] + pattern[None, :]).reshape(-1)[:cap]
        epoch = np.repeat(np.arange(epochs, dtype=np.int64), len(pattern))[:cap]
        return positions, epoch, per_epoch
    # accumulation windows counted over the whole run
    run = None if loop.epochs is None else int(loop.epochs) * batches
    if run is not None:
        rows = run // ga if rule.windows == "run" else _ceildiv(run, ga)
        cap = rows if cap is None else min(cap, rows)
    assert cap is not None
    cap = _within_limit(cap, loop, where)
    if cap < 1:
        raise SpecError(f"{rule.title} makes no optimizer step: {run} micro-batches in the "
                        f"run, grad_accum {ga}; expected grad_accum <= {run}",
                        f"{where}.grad_accum")
    positions = np.arange(1, cap + 1, dtype=np.int64) * ga - 1
    if run is not None and rule.windows == "run-final":
        np.minimum(positions, run - 1, out=positions)
    return positions, positions // batches, _ceildiv(batches, ga)


def _window_notes(rule: Rule, loop: Loop, batches: int, per_epoch: int,
                  notes: list[str]) -> None:
    ga = loop.grad_accum
    if ga == 1 or not rule.counts_batches:
        return
    left = batches % ga
    if rule.windows == "epoch-ceil":
        notes.append(f"{rule.title}: {per_epoch} optimizer steps per epoch = "
                     f"ceil({batches} batches / grad_accum {ga})"
                     + (f"; the last one at the epoch's end with {left} of {ga} batches"
                        if left else ""))
    elif rule.windows == "epoch-floor":
        notes.append(f"{rule.title}: {per_epoch} optimizer steps per epoch = "
                     f"{batches} batches // grad_accum {ga}"
                     + (f" (max_steps_per_epoch {loop.max_steps_per_epoch})"
                        if loop.max_steps_per_epoch is not None
                        and loop.max_steps_per_epoch < batches // ga else "")
                     + (f"; the last {left} batches of each epoch never step" if left else ""))
    else:
        notes.append(f"{rule.title} counts accumulation windows of {ga} micro-batches over "
                     f"the whole run, not per epoch"
                     + ("; the run's last micro-batch steps too"
                        if rule.windows == "run-final" else ""))


# ---------------------------------------------------------------------------------------
# validation


def _rule(loop: Loop, where: str) -> Rule:
    rule = RULES.get(loop.framework)
    if rule is None:
        raise SpecError(f"expected one of {', '.join(FRAMEWORKS)}, got {loop.framework!r}",
                        f"{where}.framework")
    return rule


_POSITIVE_INTS = ("dataset_size", "batches_per_epoch", "batch_size", "world_size", "grad_accum",
                  "max_steps", "frequency", "steps_per_epoch", "max_steps_per_epoch",
                  "tokens_per_sample")


def _validate(loop: Loop, rule: Rule, where: str) -> None:
    def fail(key: str, expected: str) -> SpecError:
        return SpecError(f"expected {expected}, got {getattr(loop, key)!r}", f"{where}.{key}")

    for key in _POSITIVE_INTS:
        value = getattr(loop, key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise fail(key, "an integer >= 1")
    for key in ("drop_last", "split_batches"):
        value = getattr(loop, key)
        if value is not None and not isinstance(value, bool | np.bool_):
            raise fail(key, "true or false")
    epochs = loop.epochs
    if epochs is not None:
        if (isinstance(epochs, bool) or not isinstance(epochs, int | float | np.number)
                or not math.isfinite(epochs) or epochs <= 0):
            raise fail("epochs", "a number > 0")
        if not rule.fractional_epochs and epochs != int(epochs):
            raise fail("epochs", f"a whole number of epochs ({rule.title} runs whole epochs)")
    if loop.max_steps is not None and not rule.max_steps:
        raise fail("max_steps", f"no value ({rule.title} runs whole epochs: give epochs, "
                                "and max_steps_per_epoch to cut them short)")
    if epochs is None and loop.max_steps is None:
        raise SpecError("expected epochs or max_steps (the run's length in optimizer steps)",
                        f"{where}.epochs")
    if loop.interval is not None and loop.interval not in rule.intervals:
        raise fail("interval", f"{' or '.join(rule.intervals)} for {rule.title}")
    if loop.frequency != 1 and not rule.frequency:
        raise fail("frequency", f"1 ({rule.title} has no scheduler frequency)")
    if loop.split_batches and not rule.per_process:
        raise fail("split_batches", f"false (split_batches is accelerate's; not {rule.title})")
    if loop.split_batches and loop.batch_size % loop.world_size:
        raise fail("batch_size", f"a multiple of world_size {loop.world_size} "
                                 "(split_batches splits every batch over the processes)")
    if rule.fixed_drop_last is not None and loop.drop_last not in (None, rule.fixed_drop_last):
        raise fail("drop_last", f"{str(rule.fixed_drop_last).lower()} or left out "
                                f"({rule.title}'s dataloader always drops the last batch)")
    if loop.max_steps_per_epoch is not None and rule.windows != "epoch-floor":
        raise fail("max_steps_per_epoch", "no value (it is torchtune's)")
    if not rule.counts_batches:
        for key in ("dataset_size", "batches_per_epoch", "tokens_per_sample"):
            if getattr(loop, key) is not None:
                raise fail(key, "no value: the plain loop counts optimizer steps "
                                "(steps_per_epoch); choose a framework to count batches")
        for key in ("batch_size", "world_size", "grad_accum"):
            if getattr(loop, key) != 1:
                raise fail(key, "1: the plain loop counts optimizer steps; choose a "
                                "framework for accumulation and processes")
        return
    if loop.steps_per_epoch is not None:
        raise fail("steps_per_epoch", f"no value ({rule.title} counts batches: give "
                                      "dataset_size or batches_per_epoch)")
    if (loop.dataset_size is None) == (loop.batches_per_epoch is None):
        raise SpecError("expected one of dataset_size or batches_per_epoch",
                        f"{where}.dataset_size")


def _ceildiv(a: int, b: int) -> int:
    return -(-a // b)


def _floordiv(a: int, b: int) -> int:
    return a // b


def _many(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}es" if what.endswith("s") else f"{n} {what}s"


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


__all__ = ["FRAMEWORKS", "LOGS", "RULES", "X_AXES", "Filled", "Logs", "Loop", "Plan", "Rule",
           "plan"]
