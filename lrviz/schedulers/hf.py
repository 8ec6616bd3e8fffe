"""Hugging Face schedules, built by ``transformers.get_scheduler``.

Each is named ``hf:`` and transformers' ``SchedulerType`` value. Nothing here imports
transformers: the engine does, when a spec uses one (the ``hf`` extra installs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lrviz.schedulers.base import (
    BOOL,
    CHOICE,
    FALLBACK_LENGTH,
    FLOAT,
    INT,
    PAST_SCHEDULE,
    RAMPS,
    WARNING,
    Finding,
    Moment,
    Node,
    Param,
    Run,
    Scheduler,
    Span,
)
from lrviz.schedulers.torch import PLATEAU_PARAMS

# Hugging Face schedules, built by ``transformers.get_scheduler(name, optimizer,
# num_warmup_steps, num_training_steps, scheduler_specific_kwargs)``; the name after
# ``hf:`` is transformers' ``SchedulerType`` value. ``num_warmup_steps`` defaults to 0
# (``TrainingArguments.warmup_steps``' default); get_scheduler itself has no default.
_HF_WARMUP = Param("num_warmup_steps", INT, "scheduler steps of the warmup from 0", 0,
                   minimum=0, passed=True)
# lrviz's own: turned into num_warmup_steps once num_training_steps is known
# (lrviz.build), the way HF Trainer turns TrainingArguments.warmup_ratio into it.
_HF_WARMUP_RATIO = Param("warmup_ratio", FLOAT, "instead of num_warmup_steps: a fraction of "
                         "num_training_steps, ceil(ratio * num_training_steps) as HF Trainer "
                         "computes it", None, minimum=0, maximum=1, nullable=True,
                         own=True)
_HF_WARMUP_OF = Param("warmup_of", CHOICE, "what warmup_ratio is a share of: training "
                      "(ceil(ratio * num_training_steps), HF Trainer), axolotl (int(ratio * "
                      "axolotl's count of the run, ceil(dataset_size * epochs / (batch_size * "
                      "grad_accum * world_size))); a warmup of 1 step is 2) or axolotl-default "
                      "(axolotl's warmup when none is given: that count * 0.03, at most 100)",
                      "training", choices=("training", "axolotl", "axolotl-default"), own=True)
_HF_TRAINING = Param("num_training_steps", INT, "scheduler steps of the whole schedule "
                     "(default: the run's scheduler steps)", minimum=1)
_HF_CYCLES = Param("num_cycles", FLOAT, "cosine waves over the decay (0.5: down once)", 0.5,
                   minimum=0)
_HF_MIN_LR = (
    Param("min_lr", FLOAT, "lr at the end of the cosine (or give min_lr_rate)", None,
          minimum=0, nullable=True),
    Param("min_lr_rate", FLOAT, "min_lr as a fraction of the initial lr", None, minimum=0,
          nullable=True),
)
_HF_SHAPES = ("linear", "cosine", "1-sqrt")


@dataclass(frozen=True)
class Hf(Scheduler):
    """A schedule ``transformers.get_scheduler`` builds by its name (``attr``)."""

    @property
    def alias(self) -> str:
        return self.name.replace(":", "-")

    @property
    def origin(self) -> str:
        return f"transformers.get_scheduler({self.attr!r})"

    @property
    def factory(self) -> tuple[str, str]:
        return "transformers", "get_scheduler"

    @property
    def by_name(self) -> bool:
        return True

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        p, name = node.params, self.name
        warmup = p.get("num_warmup_steps", 0)  # 0: a schedule without a warmup parameter
        if warmup:
            yield offset + warmup, f"{name}: end of the {warmup}-{unit} warmup", "warmup"
        yield from self._after_warmup(p, offset, warmup)

    def _after_warmup(self, p: dict[str, Any], offset: int, warmup: int) -> Iterator[Moment]:
        if p.get("num_training_steps"):
            yield offset + p["num_training_steps"], f"{self.name}: end of the schedule", "phase"

    def lr_param_at(self, params: dict[str, Any], local: int) -> str | None:
        if local <= params.get("num_warmup_steps", 0):
            return "num_warmup_steps"
        return "num_training_steps" if "num_training_steps" in self.param_names else None

    def pitfalls(self, stage: str, run: Run, span: Span) -> Iterator[Finding]:
        p = span.node.params
        if stage == RAMPS and p.get("num_warmup_steps", 0) > 0:
            iters = p["num_warmup_steps"]
            what = f"{self.name} warms up over {iters} scheduler steps"
            yield from run.ramp(span, "num_warmup_steps", iters, True, what)
        elif stage == PAST_SCHEDULE:
            yield from self._past_schedule(run, span)

    def _past_schedule(self, run: Run, span: Span) -> Iterator[Finding]:
        """Stepped past ``num_training_steps``: the schedule's lambda keeps going."""
        p = span.node.params
        total = p.get("num_training_steps")
        if not total or total >= span.length or "num_stable_steps" in p:
            return
        step = run.spec.plan.row_of(span.start + total + 1)
        yield run.finding(
            WARNING, "hf-past-training-steps",
            f"{self.name} is stepped {span.length} times but num_training_steps is {total}: "
            "past it the schedule does not stop (a cosine climbs back up, a linear decay "
            "stays at 0)",
            step if step < run.spec.steps else None,
            run.join(span.node.path, "num_training_steps"),
            f"set num_training_steps to {span.length}, or leave it out",
        )


@dataclass(frozen=True)
class _WarmupStableDecay(Hf):
    def natural_length(self, node: Node, metric_values: int) -> int:
        p = node.params
        if p.get("num_stable_steps") is not None:
            return self.value(p, "num_warmup_steps") + p["num_stable_steps"] + p["num_decay_steps"]
        return super().natural_length(node, metric_values)

    def _after_warmup(self, p: dict[str, Any], offset: int, warmup: int) -> Iterator[Moment]:
        stable = p.get("num_stable_steps")
        if stable is None and p.get("num_training_steps"):
            stable = p["num_training_steps"] - warmup - p["num_decay_steps"]
        if stable is not None and stable > 0:
            yield offset + warmup + stable, f"{self.name}: decay starts", "phase"


@dataclass(frozen=True)
class _InverseSqrt(Hf):
    def natural_length(self, node: Node, metric_values: int) -> int:
        # the decay never ends: ten warmups show its shape
        return max(FALLBACK_LENGTH, 10 * self.value(node.params, "num_warmup_steps"))


@dataclass(frozen=True)
class _WithMinLr(Hf):
    def relations(self, params: dict[str, Any], children: int) -> Iterator[tuple[str, str]]:
        given = [k for k in ("min_lr", "min_lr_rate") if params.get(k) is not None]
        if len(given) != 1:
            yield ("min_lr", f"{self.name} needs exactly one of min_lr and min_lr_rate, got "
                   + (" and ".join(given) or "neither"))
        yield from super().relations(params, children)


def _hf(kind: str, help: str, params: tuple[Param, ...], cls: type[Hf] = Hf,
        **more: Any) -> Scheduler:
    length = {"length_param": "num_training_steps"} if "num_training_steps" in {
        p.name for p in params} else {}
    if _HF_WARMUP in params and length:
        params = (*params, _HF_WARMUP_RATIO, _HF_WARMUP_OF)
    return cls(f"hf:{kind}", (), help, params, module="transformers.optimization",
               attr=kind, extra="hf", **{**length, **more})


TABLE: tuple[Scheduler, ...] = (
    _hf("linear", "warm up linearly from 0, then decay linearly to 0",
        (_HF_WARMUP, _HF_TRAINING)),
    _hf("cosine", "warm up linearly from 0, then cosine down to 0",
        (_HF_WARMUP, _HF_TRAINING, _HF_CYCLES)),
    _hf("cosine_with_restarts", "warm up, then num_cycles cosines each restarting at the "
        "initial lr", (_HF_WARMUP, _HF_TRAINING,
                       Param("num_cycles", INT, "number of hard restarts", 1, minimum=1))),
    _hf("polynomial", "warm up, then polynomial decay from the initial lr to lr_end",
        (_HF_WARMUP, _HF_TRAINING,
         Param("lr_end", FLOAT, "lr at the end of the decay", 1e-7, minimum=0),
         Param("power", FLOAT, "power of the polynomial", 1.0, minimum=0))),
    _hf("constant", "the initial lr throughout", ()),
    _hf("constant_with_warmup", "warm up linearly from 0, then hold the initial lr",
        (_HF_WARMUP,)),
    _hf("inverse_sqrt", "warm up, then decay as 1 / sqrt(step / timescale)",
        (_HF_WARMUP, Param("timescale", INT, "steps per unit of the decay "
                           "(default: num_warmup_steps, or 10000 without a warmup)",
                           None, minimum=1, nullable=True)), cls=_InverseSqrt),
    _hf("reduce_lr_on_plateau", "torch's ReduceLROnPlateau, as transformers builds it",
        PLATEAU_PARAMS, takes_metric=True, plateau=True),
    _hf("cosine_with_min_lr", "warm up from 0, then cosine down to min_lr",
        (_HF_WARMUP, _HF_TRAINING, _HF_CYCLES, *_HF_MIN_LR), cls=_WithMinLr),
    _hf("cosine_warmup_with_min_lr", "warm up from warmup_lr_rate, then cosine down to min_lr",
        (_HF_WARMUP, _HF_TRAINING, _HF_CYCLES, *_HF_MIN_LR,
         Param("warmup_lr_rate", FLOAT, "where the warmup starts, as a fraction of the "
               "initial lr (default 1 / num_warmup_steps)", None, minimum=0,
               nullable=True)), cls=_WithMinLr),
    _hf("warmup_stable_decay", "warm up, hold the initial lr, then decay over num_decay_steps",
        (_HF_WARMUP,
         Param("num_decay_steps", INT, "scheduler steps of the final decay", minimum=0),
         Param("num_training_steps", INT, "scheduler steps of the whole schedule (default: "
               "the run's, unless num_stable_steps is given)", None, minimum=1,
               nullable=True),
         Param("num_stable_steps", INT, "scheduler steps at the initial lr (default: what "
               "the training steps leave)", None, minimum=0, nullable=True),
         Param("warmup_type", CHOICE, "shape of the warmup", "linear", choices=_HF_SHAPES),
         Param("decay_type", CHOICE, "shape of the decay", "cosine", choices=_HF_SHAPES),
         Param("min_lr_ratio", FLOAT, "floor, as a fraction of the initial lr", 0.0,
               minimum=0),
         _HF_CYCLES),
        cls=_WarmupStableDecay, length_unless=("num_stable_steps",)),
    _hf("greedy", "transformers' GreedyLR: lr up on improvement, down on a plateau",
        (Param("mode", CHOICE, "min: lower metric is better; max: higher is better", "min",
               choices=("min", "max")),
         Param("factor", FLOAT, "lr * factor on a plateau, lr / factor on improvement (< 1)",
               0.95, positive=True),
         Param("patience", INT, "steps tolerated before a change", 10, minimum=0),
         Param("threshold", FLOAT, "least change that counts", 1e-6, minimum=0),
         Param("threshold_mode", CHOICE, "rel or abs threshold", "abs",
               choices=("rel", "abs")),
         Param("cooldown", INT, "steps to wait after a cut", 0, minimum=0),
         Param("warmup", INT, "steps to wait after a rise", 0, minimum=0),
         Param("min_lr", FLOAT, "floor under the lr", 1e-3, minimum=0, per_group=True),
         Param("max_lr", FLOAT, "ceiling over the lr", 1.0, minimum=0, per_group=True),
         Param("eps", FLOAT, "changes smaller than this are skipped", 1e-8, minimum=0),
         Param("smooth", BOOL, "average the metric over a window first", False),
         Param("window_size", INT, "window of the smoothing", 50, minimum=1),
         Param("reset_start", INT, "steps at min_lr before starting over", 500, minimum=0)),
        takes_metric=True),
)


