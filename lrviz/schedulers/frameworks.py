"""Schedules that training frameworks build with their own code, not torch's classes:
torchtune's cosine with warmup, DeepSpeed's five schedulers and mmengine's
(lrviz.schedulers.mmengine).

A config of those frameworks names them (``_component_: torchtune.training.lr_schedulers.
get_cosine_schedule_with_warmup``, DeepSpeed's ``scheduler: {type: WarmupLR}``), and the
curve is theirs, not a torch look-alike: DeepSpeed's OneCycle decays unlike torch's
OneCycleLR, its warmups are logarithmic by default. The engine imports the framework
(the ``torchtune`` and ``deepspeed`` extras) and builds the real object; each takes the
optimizer first and is stepped by ``step()`` as a torch scheduler is.
"""

from __future__ import annotations

from typing import Any

from lrviz.schedulers import mmengine as _mmengine
from lrviz.schedulers.base import BOOL, CHOICE, FLOAT, INT, Param, Scheduler

_DS = "deepspeed.runtime.lr_schedules"
_DS_WARMUP = (
    Param("warmup_min_lr", FLOAT, "lr at the start of the warmup", 0.0, minimum=0,
          per_group=True),
    Param("warmup_max_lr", FLOAT, "lr at the end of the warmup", 0.001, minimum=0,
          per_group=True),
    Param("warmup_num_steps", INT, "scheduler steps of the warmup (at least 2)", 1000,
          minimum=1),
    Param("warmup_type", CHOICE, "shape of the warmup: log (DeepSpeed's default) or linear",
          "log", choices=("log", "linear")),
)
_DS_TOTAL = Param("total_num_steps", INT, "scheduler steps of the whole schedule "
                  "(default: the run's scheduler steps)", minimum=1)


def _entry(name: str, module: str, attr: str, help: str, params: tuple[Param, ...],
           extra: str, **more: Any) -> Scheduler:
    return Scheduler(name, (), help, params, module=module, attr=attr, extra=extra, **more)


TABLE: tuple[Scheduler, ...] = (
    _entry("torchtune:cosine", "torchtune.training.lr_schedulers",
           "get_cosine_schedule_with_warmup",
           "torchtune's warmup from 0 then cosine to 0 (a LambdaLR)",
           (Param("num_warmup_steps", INT, "scheduler steps of the warmup from 0", minimum=0),
            Param("num_training_steps", INT, "scheduler steps of the whole schedule "
                  "(default: the run's scheduler steps)", minimum=1),
            Param("num_cycles", FLOAT, "cosine waves over the decay (0.5: down once)", 0.5,
                  minimum=0)),
           "torchtune", length_param="num_training_steps"),
    # WarmupLR's warmup_max_lr defaults to the optimizer's lr (None); lrviz passes it
    _entry("deepspeed:WarmupLR", _DS, "WarmupLR",
           "DeepSpeed: warm up from warmup_min_lr to warmup_max_lr, then hold it",
           (_DS_WARMUP[0], Param("warmup_max_lr", FLOAT, "lr at the end of the warmup "
                                 "(default: the optimizer's lr)", None, minimum=0,
                                 nullable=True, per_group=True), *_DS_WARMUP[2:]),
           "deepspeed"),
    _entry("deepspeed:WarmupDecayLR", _DS, "WarmupDecayLR",
           "DeepSpeed: warm up to warmup_max_lr, then decay linearly to 0 at total_num_steps",
           (_DS_TOTAL, *_DS_WARMUP), "deepspeed", length_param="total_num_steps"),
    _entry("deepspeed:WarmupCosineLR", _DS, "WarmupCosineLR",
           "DeepSpeed: warm up from a ratio of the lr, then cosine down to cos_min_ratio",
           (_DS_TOTAL,
            Param("warmup_min_ratio", FLOAT, "start of the warmup, as a fraction of the lr",
                  0.0, minimum=0),
            Param("warmup_num_steps", INT, "scheduler steps of the warmup (at least 2)", 1000,
                  minimum=1),
            Param("cos_min_ratio", FLOAT, "end of the cosine, as a fraction of the lr", 0.0001,
                  minimum=0),
            Param("warmup_type", CHOICE, "shape of the warmup", "log",
                  choices=("log", "linear"))),
           "deepspeed", length_param="total_num_steps"),
    _entry("deepspeed:OneCycle", _DS, "OneCycle",
           "DeepSpeed's one cycle (not torch's OneCycleLR): up, down, then an optional decay",
           (Param("cycle_min_lr", FLOAT, "lr at the cycle's ends", minimum=0, per_group=True),
            Param("cycle_max_lr", FLOAT, "lr at the cycle's peak", minimum=0, per_group=True),
            Param("decay_lr_rate", FLOAT, "decay of the lr after the cycle", 0.0, minimum=0),
            Param("cycle_first_step_size", INT, "steps of the rise", 2000, minimum=1),
            Param("cycle_second_step_size", INT, "steps of the fall (default: as the rise)",
                  None, minimum=1, nullable=True),
            Param("cycle_first_stair_count", INT, "stairs of the rise (0: continuous)", 0,
                  minimum=0),
            Param("cycle_second_stair_count", INT, "stairs of the fall", None, minimum=0,
                  nullable=True),
            Param("decay_step_size", INT, "steps per decay interval after the cycle", 0,
                  minimum=0),
            Param("cycle_momentum", BOOL, "cycle the momentum inversely to the lr", True),
            Param("cycle_min_mom", FLOAT, "momentum at the peak lr", 0.8, minimum=0),
            Param("cycle_max_mom", FLOAT, "momentum at the cycle's ends", 0.9, minimum=0),
            Param("decay_mom_rate", FLOAT, "decay of the momentum after the cycle", 0.0,
                  minimum=0)),
           "deepspeed", changes_momentum=True, sets_own_lr=True),
    _entry("deepspeed:LRRangeTest", _DS, "LRRangeTest",
           "DeepSpeed's lr range test: the lr grows from lr_range_test_min_lr",
           (Param("lr_range_test_min_lr", FLOAT, "lr at the start", 1e-3, minimum=0,
                  per_group=True),
            Param("lr_range_test_step_size", INT, "steps per increase interval", 2000,
                  minimum=1),
            Param("lr_range_test_step_rate", FLOAT, "increase per interval", 1.0, minimum=0),
            Param("lr_range_test_staircase", BOOL, "grow in stairs, not continuously",
                  False)),
           "deepspeed", sets_own_lr=True),
    *_mmengine.TABLE,
)
