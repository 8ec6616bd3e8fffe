"""What the config readers share: numbers as the frameworks read them, optimizer names,
the ``training:`` section and its assumptions, and where each value came from.

A reader builds its raw spec through a :class:`Translation`: every value it sets is
recorded with the file's own key (``lr_scheduler_kwargs.min_lr_rate``), so an error in
the spec names the user's key, and ``lrviz spec`` can say where each value came from.
A value the file leaves out and lrviz assumes (one process) is recorded as assumed, and
:func:`assumptions` turns those into the notes the CLI prints: a flag that sets the
value replaces its location, and the note goes away.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from lrviz.errors import SpecError

# The location of a value lrviz assumed (the file does not say it) starts with this,
# after the file's name.
ASSUMED = "not in the file: "
# The location of a value the file leaves to lrviz's flags ("auto", a dataset size): an
# error at it names the flag; it is no assumption.
NEEDED = "needs a flag: "

# A number written as text (YAML 1.1 reads ``1e-4`` as a string; HF's JSON files keep
# some numbers as strings).
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def number(value: Any, where: str, *, integer: bool = False, minimum: float | None = None,
           what: str | None = None) -> float | int:
    """``value`` as a finite number (an int when ``integer``), or a one-line SpecError."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip()
        value = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer and isinstance(value, float):
        ok = value.is_integer()
        value = int(value) if ok else value
    if not ok or not math.isfinite(value) or (minimum is not None and value < minimum):
        expected = what or ("an integer" if integer else "a number") + (
            f" >= {minimum:g}" if minimum is not None else "")
        raise SpecError(f"expected {expected}, got {_shown(value)}", where)
    return value


def boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise SpecError(f"expected true or false, got {_shown(value)}", where)


def text(value: Any, where: str) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise SpecError(f"expected a name, got {_shown(value)}", where)


def mapping(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise SpecError(f"expected a mapping, got {_shown(value)}", where)


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


# Optimizer names of the trainers (HF ``optim``, axolotl ``optimizer``): for the lr
# schedule only the lr matters, so each is the torch class with the same lr behaviour.
# 8-bit, paged, fused and apex variants of AdamW are AdamW for the lr.
_TORCH_OPTIMIZERS = {"sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop",
                     "adam": "Adam", "adamw": "AdamW"}


def optimizer_class(name: str) -> str:
    """The torch optimizer that has the same lr as a trainer's optimizer ``name``."""
    key = name.strip().lower()
    if key in _TORCH_OPTIMIZERS:
        return _TORCH_OPTIMIZERS[key]
    if "sgd" in key:
        return "SGD"
    if "rmsprop" in key:
        return "RMSprop"
    if "adagrad" in key:
        return "Adagrad"
    return "AdamW"  # adamw_torch, adamw_8bit, paged_adamw_32bit, adafactor, lion...: the lr


@dataclass
class Translation:
    """A raw lrviz spec being built from a file, with where each value came from."""

    source: str
    raw: dict[str, Any] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)

    def at(self, key: str) -> str:
        """The file's own key, as errors name it."""
        return f"{self.source}: {key}" if key else self.source

    def put(self, path: str, value: Any, came_from: str) -> None:
        """Set ``path`` (``scheduler.T_max``) of the raw spec; ``came_from`` is the file's
        key (or a short account of how the value was made from the file)."""
        *parents, last = path.split(".")
        node = self.raw
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
        self.locations[path] = self.at(came_from)

    def assume(self, path: str, value: Any, why: str) -> None:
        """Set ``path`` to a value the file does not give; ``why`` says what and how to
        change it (``world_size 1 (one process); --world-size N sets it``)."""
        self.put(path, value, "")
        self.locations[path] = f"{self.source} ({ASSUMED}{why})"

    def missing(self, path: str, why: str) -> None:
        """``path`` is not in the file and lrviz has no value for it: an error at it (when
        no flag gives it) says ``why``."""
        self.locations[path] = f"{self.source} ({NEEDED}{why})"

    def result(self) -> tuple[dict[str, Any], dict[str, str]]:
        return self.raw, self.locations


def assumptions(locations: dict[str, str], raw: dict[str, Any] | None = None) -> list[str]:
    """One note per value lrviz assumed for a file (see :class:`Translation.assume`):
    the locations still marked as assumed, whose key the raw spec holds."""
    notes = []
    for path, where in locations.items():
        if ASSUMED not in where or (raw is not None and _get(raw, path) is None):
            continue
        notes.append(f"{path}: {where.split(ASSUMED, 1)[1].rstrip(')')}")
    return notes


def _get(raw: dict[str, Any], path: str) -> Any:
    node: Any = raw
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def hf_training(t: Translation, *, batch_size: tuple[str, Any] | None,
                grad_accum: tuple[str, Any] | None, epochs: tuple[str, Any] | None,
                max_steps: tuple[str, Any] | None, drop_last: tuple[str, Any] | None,
                framework: str = "hf-trainer") -> None:
    """The ``training:`` section of a run the HF Trainer drives, from the file's keys
    (each ``(key, value)`` or None when absent; defaults are TrainingArguments')."""
    t.put("training.framework", framework, "(the HF Trainer runs this file)")
    if batch_size is not None:
        t.put("training.batch_size", number(batch_size[1], t.at(batch_size[0]), integer=True,
                                            minimum=1), batch_size[0])
    else:
        t.assume("training.batch_size", 8, "per_device_train_batch_size 8, TrainingArguments' "
                                           "default; --batch-size N sets it")
    if grad_accum is not None:
        t.put("training.grad_accum", number(grad_accum[1], t.at(grad_accum[0]), integer=True,
                                            minimum=1), grad_accum[0])
    if drop_last is not None:
        t.put("training.drop_last", boolean(drop_last[1], t.at(drop_last[0])), drop_last[0])
    steps = None
    if max_steps is not None:
        steps = number(max_steps[1], t.at(max_steps[0]), integer=True, minimum=-1)
    if steps is not None and steps > 0:
        t.put("training.max_steps", steps, max_steps[0] if max_steps else "")
    elif epochs is not None:
        t.put("training.epochs", number(epochs[1], t.at(epochs[0]), minimum=0), epochs[0])
    else:
        t.assume("training.epochs", 3, "num_train_epochs 3, TrainingArguments' default; "
                                       "--epochs N sets it")
    t.assume("training.world_size", 1, "world_size 1 (one process); --world-size N sets it")
    t.missing("training.dataset_size", "the dataset's size; --dataset-size N gives it")
