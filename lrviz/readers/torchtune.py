"""torchtune recipe configs (``_component_``), read as lrviz specs.

A recipe names its optimizer and scheduler by ``_component_`` (``torch.optim.AdamW``,
``torchtune.training.lr_schedulers.get_cosine_schedule_with_warmup``) and runs the loop
of :mod:`lrviz.loop`'s torchtune rule: ``epochs``, ``batch_size`` per process,
``gradient_accumulation_steps``, ``max_steps_per_epoch``; the recipe passes
``num_training_steps`` itself (epochs × steps per epoch), so the loop fills it. ``${...}``
in the values read is resolved as OmegaConf would (:mod:`lrviz.readers.interp`).
"""

from __future__ import annotations

from typing import Any

from lrviz.errors import SpecError
from lrviz.readers.common import Translation, mapping, number, optimizer_class, text
from lrviz.readers.interp import resolve

NAME = "torchtune"
DESCRIPTION = "a torchtune recipe config (lr_scheduler: {_component_: ...})"

# Where torchtune has kept its cosine (torchtune.modules before 0.3).
_COSINES = ("torchtune.training.lr_schedulers.get_cosine_schedule_with_warmup",
            "torchtune.modules.get_cosine_schedule_with_warmup",
            "torchtune.training.get_cosine_schedule_with_warmup")


def detect(data: dict[str, Any]) -> int:
    """10 when ``optimizer:`` or ``lr_scheduler:`` has a ``_component_``; 3 when any
    top-level section has one (a recipe without a scheduler); else 0."""
    if any(isinstance(data.get(k), dict) and "_component_" in data[k]
           for k in ("optimizer", "lr_scheduler")):
        return 10
    return 3 if any(isinstance(v, dict) and "_component_" in v for v in data.values()) else 0


def read(data: dict[str, Any], source: str) -> tuple[dict[str, Any], dict[str, str]]:
    t = Translation(source)
    opt, sched = data.get("optimizer"), data.get("lr_scheduler")
    if opt is None and sched is None:
        raise SpecError("a torchtune recipe without optimizer: or lr_scheduler:; nothing to "
                        "simulate", source)
    if opt is not None:
        opt = mapping(resolve(opt, data, "optimizer", source), t.at("optimizer"))
        name = text(opt.get("_component_"), t.at("optimizer._component_"))
        t.put("optimizer.type", optimizer_class(name.rpartition(".")[2]),
              "optimizer._component_")
        if "lr" in opt:
            t.put("optimizer.lr", number(opt["lr"], t.at("optimizer.lr"), minimum=0),
                  "optimizer.lr")
        else:
            t.missing("optimizer.lr", "the optimizer's lr; --lr X gives it")
    if sched is None:
        t.put("scheduler.type", "constant", "(no lr_scheduler: torchtune keeps the lr)")
        t.put("scheduler.factor", 1.0, "(no lr_scheduler: torchtune keeps the lr)")
    else:
        sched = mapping(resolve(sched, data, "lr_scheduler", source), t.at("lr_scheduler"))
        name = text(sched.get("_component_"), t.at("lr_scheduler._component_"))
        if name not in _COSINES:
            raise SpecError(f"unknown torchtune scheduler {name!r}; expected "
                            f"{_COSINES[0]}", t.at("lr_scheduler._component_"))
        t.put("scheduler.type", "torchtune:cosine", "lr_scheduler._component_")
        for key, value in sched.items():
            if key == "_component_":
                continue
            if key == "last_epoch" and value == -1:
                continue
            t.put(f"scheduler.{key}", value, f"lr_scheduler.{key}")
    t.put("training.framework", "torchtune", "(a torchtune recipe)")
    for key, target in (("batch_size", "batch_size"), ("gradient_accumulation_steps",
                                                       "grad_accum"),
                        ("epochs", "epochs"), ("max_steps_per_epoch", "max_steps_per_epoch")):
        value = resolve(data.get(key), data, key, source)
        if value is not None:
            t.put(f"training.{target}", number(value, t.at(key), integer=True, minimum=1), key)
    if "epochs" not in t.raw["training"]:
        t.missing("training.epochs", "the recipe's epochs; --epochs N gives it")
    if "batch_size" not in t.raw["training"]:
        t.missing("training.batch_size", "the batch size; --batch-size N gives it")
    t.assume("training.world_size", 1, "world_size 1 (one process); --world-size N sets it")
    t.missing("training.dataset_size", "the dataset's size; --dataset-size N gives it")
    return t.result()
