"""axolotl configs, read as lrviz specs.

axolotl writes its own names for what TrainingArguments holds (``lr_scheduler``,
``num_epochs``, ``micro_batch_size``, ``optimizer``) and hands them to the HF Trainer, so
the spec is the HF Trainer's (:mod:`lrviz.readers.hf`) with these differences:

- ``lr_scheduler`` defaults to ``cosine`` (axolotl's default); with
  ``cosine_min_lr_ratio`` axolotl builds its cosine with a floor, whose floats are
  those of ``hf:cosine_with_min_lr`` with ``min_lr_rate`` (the same formula);
- the warmup: ``warmup_steps`` as given (below 1, a ratio, as transformers 5 reads it;
  1 becomes 2, as axolotl sets it); ``warmup_ratio`` and axolotl's default warmup
  (3% of the run, at most 100 steps) are axolotl's own arithmetic on its own count of
  the run's steps (``int``, not HF's ``ceil``): lrviz computes them when the file gives
  ``max_steps``, and otherwise asks for ``warmup_steps``;
- axolotl's own schedules (``one_cycle``, ``rex``, ``log_sweep``) are not simulated.

Every other key (model, datasets, LoRA, logging) is axolotl's business, not an error.
"""

from __future__ import annotations

from typing import Any

from lrviz.errors import SpecError
from lrviz.readers import hf
from lrviz.readers.common import Translation, number, text

NAME = "axolotl"
DESCRIPTION = "an axolotl config (base_model:, lr_scheduler: cosine, micro_batch_size:)"

_OWN_SCHEDULES = ("one_cycle", "rex", "log_sweep")


def detect(data: dict[str, Any]) -> int:
    """11 with axolotl's own keys (``micro_batch_size``, ``num_epochs``, ``base_model``,
    ``cosine_min_lr_ratio``, or ``lr_scheduler`` as a plain word); else 0."""
    sched = data.get("lr_scheduler")
    if isinstance(sched, str) and "." not in sched:
        return 11
    marks = ("micro_batch_size", "num_epochs", "base_model", "cosine_min_lr_ratio")
    return 11 if any(k in data for k in marks) else 0


def read(data: dict[str, Any], source: str) -> tuple[dict[str, Any], dict[str, str]]:
    t = Translation(source)
    kind = data.get("lr_scheduler")
    kind = "cosine" if kind is None else text(kind, t.at("lr_scheduler")).lower()
    if kind in _OWN_SCHEDULES:
        raise SpecError(f"axolotl's own {kind!r} schedule is not simulated yet; expected one "
                        "of transformers' lr_scheduler_type names (cosine, linear, ...)",
                        t.at("lr_scheduler"))
    for key in ("cosine_constant_lr_ratio", "cosine_anneal_ratio"):
        if data.get(key) is not None:
            raise SpecError("axolotl's constant-then-cosine schedule is not simulated yet",
                            t.at(key))
    hf_view = {k: v for k, v in data.items() if k not in ("warmup_steps", "warmup_ratio")}
    if data.get("cosine_min_lr_ratio") is not None and kind == "cosine":
        kind = "cosine_with_min_lr"
        hf_view["lr_scheduler_kwargs"] = {**(data.get("lr_scheduler_kwargs") or {}),
                                          "min_lr_rate": data["cosine_min_lr_ratio"]}
    hf_view["lr_scheduler"] = kind
    hf.read_into(t, hf_view, scheduler_key="lr_scheduler", epochs_key="num_epochs",
                 batch_key="micro_batch_size", optimizer_key="optimizer")
    if kind == "cosine_with_min_lr" and "cosine_min_lr_ratio" in data:
        t.locations["scheduler.min_lr_rate"] = t.at("cosine_min_lr_ratio")
        t.locations["scheduler.type"] = t.at("lr_scheduler (cosine with cosine_min_lr_ratio)")
    if "num_warmup_steps" in _params(t):
        _warmup(t, data)
    return t.result()


def _params(t: Translation) -> tuple[str, ...]:
    from lrviz import catalog

    info = catalog.find(t.raw["scheduler"]["type"])
    return info.param_names if info else ()


def _warmup(t: Translation, data: dict[str, Any]) -> None:
    if data.get("warmup_steps") is not None:
        steps = number(data["warmup_steps"], t.at("warmup_steps"), minimum=0)
        if 0 < steps < 1:  # handed to TrainingArguments as it is: transformers 5's ratio
            t.put("scheduler.warmup_ratio", steps, "warmup_steps (below 1: a ratio of the run)")
            return
        steps = number(steps, t.at("warmup_steps"), integer=True, minimum=0)
        _put_warmup(t, int(steps), "warmup_steps")
        return
    total = t.raw.get("training", {}).get("max_steps")
    ratio = data.get("warmup_ratio")
    key = "warmup_ratio" if ratio is not None else "lr_scheduler"
    if total is None:
        if data.get("sample_packing"):
            raise SpecError("with sample_packing axolotl counts the run's steps from the "
                            "packed tokens, which lrviz cannot know; give warmup_steps (or "
                            "max_steps) to plot this warmup exactly", t.at(key))
        # axolotl's own count of the run, from the training flags (lrviz.loop)
        share = number(ratio, t.at(key), minimum=0) if ratio is not None else 0.03
        t.put("scheduler.warmup_ratio", share,
              key if ratio is not None else "lr_scheduler (axolotl's default warmup, 3%)")
        t.put("scheduler.warmup_of", "axolotl" if ratio is not None else "axolotl-default",
              f"{key} (a share of axolotl's own count of the run's steps)")
        return
    if ratio is not None:
        steps = max(int(number(ratio, t.at(key), minimum=0) * total), 0)
        how = f"warmup_ratio × max_steps, rounded down (axolotl): {steps}"
    else:
        steps = min(int(0.03 * total), 100)
        how = f"axolotl's default warmup, min(int(0.03 × max_steps), 100) = {steps}"
    _put_warmup(t, steps, f"{key} ({how})")


def _put_warmup(t: Translation, steps: int, came_from: str) -> None:
    """axolotl turns a warmup of 1 step into 2 (core/builders/base.py)."""
    if steps == 1:
        steps, came_from = 2, f"{came_from}; 1 becomes 2, as axolotl sets it"
    t.put("scheduler.num_warmup_steps", steps, came_from)
