"""The result of a simulation: one array per recorded quantity, and its columns.

A :class:`Trace` knows nothing of torch; renderers and writers read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from lrviz.check import Finding
    from lrviz.plateau import PlateauStep
    from lrviz.spec import Spec


@dataclass(repr=False)
class Trace:
    """Row ``k`` holds what the optimizer used for training step ``k`` (README, "What a row
    means")."""

    spec: Spec
    lrs: np.ndarray  # shape (groups, steps)
    momenta: np.ndarray | None = None  # shape (groups, steps), when the scheduler cycles it
    metric: np.ndarray | None = None  # shape (steps,): value fed after the row, NaN if none
    warnings: tuple[str, ...] = ()  # torch warnings raised during the run, once each
    torch_version: str = ""
    momentum_name: str = "momentum"  # or "beta1" for Adam-like optimizers
    # What ``lrviz check`` finds in this run, most severe first: worked out once, by
    # :func:`lrviz.api.analyze`, and only read here (renderers draw them).
    findings: tuple[Finding, ...] = ()
    # ReduceLROnPlateau's decisions, replayed once by :func:`lrviz.api.analyze` (None:
    # not replayed yet); events, the metric panel and check read them.
    plateau_steps: tuple[PlateauStep, ...] | None = None

    @property
    def steps(self) -> int:
        return int(self.lrs.shape[1])

    @property
    def groups(self) -> int:
        return int(self.lrs.shape[0])

    @property
    def lr(self) -> np.ndarray:
        """The lr per step: 1-D for one param group, else shape (steps, groups)."""
        return self.lrs[0] if self.groups == 1 else self.lrs.T

    @property
    def momentum(self) -> np.ndarray | None:
        """Like :attr:`lr` for momentum (or beta1); None when the scheduler leaves it alone."""
        if self.momenta is None:
            return None
        return self.momenta[0] if self.groups == 1 else self.momenta.T

    def columns(self) -> list[tuple[str, np.ndarray]]:
        """The output columns, named and ordered as README "What a row means" says."""
        cols: list[tuple[str, np.ndarray]] = [("step", np.arange(self.steps))]
        if self.spec.steps_per_epoch > 1:
            cols.append(("epoch", np.arange(self.steps) // self.spec.steps_per_epoch))
        cols.extend(_per_group("lr", self.lrs))
        if self.momenta is not None:
            cols.extend(_per_group("momentum", self.momenta))
        if self.metric is not None:
            cols.append(("metric", self.metric))
        return cols

    def to_csv(self, path: str | Path | None = None) -> str:
        """The CSV of README "What a row means" as text; also written to ``path`` when given."""
        from lrviz.render.data import csv_text
        from lrviz.render.files import check_outputs, write_bytes

        text = csv_text(self)
        if path is not None:  # by the rules of every lrviz output (render.files)
            check_outputs([Path(path)], (Path(path).suffix.lower(),), "path")
            write_bytes(Path(path), text.encode("utf-8"))
        return text

    def plot(self) -> Figure:
        """The figure ``lrviz plot`` draws, as a matplotlib Figure."""
        from lrviz.render.figure import figure

        return figure(self)

    def _repr_html_(self) -> str:
        """Notebook display: the figure as inline SVG and a one-line summary."""
        import html

        from lrviz.render.figure import render_bytes, summary

        svg = render_bytes(self, ".svg").decode()
        caption = html.escape(f"{self.spec.name}: {self.spec.scheduler.type}, "
                              f"{self.steps} steps; {summary(self)}")
        return f"<figure>{svg[svg.index('<svg'):]}<figcaption>{caption}</figcaption></figure>"

    def __repr__(self) -> str:
        return (f"Trace({self.spec.name!r}, {self.spec.scheduler.type}, steps={self.steps}, "
                f"groups={self.groups})")

    def change_rows(self) -> np.ndarray:
        """Indices of the first row, the last row, and every row where any lr changes."""
        changed = np.zeros(self.steps, dtype=bool)
        changed[0] = changed[-1] = True
        if self.steps > 1:
            changed[1:] |= np.any(self.lrs[:, 1:] != self.lrs[:, :-1], axis=0)
        return np.flatnonzero(changed)


def _per_group(name: str, values: np.ndarray) -> list[tuple[str, np.ndarray]]:
    if values.shape[0] == 1:
        return [(name, values[0])]
    return [(f"{name}_{i}", row) for i, row in enumerate(values)]
