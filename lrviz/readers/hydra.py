"""Hydra/OmegaConf configs with ``_target_``, read as lrviz specs (also the composed
config Hydra saves as ``.hydra/config.yaml``).

A scheduler is a mapping whose ``_target_`` is a class of ``torch.optim.lr_scheduler``
(or ``torch.optim.swa_utils.SWALR``), anywhere in the first levels of the config
(``scheduler:``, ``model.scheduler:`` as lightning-hydra-template keeps it); the
optimizer is the mapping whose ``_target_`` is a ``torch.optim`` class. ``_partial_:
true`` (the optimizer is passed later, by the program) changes nothing here. ``${...}``
interpolation in the values read is resolved by :mod:`lrviz.readers.interp`.

Beside the scheduler, ``interval``, ``frequency`` and ``monitor`` (the Lightning
scheduler config that lightning-hydra-template and its forks keep there) say how it is
stepped; with a Lightning ``trainer:`` (``_target_: lightning...Trainer``) the loop is
Lightning's, whose default interval is the epoch. Without one the loop is lrviz's plain
loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lrviz.errors import SpecError
from lrviz.readers.common import Translation, number
from lrviz.readers.interp import resolve

NAME = "hydra"
DESCRIPTION = "a Hydra config (_target_: torch.optim.lr_scheduler.X)"

_SCHEDULERS = ("torch.optim.lr_scheduler.", "torch.optim.swa_utils.")
_OPTIMIZERS = ("torch.optim.",)
_LOOP_KEYS = ("interval", "frequency", "monitor", "strict", "name")
_DEPTH = 3  # levels searched for the scheduler and the optimizer


def detect(data: dict[str, Any]) -> int:
    """10 with a torch scheduler or optimizer ``_target_`` in the first levels; 4 with
    any ``_target_`` there (a Hydra config, perhaps without a scheduler); else 0."""
    found = [(p, n) for p, n in _targets(data, "", 0)]
    if any(_target(n).startswith(_SCHEDULERS + _OPTIMIZERS) for _, n in found):
        return 10
    return 4 if found or _composes(data) else 0


def _composes(data: dict[str, Any]) -> list[str]:
    """The groups a primary config's ``defaults:`` list composes (``model: mnist``)."""
    defaults = data.get("defaults")
    if not isinstance(defaults, list):
        return []
    return [f"{k}: {v}" for item in defaults if isinstance(item, dict)
            for k, v in item.items() if isinstance(k, str) and v is not None]


def _targets(node: Any, path: str, depth: int) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(node, dict) or depth > _DEPTH:
        return
    if isinstance(node.get("_target_"), str):
        yield path, node
    for key, value in node.items():
        if isinstance(key, str) and not key.startswith("_"):
            yield from _targets(value, f"{path}.{key}" if path else key, depth + 1)


def _looks_like_scheduler(target: str) -> bool:
    """Whether a ``_target_`` outside torch names a scheduler (timm's CosineLRScheduler,
    transformers' get_cosine_schedule_with_warmup)."""
    name = target.rpartition(".")[2].lower()
    return "schedul" in target.lower() or name.endswith("lr")


def _target(node: dict[str, Any]) -> str:
    value = node.get("_target_")
    return value.strip() if isinstance(value, str) else ""


def read(data: dict[str, Any], source: str) -> tuple[dict[str, Any], dict[str, str]]:
    t = Translation(source)
    found = list(_targets(data, "", 0))
    scheds = [(p, n) for p, n in found if _target(n).startswith(_SCHEDULERS)]
    opts = [(p, n) for p, n in found
            if _target(n).startswith(_OPTIMIZERS) and not _target(n).startswith(_SCHEDULERS)]
    if not scheds and not opts:
        other = next(((p, n) for p, n in found if _looks_like_scheduler(_target(n))), None)
        if other is not None:  # a schedule in the file, of a class lrviz does not simulate
            raise SpecError(f"{_target(other[1])} is not a torch scheduler; lrviz simulates "
                            "torch.optim.lr_scheduler classes",
                            t.at(f"{other[0]}._target_" if other[0] else "_target_"))
        groups = _composes(data)
        if groups:  # its scheduler is in one of the files it composes
            shown = ", ".join(groups[:3]) + (", ..." if len(groups) > 3 else "")
            raise SpecError(f"a Hydra primary config: its defaults list composes other files "
                            f"({shown}); lrviz reads the composed config, the run's "
                            ".hydra/config.yaml or what `python train.py --cfg job` prints",
                            t.at("defaults"))
        raise SpecError("a Hydra config without a torch scheduler or optimizer (_target_: "
                        "torch.optim.lr_scheduler.X); the schedule is set in code, not here",
                        source)
    for what, items in (("scheduler", scheds), ("optimizer", opts)):
        if len(items) > 1:
            raise SpecError(f"two {what}s ({items[0][0]} and {items[1][0]}); lrviz plots one "
                            "schedule per file", t.at(items[1][0]))
    if opts:
        path, node = opts[0]
        _entry(t, data, "optimizer", path, node, _OPTIMIZERS, drop=("params",))
    if scheds:
        path, node = scheds[0]
        _entry(t, data, "scheduler", path, node, _SCHEDULERS, drop=("optimizer", *_LOOP_KEYS))
        _loop(t, data, path, node)
    else:
        t.put("scheduler.type", "constant", f"{opts[0][0]} (no scheduler: a constant lr)")
        t.put("scheduler.factor", 1.0, f"{opts[0][0]} (no scheduler: a constant lr)")
    return t.result()


def _entry(t: Translation, root: dict[str, Any], what: str, path: str, node: dict[str, Any],
           modules: tuple[str, ...], drop: tuple[str, ...]) -> None:
    target = _target(node)
    name = target
    for module in modules:
        if target.startswith(module) and "." not in target[len(module):]:
            name = target[len(module):]
    t.put(f"{what}.type", name, f"{path}._target_")
    for key, value in node.items():
        if not isinstance(key, str) or key.startswith("_") or key in drop:
            continue
        where = f"{path}.{key}"
        value = resolve(value, root, where, t.source)
        if key == "last_epoch":
            if value != -1:
                raise SpecError("resuming a schedule is not simulated; expected -1",
                                t.at(where))
            continue
        t.put(f"{what}.{key}", value, where)


def _loop(t: Translation, root: dict[str, Any], path: str, node: dict[str, Any]) -> None:
    """interval/frequency beside the scheduler, and a Lightning trainer's loop."""
    parent_path = path.rpartition(".")[0]
    parent = _get(root, parent_path) if parent_path else root
    beside = {}
    for holder, prefix in ((node, path), (parent, parent_path)):
        if isinstance(holder, dict):
            for key in ("interval", "frequency"):
                if key in holder and key not in beside:
                    beside[key] = (resolve(holder[key], root, f"{prefix}.{key}", t.source),
                                   f"{prefix}.{key}" if prefix else key)
    trainer_path, trainer = next(((p, n) for p, n in _targets(root, "", 0)
                                  if "lightning" in _target(n) and _target(n).endswith("Trainer")),
                                 ("", None))
    if "interval" in beside:
        t.put("scheduler.interval", beside["interval"][0], beside["interval"][1])
    if trainer is None:
        if "frequency" in beside and beside["frequency"][0] != 1:
            raise SpecError("a scheduler frequency needs Lightning's loop; this config has no "
                            "Lightning trainer", t.at(beside["frequency"][1]))
        return
    t.put("training.framework", "lightning", f"{trainer_path}._target_")
    if "frequency" in beside:
        t.put("training.frequency", number(beside["frequency"][0], t.at(beside["frequency"][1]),
                                           integer=True, minimum=1), beside["frequency"][1])
    steps = resolve(trainer.get("max_steps", -1), root, f"{trainer_path}.max_steps", t.source)
    epochs = resolve(trainer.get("max_epochs"), root, f"{trainer_path}.max_epochs", t.source)
    if isinstance(steps, int) and not isinstance(steps, bool) and steps > 0:
        t.put("training.max_steps", steps, f"{trainer_path}.max_steps")
    if epochs is not None and epochs != -1:
        t.put("training.epochs", number(epochs, t.at(f"{trainer_path}.max_epochs"),
                                        integer=True, minimum=1), f"{trainer_path}.max_epochs")
    elif "max_steps" not in t.raw.get("training", {}):
        t.assume("training.epochs", 1000, "max_epochs 1000, Lightning's default; --epochs N "
                                          "sets it")
    accum = trainer.get("accumulate_grad_batches")
    if accum is not None:
        t.put("training.grad_accum", number(resolve(accum, root, f"{trainer_path}.accumulate_"
                                                    "grad_batches", t.source),
                                            t.at(f"{trainer_path}.accumulate_grad_batches"),
                                            integer=True, minimum=1),
              f"{trainer_path}.accumulate_grad_batches")
    data = root.get("data")
    if isinstance(data, dict) and data.get("batch_size") is not None:
        t.put("training.batch_size", number(resolve(data["batch_size"], root, "data.batch_size",
                                                    t.source), t.at("data.batch_size"),
                                            integer=True, minimum=1), "data.batch_size")
    else:
        t.missing("training.batch_size", "the batch size; --batch-size N gives it")
    devices = trainer.get("devices")
    if isinstance(devices, int) and not isinstance(devices, bool) and devices > 0:
        t.put("training.world_size", devices, f"{trainer_path}.devices")
    else:
        t.assume("training.world_size", 1, "world_size 1 (one process); --world-size N sets it")
    t.missing("training.dataset_size", "the dataset's size; --dataset-size N gives it")


def _get(root: dict[str, Any], path: str) -> Any:
    node: Any = root
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node
