"""HF Trainer's ``trainer_state.json`` (or the checkpoint or output folder holding it).

``log_history`` holds one entry per logging step (every ``logging_steps``) with
``learning_rate`` and ``step``: the global optimizer step, counted from 1, and (since
transformers ~4.51) the lr that step used. So step N is the plan's row N-1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lrviz.errors import SpecError
from lrviz.runs.common import Options, decode, integer, make_run, pick_tag, read_inside, shown
from lrviz.runs.model import LoggedRun

NAME = "hf"
DESCRIPTION = "an HF Trainer trainer_state.json"
FILE = "trainer_state.json"


def detect(path: Path, data: bytes | None) -> int:
    if data is None:
        return 10 if (path / FILE).is_file() else 0
    if path.name == FILE:
        return 10
    return 8 if data.lstrip()[:1] == b"{" and b'"log_history"' in data[:1 << 20] else 0


def read(path: Path, data: bytes | None, options: Options) -> LoggedRun:
    if data is None:  # a folder: its trainer_state.json, read under it
        path = path / FILE
        text = read_inside(path.parent, path, options)
    else:
        text = decode(data, str(path), DESCRIPTION)
    source = str(path)
    try:
        state = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise SpecError(f"not valid JSON ({msg}); expected {DESCRIPTION}", source) from None
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list):
        raise SpecError("no log_history list; expected " + DESCRIPTION, source)
    entries = [e for e in history if isinstance(e, dict)]
    names = sorted({k for e in entries for k in e if k not in ("step", "epoch")})
    tag = pick_tag(names, options.tag, source, "key")
    steps, values = [], []
    for i, entry in enumerate(entries):
        if tag not in entry:
            continue
        value = entry[tag]
        if not _is_number(value):
            raise SpecError(f"expected a number, got {shown([repr(value)])}",
                            f"{source}: log_history[{i}].{tag}")
        steps.append(integer(entry.get("step"), source, f"log_history[{i}].step"))
        values.append(float(value))
    series = _series(entries, names, tag, source)
    return make_run(steps, values, tag=tag, source=source, format=NAME, decimal=True,
                    first_step=1, series=series)


def _series(entries: list[dict[str, Any]], names: list[str], tag: str, source: str
            ) -> dict[str, Any]:
    """The other logged scalars (``loss``, ``eval_loss``), for ``--metric-from``."""
    import numpy as np

    out: dict[str, Any] = {}
    for name in names:
        if name == tag or len(out) >= 100:
            continue
        pairs = [(e.get("step"), e[name]) for e in entries if _is_number(e.get(name))]
        pairs = [(s, v) for s, v in pairs if isinstance(s, int) and abs(s) < 2**62]
        if pairs:
            out[name] = (np.array([s for s, _ in pairs], dtype=np.int64),
                         np.array([v for _, v in pairs], dtype=np.float64))
    return out


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
