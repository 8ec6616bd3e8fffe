"""Why ReduceLROnPlateau did what it did: its bookkeeping, replayed from a trace.

torch keeps ``best``, ``num_bad_epochs`` and ``cooldown_counter`` to itself; this module
repeats the same arithmetic (``ReduceLROnPlateau.step`` and ``_reduce_lr`` in torch
2.x) over the metric values the trace fed, so that every cut can be explained: patience
exhausted, clamped by ``min_lr``, or skipped because the change was below ``eps``. The
lr values themselves always come from torch; a test holds this replay against them.
"""

from __future__ import annotations

import math
from typing import Any

from lrviz.trace import PlateauStep, Trace

__all__ = ["PlateauStep", "decisions", "replay"]


def _bar(best: float, mode: str, threshold: float, threshold_mode: str) -> float:
    if math.isinf(best):
        return best
    if threshold_mode == "rel":
        return best * (1 - threshold) if mode == "min" else best * (1 + threshold)
    return best - threshold if mode == "min" else best + threshold


def _better(value: float, bar: float, mode: str) -> bool:
    return value < bar if mode == "min" else value > bar


def decisions(trace: Trace) -> list[PlateauStep]:
    """The trace's ReduceLROnPlateau decisions: those :func:`lrviz.api.analyze` replayed
    once, or (for a trace built by hand) replayed now."""
    if trace.plateau_steps is not None:
        return list(trace.plateau_steps)
    return replay(trace)


def replay(trace: Trace) -> list[PlateauStep]:
    """The ReduceLROnPlateau decisions of a plateau trace, at the steps where something
    happens: the first and last metric fed, every improvement (``best`` and so the bar
    change there), every cut or skipped cut, and every step of a cooldown window.

    Between two kept steps nothing the figure, the table or ``check`` shows changes
    (``best`` and ``bar`` hold, no cooldown, no action), so a million-step run keeps a
    few hundred records, not a million. ``bad`` counts every step, kept or not.
    """
    spec = trace.spec
    if trace.metric is None or not spec.scheduler.info.plateau:
        return []
    import numpy as np

    p: dict[str, Any] = spec.scheduler.params
    info = spec.scheduler.info
    mode = p.get("mode", info.param("mode").default)
    factor = p.get("factor", info.param("factor").default)
    patience = p.get("patience", info.param("patience").default)
    threshold = p.get("threshold", info.param("threshold").default)
    threshold_mode = p.get("threshold_mode", info.param("threshold_mode").default)
    cooldown = p.get("cooldown", info.param("cooldown").default)
    eps = p.get("eps", info.param("eps").default)
    min_lr = p.get("min_lr", 0)
    floors = list(min_lr) if isinstance(min_lr, list) else [min_lr] * trace.groups

    unit = "epoch" if spec.interval == "epoch" else "step"  # what one step(metric) call is
    metric = np.asarray(trace.metric, dtype=float)
    fed = np.flatnonzero(~np.isnan(metric))
    if not fed.size:
        return []
    last = int(fed[-1])
    # The loop below is the replay's whole cost at a million steps: plain floats and
    # locals, the bar worked out once per improvement, a record only where one is kept.
    best = math.inf if mode == "min" else -math.inf
    bar = _bar(best, mode, threshold, threshold_mode)
    below = mode == "min"
    bad = counter = 0
    out = []
    first = True
    for row, value in zip(fed.tolist(), metric[fed].tolist(), strict=True):
        improved = value < bar if below else value > bar
        if improved:
            best, bad = value, 0
            bar = _bar(best, mode, threshold, threshold_mode)
        else:
            bad += 1
        in_cooldown = counter > 0
        if in_cooldown:
            counter -= 1
            bad = 0
        if bad > patience:
            action, reason, groups = _reduce(trace.lrs[:, row], factor, floors, eps,
                                             patience + 1, unit)
            counter, bad = cooldown, 0
        elif improved or in_cooldown or first or row == last:
            action, reason, groups = "", "", ()
        else:
            continue
        first = False
        out.append(PlateauStep(row, value, best, bar, bad, in_cooldown, action, reason,
                               groups))
    return out


def _reduce(lrs: Any, factor: float, floors: list[float], eps: float,
            bad: int, unit: str = "step") -> tuple[str, str, tuple[str, ...]]:
    """What ``_reduce_lr`` does to the first group that changes (or to group 0), and
    what it does to each group. ``unit``: what one ``step(metric)`` call stands for."""
    waited = f"no improvement for {bad} {unit}{'s' if bad != 1 else ''}"
    actions = []
    for old, floor in zip(map(float, lrs), floors, strict=True):
        new = max(old * factor, floor)
        if old * factor <= floor and old - floor <= eps:
            actions.append(("at floor", f"{waited}, but lr {old:.3g} is already at min_lr"))
        elif old - new <= eps:
            actions.append(("skipped", f"{waited}, but the cut {old:.3g} -> {new:.3g} is "
                            f"smaller than eps {eps:g}: skipped"))
        elif old * factor < floor:
            actions.append(("clamped", f"{waited}: lr {old:.3g} -> {new:.3g}, clamped by "
                            f"min_lr {floor:g}"))
        else:
            actions.append(("cut", f"{waited}: lr {old:.3g} -> {new:.3g}"))
    groups = tuple(a for a, _ in actions)
    for action, reason in actions:
        if action in ("cut", "clamped"):
            return action, reason, groups
    return (*actions[0], groups)
