"""DeepSpeed JSON configs (``ds_config.json``), read as lrviz specs.

``scheduler: {type, params}`` names one of DeepSpeed's own schedulers (WarmupLR,
WarmupDecayLR, WarmupCosineLR, OneCycle, LRRangeTest), which the catalog holds as
``deepspeed:NAME`` entries built from DeepSpeed itself (the ``deepspeed`` extra).
``optimizer: {type, params: {lr}}`` gives the lr. The loop is DeepSpeed's
(``training: {framework: deepspeed}``) with ``train_micro_batch_size_per_gpu`` and
``gradient_accumulation_steps`` (what is missing of them derived from ``train_batch_size``
as DeepSpeed derives it, for one process: an assumption lrviz notes); DeepSpeed has no
epochs of its own, so the run's length
comes from ``--epochs`` or ``--max-steps``.

``"auto"`` values are what the HF integration fills in (``HfTrainerDeepSpeedConfig``):
``warmup_min_lr`` 0, ``warmup_max_lr`` and ``lr`` the learning rate,
``total_num_steps`` the run's optimizer steps, ``warmup_num_steps`` HF's warmup (at least
1). A DeepSpeed file alone has no HF arguments: its ``auto`` values then come from the
scheduler's flags (``--warmup-num-steps``), and an ``auto`` no flag fills is an error
that names the flag. Beside HF TrainingArguments (``deepspeed: ds_config.json``),
:func:`from_hf` fills them from those arguments.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from lrviz.errors import SpecError
from lrviz.readers.common import Translation, mapping, number, optimizer_class, text

NAME = "deepspeed"
DESCRIPTION = "a DeepSpeed JSON config (scheduler: {type: WarmupLR, params: ...})"

TYPES = ("WarmupLR", "WarmupDecayLR", "WarmupCosineLR", "OneCycle", "LRRangeTest")
# Keys only a DeepSpeed config has at its top.
_MARKS = ("train_micro_batch_size_per_gpu", "train_batch_size", "zero_optimization",
          "gradient_clipping", "steps_per_print", "wall_clock_breakdown",
          "zero_allow_untested_optimizer")
_MAX_JSON = 1 << 20


def detect(data: dict[str, Any]) -> int:
    """12 with a scheduler of DeepSpeed's own (``{type, params}``) or DeepSpeed's own top
    keys; else 0."""
    sched = data.get("scheduler")
    if isinstance(sched, dict) and ("params" in sched or sched.get("type") in TYPES):
        return 12
    if "log_history" in data:  # an HF trainer_state.json: it has a train_batch_size too
        return 0
    return 12 if any(k in data for k in _MARKS) else 0


def read(data: dict[str, Any], source: str) -> tuple[dict[str, Any], dict[str, str]]:
    t = Translation(source)
    opt = data.get("optimizer")
    lr = None
    if opt is not None:
        opt = mapping(opt, t.at("optimizer"))
        kind = opt.get("type", "AdamW")
        t.put("optimizer.type", optimizer_class(text(kind, t.at("optimizer.type"))),
              "optimizer.type")
        lr = mapping(opt.get("params") or {}, t.at("optimizer.params")).get("lr")
    if lr is None or lr == "auto":
        t.missing("optimizer.lr", "the lr (\"auto\" or not given); --lr X gives it")
        if lr == "auto":
            t.raw.setdefault("optimizer", {})["lr"] = "auto"
    else:
        t.put("optimizer.lr", number(lr, t.at("optimizer.params.lr"), minimum=0),
              "optimizer.params.lr")
    if data.get("scheduler") is None:
        if opt is None:
            raise SpecError("neither scheduler: nor optimizer:; the schedule is set in code, "
                            "not in this file", source)
        t.put("scheduler.type", "constant", "(no scheduler: the lr stays constant)")
        t.put("scheduler.factor", 1.0, "(no scheduler: the lr stays constant)")
    else:
        _scheduler(t, data["scheduler"], {})
    t.put("training.framework", "deepspeed", "(DeepSpeed's engine steps the scheduler)")
    for key, target in (("train_micro_batch_size_per_gpu", "batch_size"),
                        ("gradient_accumulation_steps", "grad_accum")):
        value = data.get(key)
        if value is not None and value != "auto":
            t.put(f"training.{target}", number(value, t.at(key), integer=True, minimum=1), key)
    micro, accum, total = (data.get(k) for k in (
        "train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "train_batch_size"))
    if (isinstance(micro, int) and isinstance(accum, int) and isinstance(total, int)
            and min(micro, accum, total) > 0):
        world, left = divmod(total, micro * accum)
        if left or world < 1:
            raise SpecError(f"expected train_micro_batch_size_per_gpu × gradient_accumulation_"
                            f"steps × processes, got {total} (not a multiple of "
                            f"{micro * accum})", t.at("train_batch_size"))
        t.put("training.world_size", world,
              "train_batch_size / (train_micro_batch_size_per_gpu × gradient_accumulation_steps)")
    else:
        t.assume("training.world_size", 1, "world_size 1 (one process); --world-size N sets it")
        if isinstance(total, int) and not isinstance(total, bool) and total > 0:
            _derived_batch(t, total, micro, accum)
    t.missing("training.dataset_size", "the dataset's size; --dataset-size N gives it")
    t.missing("training.epochs", "the run's length (DeepSpeed has no epochs setting); "
                                 "--epochs N or --max-steps N gives it")
    return t.result()


def _derived_batch(t: Translation, total: int, micro: Any, accum: Any) -> None:
    """What DeepSpeed derives from ``train_batch_size`` when the micro-batch or the
    accumulation is not given (``DeepSpeedConfig._set_batch_related_parameters``), for one
    process: lrviz assumes it, and says so, since more processes change it."""
    ints = [isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (micro, accum)]
    if ints[0] and not ints[1]:
        t.assume("training.grad_accum", max(1, total // micro),
                 f"gradient_accumulation_steps {max(1, total // micro)} = train_batch_size / "
                 "train_micro_batch_size_per_gpu / 1 process, as DeepSpeed derives it; with "
                 "--world-size N give --grad-accum too")
    elif ints[1] and not ints[0]:
        t.assume("training.batch_size", max(1, total // accum),
                 f"train_micro_batch_size_per_gpu {max(1, total // accum)} = train_batch_size / "
                 "gradient_accumulation_steps / 1 process, as DeepSpeed derives it; with "
                 "--world-size N give --batch-size too")
    elif not ints[0] and not ints[1]:
        t.assume("training.batch_size", total,
                 f"train_micro_batch_size_per_gpu {total} = train_batch_size / 1 process, as "
                 "DeepSpeed derives it; with --world-size N give --batch-size too")


def _scheduler(t: Translation, value: Any, auto: dict[str, tuple[Any, str]],
               prefix: str = "") -> None:
    """``scheduler:`` as a ``deepspeed:`` entry; ``auto`` fills "auto" values (HF's)."""
    sched = mapping(value, t.at(f"{prefix}scheduler"))
    kind = text(sched.get("type"), t.at(f"{prefix}scheduler.type"))
    if kind not in TYPES:
        from lrviz import catalog

        raise SpecError(f"unknown DeepSpeed scheduler {kind!r}"
                        f"{catalog.suggest(kind, list(TYPES))}; expected one of "
                        f"{', '.join(TYPES)}", t.at(f"{prefix}scheduler.type"))
    t.put("scheduler.type", f"deepspeed:{kind}", f"{prefix}scheduler.type")
    params = mapping(sched.get("params") or {}, t.at(f"{prefix}scheduler.params"))
    for key, v in params.items():
        where = f"{prefix}scheduler.params.{key}"
        if key == "last_batch_iteration":
            if v not in (-1, "auto"):
                raise SpecError("resuming a schedule is not simulated; expected -1",
                                t.at(where))
            continue
        if v != "auto":
            t.put(f"scheduler.{key}", v, where)
        elif key in auto:
            filled, how = auto[key]
            if filled is not None:
                t.put(f"scheduler.{key}", filled, f"{where} (\"auto\": {how})")
        elif key == "total_num_steps":
            pass  # the run's scheduler steps fill it, as HF's num_training_steps does
        elif key == "warmup_min_lr":
            t.put("scheduler.warmup_min_lr", 0, f"{where} (\"auto\": 0, as HF fills it)")
        elif key == "warmup_max_lr" and isinstance(t.raw.get("optimizer", {}).get("lr"),
                                                   int | float):
            t.put("scheduler.warmup_max_lr", t.raw["optimizer"]["lr"],
                  f"{where} (\"auto\": the optimizer's lr)")
        else:
            t.raw.setdefault("scheduler", {})[key] = "auto"
            t.missing(f"scheduler.{key}", f"{key} is \"auto\"; --{key.replace('_', '-')} "
                                          "gives it")


def from_hf(t: Translation, ds: Any, hf: dict[str, Any]) -> bool:
    """Beside TrainingArguments: the scheduler of the DeepSpeed config ``ds`` (a path
    relative to the file, or the mapping itself) replaces lr_scheduler_type, with its
    "auto" values filled from the HF arguments ``hf``. False when it has no scheduler."""
    if isinstance(ds, str):
        config = _load_json(ds, t)
        prefix = f"deepspeed ({ds}): "
    else:
        config, prefix = mapping(ds, t.at("deepspeed")), "deepspeed."
    if not isinstance(config.get("scheduler"), dict):
        return False
    lr = t.raw["optimizer"]["lr"]
    auto: dict[str, tuple[Any, str]] = {
        "warmup_min_lr": (0, "0, as HF fills it"),
        "warmup_max_lr": (lr, "learning_rate"),
        "total_num_steps": (None, "num_training_steps"),
    }
    warmup = hf.get("warmup_steps") or 0
    warmup = number(warmup, t.at("warmup_steps"), minimum=0)
    ratio = hf.get("warmup_ratio")
    if warmup >= 1:
        auto["warmup_num_steps"] = (int(warmup), "warmup_steps")
    elif warmup > 0 or ratio:
        ratio = warmup if warmup > 0 else number(ratio, t.at("warmup_ratio"), minimum=0)
        steps = t.raw.get("training", {}).get("max_steps")
        if steps is None:
            raise SpecError("a DeepSpeed scheduler's \"auto\" warmup_num_steps from a ratio "
                            "needs the run's length in this file (max_steps); give "
                            "warmup_steps as a count", t.at("warmup_ratio" if ratio else
                                                             "warmup_steps"))
        auto["warmup_num_steps"] = (max(1, math.ceil(ratio * steps)),
                                    f"max(1, ceil({ratio} × max_steps {steps}))")
    else:
        auto["warmup_num_steps"] = (1, "max(1, warmup_steps 0), as HF fills it")
    for key in ("scheduler", "scheduler.type"):
        t.locations.pop(key, None)
    t.raw.pop("scheduler", None)
    _scheduler(t, config["scheduler"], auto, prefix)
    return True


def _load_json(name: str, t: Translation) -> dict[str, Any]:
    """The DeepSpeed JSON a TrainingArguments file names, by the path policy: relative to
    the current folder as transformers opens it (LLaMA-Factory's and axolotl's examples
    name ``examples/deepspeed/ds_z3_config.json`` from the project's root), else to the
    file's own folder."""
    from lrviz import inputs

    folder = os.path.dirname(os.path.abspath(t.source))
    path = name if os.path.isabs(name) or os.path.isfile(name) else os.path.join(folder, name)
    body = inputs.read_text(path, what="DeepSpeed config", where=t.at("deepspeed"),
                            limit=_MAX_JSON, roots=[folder, os.getcwd()])
    try:
        config = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise SpecError(f"the DeepSpeed config is not JSON (line {getattr(exc, 'lineno', '?')})",
                        t.at("deepspeed")) from None
    return mapping(config, t.at("deepspeed"))
