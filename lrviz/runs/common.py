"""What every run reader shares: the lr tag found by the frameworks' own names, and the
logged values checked and turned into a :class:`~lrviz.runs.model.LoggedRun`."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lrviz.errors import SpecError
from lrviz.inputs import MAX_RUN_BYTES, read_bytes, read_text
from lrviz.render.escape import terminal
from lrviz.runs.model import LoggedRun

# The frameworks' own names for the lr: HF `learning_rate` (`train/learning_rate` in its
# TensorBoard and W&B logs), Lightning's LearningRateMonitor `lr-AdamW`, `lr-AdamW/pg2`,
# `lr-SGD-1`, mmengine `lr`, and the `train/lr` people write by hand.
_LR_NAME = re.compile(
    r"(?:(?:train|trainer|training|optim|optimizer)[/_.])?(?:learning_rate|lr)"
    r"(?:-[A-Za-z0-9_.]+)*(?:/pg\d+)?", re.IGNORECASE)
_NOT_LR = re.compile(r"momentum|beta|weight_decay|__min|__max", re.IGNORECASE)
_GROUP = re.compile(r"/pg(\d+)$")
SHOWN = 8  # candidates an error lists at most


class MissingTag(SpecError):
    """A tag named with ``--tag`` (or ``metric.tag``) that the log does not hold; ``names``
    are the tags it does hold, so a caller trying several names can go on to the next."""

    def __init__(self, message: str, where: str, names: Sequence[str]) -> None:
        super().__init__(message, where)
        self.names = tuple(names)


@dataclass(frozen=True)
class Options:
    """How to read a run: the tag (or columns) chosen on the command line, and the folders
    files inside a run folder may resolve to (the folder itself, and ``--allow-path``)."""

    tag: str | None = None
    step_column: str | None = None
    lr_column: str | None = None
    allowed: tuple[Path, ...] = ()

    def roots(self, folder: Path) -> list[Path]:
        return [folder, *self.allowed]


def read_inside(folder: Path, file: Path, options: Options, *, binary: bool = False
                ) -> str | bytes:
    """A file of a run folder, read only if it resolves under that folder (a link out of
    it is refused) or a folder ``--allow-path`` allows."""
    kwargs = {"what": "run file", "where": str(file), "limit": MAX_RUN_BYTES,
              "roots": options.roots(folder)}
    return read_bytes(file, **kwargs) if binary else read_text(file, **kwargs)  # type: ignore[arg-type]


def is_lr_name(name: str) -> bool:
    """Whether ``name`` is how some framework names the lr (a W&B export's ``run - `` prefix
    aside)."""
    base = name.rsplit(" - ", 1)[-1]
    return bool(_LR_NAME.fullmatch(base)) and not _NOT_LR.search(base)


def shown(names: Iterable[str]) -> str:
    """At most :data:`SHOWN` names, each escaped and cut short, for a one-line message."""
    names = list(names)
    cut = [repr(terminal(n if len(n) <= 40 else n[:37] + "...")) for n in names[:SHOWN]]
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return (", ".join(cut) + more) if cut else "none"


def pick_tag(names: Sequence[str], tag: str | None, source: str, what: str = "tag",
             flag: str = "--tag") -> str:
    """The lr's tag among ``names``: ``tag`` when given, else the one lr-like name."""
    if tag is not None:
        if tag in names:
            return tag
        raise MissingTag(f"no {what} {shown([tag])}; it has {shown(names)}", source, names)
    found = [n for n in names if is_lr_name(n)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise SpecError(f"no learning-rate {what} found (learning_rate, lr, lr-AdamW, ...); "
                        f"it has {shown(names)}: choose one with {flag}", source)
    raise SpecError(f"several learning-rate {what}s: {shown(found)}; choose one with {flag}",
                    source)


def group_of(tag: str) -> int:
    """The param group a Lightning-style tag names (``lr-AdamW/pg2``: 1), else 0."""
    match = _GROUP.search(tag)
    return max(int(match.group(1)) - 1, 0) if match else 0


def make_run(
    steps: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray, *, tag: str,
    source: str, format: str, repeats: str = "equal", **kwargs: object,
) -> LoggedRun:
    """The checked run: finite values, steps >= 0 and increasing.

    A step logged again with the same lr is one entry (Lightning's monitor logs every
    micro-batch). ``repeats="last"``: a step logged again with another lr keeps the last
    (the lr the optimizer step used, logged at its last micro-batch); otherwise that is an
    error, as is a step going back.
    """
    step = np.asarray(steps, dtype=np.int64)
    lr = np.asarray(values, dtype=np.float64)
    where = f"{source} ({terminal(tag)})"
    what = "lr" if is_lr_name(tag) else "value"  # a metric read for --metric-from is no lr
    if step.size == 0:
        raise SpecError(f"no {what} values logged under {shown([tag])}", source)
    bad = np.flatnonzero(~np.isfinite(lr))
    if bad.size:
        raise SpecError(f"the {what} at step {step[bad[0]]} is {float(lr[bad[0]])!r}; "
                        "expected a finite number", where)
    if step.min() < 0:
        raise SpecError(f"step {step.min()} is negative; expected steps >= 0", where)
    back = np.flatnonzero(np.diff(step) < 0)
    if back.size:
        i = back[0]
        raise SpecError(f"the steps go back from {step[i]} to {step[i + 1]}; expected "
                        "increasing steps (two runs in one log?)", where)
    again = np.flatnonzero(np.diff(step) == 0)
    if again.size:
        differ = again[lr[again] != lr[again + 1]]
        if differ.size and repeats != "last":
            i = differ[0]
            raise SpecError(f"step {step[i]} is logged twice with different {what} "
                            f"({float(lr[i])!r} and {float(lr[i + 1])!r}); expected one "
                            f"{what} per step", where)
        keep = np.ones(step.size, dtype=bool)
        keep[again] = False  # of a repeated step, the last entry stays
        step, lr = step[keep], lr[keep]
    return LoggedRun(step, lr, tag, source, format, group=group_of(tag), **kwargs)  # type: ignore[arg-type]


def number(text: str, source: str, what: str) -> float:
    """A float from decimal text; anything else names the place."""
    try:
        value = float(text)
    except ValueError:
        raise SpecError(f"expected a number, got {shown([text])}", f"{source}: {what}") from None
    return value


def integer(value: object, source: str, what: str) -> int:
    """A step: an int, or a float or text holding a whole number (``3``, ``3.0``)."""
    step: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        step = value if abs(value) < 2**62 else None  # a step numpy holds
    elif isinstance(value, (float, str)):
        try:
            as_float = float(value)
        except ValueError:
            as_float = math.nan
        if math.isfinite(as_float) and as_float.is_integer() and abs(as_float) < 2**62:
            step = int(as_float)
    if step is None:
        raise SpecError(f"expected a whole step number, got {shown([str(value)])}",
                        f"{source}: {what}")
    return step


def decode(data: bytes, source: str, expected: str) -> str:
    """A run file's bytes as UTF-8 text, or a one-line error saying what was expected."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text (byte {exc.start}); expected {expected}",
                        source) from None
