"""How frameworks turn a warmup ratio into warmup steps (README "Configs you already have").

HF Trainer takes ``ceil(ratio * num_training_steps)`` of the run it counts itself; axolotl,
without ``max_steps``, ``int(ratio * total)`` of its own count of the run. A spec says
which with the ``hf:`` schedules' ``warmup_ratio`` and ``warmup_of``, lrviz's own keywords,
made into ``num_warmup_steps`` by :func:`fill_ratios` once the run's length is known.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lrviz.checker import Checker, join_key
from lrviz.errors import SpecError
from lrviz.plan import Filled
from lrviz.spec import SchedulerSpec


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def fill_ratios(check: Checker, sched: SchedulerSpec, notes: list[str],
                   training: dict[str, Any] | None) -> SchedulerSpec:
    """``warmup_ratio`` (hf: schedules) made into ``num_warmup_steps``, as HF Trainer does
    (or as axolotl does, from its own count of the run: ``warmup_of``)."""
    children = tuple(fill_ratios(check, c, notes, training) for c in sched.children)
    params = dict(sched.params)
    ratio = params.pop("warmup_ratio", None)
    share_of = params.pop("warmup_of", None) or "training"
    if ratio is None and share_of != "training":
        raise check.fail(join_key(sched.path, "warmup_of"), "expected warmup_ratio beside it")
    if ratio is not None:
        path = join_key(sched.path, "warmup_ratio")
        if params.get("num_warmup_steps"):
            raise check.fail(path, "expected no value beside num_warmup_steps; give one of them")
        if share_of == "training":
            filled = hf_warmup_steps(ratio, int(params["num_training_steps"]),
                                     check.where(path))
        else:
            filled = axolotl_warmup_steps(ratio, training or {}, share_of,
                                          check.where(path))
        params["num_warmup_steps"] = filled.value
        notes.append(f"{join_key(sched.path, 'num_warmup_steps')}: {filled.note}")
    return SchedulerSpec(sched.info, params, children, sched.path)


def axolotl_warmup_steps(ratio: float, training: dict[str, Any], share_of: str,
                         where: str = "scheduler.warmup_ratio") -> Filled:
    """axolotl's warmup without ``max_steps``: ``int(ratio * total)`` of its own count of
    the run, ``total = ceil(dataset_size * epochs / (batch_size * grad_accum *
    world_size))`` (calculate_total_num_steps without sample packing; normalize_config's
    batch_size counts every process), at most 100 steps for its default
    (``share_of="axolotl-default"``, ratio 0.03); a warmup of 1 step becomes 2."""
    size, epochs = training.get("dataset_size"), training.get("epochs")
    if size is None or epochs is None:
        missing = "training.dataset_size" if size is None else "training.epochs"
        raise SpecError(f"axolotl counts this warmup from the dataset's samples and epochs: "
                        f"expected {missing} (--{missing[9:].replace('_', '-')} N)", where)
    bs, ga, ws = (training.get(k) or 1 for k in ("batch_size", "grad_accum", "world_size"))
    total = math.ceil(size * epochs / (bs * ga * ws))
    steps = max(int(ratio * total), 0)
    how = (f"int({_num(ratio)} × {total})"
           f"{', at most 100' if share_of == 'axolotl-default' else ''}")
    if share_of == "axolotl-default":
        steps = min(steps, 100)
    note = (f"warmup = {how} = {steps}, of axolotl's count of the run: ceil({size} samples × "
            f"{_num(epochs)} epochs / ({bs} × {ga} × {ws})) = {total}")
    if steps == 1:
        steps, note = 2, f"{note}; 1 becomes 2, as axolotl sets it"
    return Filled(steps, note)


def hf_warmup_steps(warmup: float, num_training_steps: int,
                    where: str = "scheduler.warmup_ratio") -> Filled:
    """HF's warmup length: ``warmup`` below 1 is a ratio of the run, ``ceil(ratio * total)``.

    ``TrainingArguments.get_warmup_steps`` (transformers 5 takes the ratio in
    ``warmup_steps`` itself; 4.x's ``warmup_ratio`` is the same rule).
    """
    if (isinstance(warmup, bool) or not isinstance(warmup, int | float | np.number)
            or not math.isfinite(warmup) or warmup < 0):
        raise SpecError(f"expected a number >= 0, got {warmup!r}", where)
    if warmup >= 1:
        return Filled(int(warmup), f"warmup {int(warmup)} steps as given")
    steps = math.ceil(num_training_steps * warmup)
    return Filled(steps, f"warmup = ceil({_num(warmup)} × {num_training_steps} training steps) "
                         f"= {steps}, as HF Trainer computes it")
