"""Hugging Face TrainingArguments, as YAML or JSON (TRL, alignment-handbook and
LLaMA-Factory write them), read as an lrviz spec.

The Trainer builds its schedule with ``transformers.get_scheduler(lr_scheduler_type,
num_warmup_steps=args.get_warmup_steps(total), num_training_steps=total,
scheduler_specific_kwargs=lr_scheduler_kwargs)``, so the spec is the ``hf:`` schedule of
that name with the loop of the HF Trainer (``training: {framework: hf-trainer}``), which
fills ``num_training_steps``, and the warmup as a ratio where the file gives one.

- ``warmup_steps`` below 1 is a ratio (transformers 5); ``warmup_ratio`` (transformers 4)
  counts only when ``warmup_steps`` is 0, as 4.x's ``get_warmup_steps`` did.
- ``optim`` names the optimizer; for the lr every AdamW variant (8-bit, paged, fused) is
  torch's AdamW. Weight decay, betas and the like do not change the lr and are left out.
- A ``deepspeed:`` entry naming a JSON file whose ``scheduler:`` is set replaces
  ``lr_scheduler_type`` (the HF integration builds DeepSpeed's scheduler then); its
  ``"auto"`` values are filled from the arguments here (:mod:`lrviz.readers.deepspeed`).

A TrainingArguments file has dozens of keys that do not touch the schedule (model, data,
logging, hub): those are not errors. Only the keys above are read.
"""

from __future__ import annotations

from typing import Any

from lrviz.errors import SpecError
from lrviz.readers.common import Translation, hf_training, mapping, number, optimizer_class, text

NAME = "hf"
DESCRIPTION = "HF TrainingArguments (lr_scheduler_type:, learning_rate:, ...)"

# Keys only TrainingArguments (and the trainers built on it) have; two of them make a
# file HF's even without lr_scheduler_type (the linear default then).
_MARKS = ("lr_scheduler_type", "per_device_train_batch_size", "num_train_epochs",
          "gradient_accumulation_steps", "learning_rate", "warmup_ratio", "output_dir",
          "lr_scheduler_kwargs", "dataloader_drop_last", "optim", "logging_steps",
          "save_strategy", "per_device_eval_batch_size")
# axolotl's own names: a file with them is axolotl's, even with some HF keys beside.
AXOLOTL_MARKS = ("micro_batch_size", "num_epochs", "base_model", "lr_scheduler",
                 "cosine_min_lr_ratio", "datasets", "sequence_len")
# Format keys of other readers that never sit in a TrainingArguments file.
_FOREIGN = ("_target_", "_component_", "class_path", "param_scheduler", "scheduler",
            "train_micro_batch_size_per_gpu", "train_batch_size")


def detect(data: dict[str, Any]) -> int:
    """10 with ``lr_scheduler_type`` or ``per_device_train_batch_size`` (HF's own names),
    8 with two other TrainingArguments keys, 0 when axolotl's or another format's keys are
    present."""
    if any(k in data for k in AXOLOTL_MARKS) or any(k in data for k in _FOREIGN):
        return 0
    if "lr_scheduler_type" in data or "per_device_train_batch_size" in data:
        return 10
    return 8 if sum(k in data for k in _MARKS) >= 2 else 0


def read(data: dict[str, Any], source: str) -> tuple[dict[str, Any], dict[str, str]]:
    t = Translation(source)
    read_into(t, data)
    return t.result()


def read_into(t: Translation, data: dict[str, Any], *, scheduler_key: str = "lr_scheduler_type",
              epochs_key: str = "num_train_epochs",
              batch_key: str = "per_device_train_batch_size",
              optimizer_key: str = "optim", framework: str = "hf-trainer") -> None:
    """The spec of a TrainingArguments mapping (axolotl reuses it with its own names)."""
    lr = data.get("learning_rate", 5e-5)
    t.put("optimizer.type", optimizer_class(text(data[optimizer_key], t.at(optimizer_key)))
          if data.get(optimizer_key) is not None else "AdamW",
          optimizer_key if data.get(optimizer_key) is not None else "(the Trainer's AdamW)")
    t.put("optimizer.lr", number(lr, t.at("learning_rate"), minimum=0),
          "learning_rate" if "learning_rate" in data else "(learning_rate 5e-5, the default)")
    hf_training(
        t, batch_size=_given(data, batch_key),
        grad_accum=_given(data, "gradient_accumulation_steps"),
        epochs=_given(data, epochs_key), max_steps=_given(data, "max_steps"),
        drop_last=_given(data, "dataloader_drop_last"), framework=framework)
    if _deepspeed_scheduler(t, data):
        return
    kind = data.get(scheduler_key)
    kind = "linear" if kind is None else text(kind, t.at(scheduler_key)).lower()
    hf_scheduler(t, kind, scheduler_key, data)


def hf_scheduler(t: Translation, kind: str, key: str, data: dict[str, Any]) -> None:
    """``scheduler:``: the hf: schedule ``kind`` with the file's warmup and kwargs."""
    from lrviz import catalog

    info = catalog.find(f"hf:{kind}")
    if info is None:
        names = sorted(s.name.removeprefix("hf:") for s in catalog.HF_SCHEDULERS)
        raise SpecError(f"unknown scheduler type {kind!r}{catalog.suggest(kind, names)}; "
                        f"expected one of {', '.join(names)}", t.at(key))
    t.put("scheduler.type", info.name, key if key in data else f"({key} linear, the default)")
    kwargs = data.get("lr_scheduler_kwargs")
    if isinstance(kwargs, str) and kwargs.strip() in ("", "{}"):
        kwargs = None
    if isinstance(kwargs, str):  # the command line's JSON form
        import json

        try:
            kwargs = json.loads(kwargs)
        except ValueError:
            raise SpecError("expected a mapping (or its JSON text)",
                            t.at("lr_scheduler_kwargs")) from None
    for name, value in mapping(kwargs or {}, t.at("lr_scheduler_kwargs")).items():
        t.put(f"scheduler.{name}", value, f"lr_scheduler_kwargs.{name}")
    if "num_warmup_steps" not in info.param_names:
        return  # get_scheduler ignores the warmup of a schedule without one
    warmup = data.get("warmup_steps")
    if warmup is not None:
        warmup = number(warmup, t.at("warmup_steps"), minimum=0)
    ratio = data.get("warmup_ratio")
    if warmup is not None and warmup >= 1:
        t.put("scheduler.num_warmup_steps", int(warmup), "warmup_steps")
    elif warmup:  # transformers 5: below 1 it is a ratio
        t.put("scheduler.warmup_ratio", warmup, "warmup_steps (below 1: a ratio of the run)")
    elif ratio is not None and number(ratio, t.at("warmup_ratio"), minimum=0):
        t.put("scheduler.warmup_ratio", number(ratio, t.at("warmup_ratio"), minimum=0),
              "warmup_ratio")


def _deepspeed_scheduler(t: Translation, data: dict[str, Any]) -> bool:
    """A ``deepspeed:`` config with a ``scheduler:`` replaces lr_scheduler_type."""
    ds = data.get("deepspeed")
    if ds is None or ds is False:
        return False
    from lrviz.readers import deepspeed

    return deepspeed.from_hf(t, ds, data)


def _given(data: dict[str, Any], key: str) -> tuple[str, Any] | None:
    return (key, data[key]) if data.get(key) is not None else None

