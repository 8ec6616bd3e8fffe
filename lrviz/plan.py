"""A training loop as numbers: the rows of a run and the scheduler steps after each.

:func:`lrviz.loop.plan` makes a :class:`Plan` from a loop's rules; the engine steps by
it, and events, checks, code export, columns and figure axes read their rows from it.
Plain numbers only: no torch, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Filled:
    """A length the framework computes for the scheduler, and how."""

    value: int
    note: str


@dataclass(frozen=True, eq=False)
class Plan:
    """A loop turned into numbers: what the engine, checks and exports all step by.

    The plain loop keeps a compact form (``every``: one ``scheduler.step()`` after row
    ``k`` when ``(k + 1) % every == 0``), so that a run of fifty million rows costs no
    arrays; a framework's plan holds them. Either way the same properties answer.
    """

    rows: int
    before: int  # scheduler.step() calls before row 0
    batches_per_epoch: int  # micro-batches one process sees in an epoch
    steps_per_epoch: int | None  # optimizer steps in a whole epoch (None: not constant)
    lengths: dict[str, Filled] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # accelerate: a scheduler with total_steps (OneCycleLR) is stepped only while its
    # _step_count (1 + the steps so far) <= total_steps; the engine applies the cap
    stops_at_total_steps: bool = False
    every: int | None = None  # the plain loop's compact form (see above)
    positions: np.ndarray | None = None  # int64 [rows]: global micro-batch of each step
    after_steps: np.ndarray | None = None  # int64 [rows]: calls after each row
    epochs_of_rows: np.ndarray | None = None  # int64 [rows]
    samples_per_batch: int = 0  # samples of one micro-batch over all processes (0: unknown)
    samples_per_epoch: int = 0
    tokens_per_sample: int | None = None
    framework: str = "plain"
    interval: str = "step"  # what drives the scheduler: optimizer steps or epoch ends

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plan):
            return NotImplemented
        arrays = ("positions", "after_steps", "epochs_of_rows")
        same = all(getattr(self, f.name) == getattr(other, f.name)
                   for f in fields(self) if f.name not in arrays)
        return same and all(_same(getattr(self, a), getattr(other, a)) for a in arrays)

    __hash__ = None  # type: ignore[assignment]

    @property
    def plain(self) -> bool:
        """True for README "What a row means"'s loop: one call per row or per epoch."""
        return self.every is not None

    @cached_property
    def after(self) -> np.ndarray:
        """int64 [rows]: ``scheduler.step()`` calls after each row, before the next."""
        if self.after_steps is not None:
            return self.after_steps
        assert self.every is not None
        out = np.zeros(self.rows, dtype=np.int64)
        out[self.every - 1::self.every] = 1
        out.flags.writeable = False
        return out

    @cached_property
    def epoch(self) -> np.ndarray:
        """int64 [rows]: the epoch each row belongs to."""
        if self.epochs_of_rows is not None:
            return self.epochs_of_rows
        out = np.arange(self.rows, dtype=np.int64) // self.batches_per_epoch
        out.flags.writeable = False
        return out

    @property
    def scheduler_steps(self) -> int:
        """Every ``scheduler.step()`` call of the run, the ones after the last row included."""
        if self.every is not None:
            return self.before + self.rows // self.every
        return self.before + int(self.after.sum())

    def calls_before(self) -> np.ndarray:
        """``scheduler.step()`` calls made before each row: its position in the schedule."""
        if self.every is not None:
            return self.before + np.arange(self.rows, dtype=np.int64) // self.every
        return self._calls_before

    @cached_property
    def _calls_before(self) -> np.ndarray:
        out = np.empty(self.rows, dtype=np.int64)
        out[0] = self.before
        np.cumsum(self.after[:-1], out=out[1:])
        out[1:] += self.before
        out.flags.writeable = False
        return out

    def position(self, row: int) -> int:
        """The calls made before ``row``: where in its schedule the scheduler is at it."""
        if self.every is not None:
            return self.before + row // self.every
        return int(self._calls_before[row])

    def row_of(self, calls: int) -> int:
        """The first row whose lr comes after ``calls`` scheduler steps (``rows`` if none)."""
        if self.every is not None:
            return min(self.rows, max(0, calls - self.before) * self.every)
        return int(np.searchsorted(self._calls_before, calls, side="left"))

    def metric_feeds(self, skip: int = 0) -> int:
        """Metric values a ReduceLROnPlateau run consumes, its first ``skip`` calls aside.

        A metric is measured once per row that steps the scheduler (and once for the
        calls before row 0) and fed to each of that row's calls: a framework that steps
        N times per optimizer step feeds the same value N times.
        """
        if self.every is not None:
            return max(0, self.scheduler_steps - skip)
        groups = np.concatenate(([self.before], self.after))
        ends = np.cumsum(groups)
        return int(np.count_nonzero((groups > 0) & (ends > skip)))

    def calls_of_row(self, row: int) -> int:
        """The ``scheduler.step()`` calls right after ``row``."""
        if self.every is not None:
            return int((row + 1) % self.every == 0)
        return int(self.after[row])

    def cut(self, rows: int) -> Plan:
        """The same loop stopped after its first ``rows`` rows."""
        if rows >= self.rows:
            return self
        def cut(array: np.ndarray | None) -> np.ndarray | None:
            return None if array is None else array[:rows]

        return replace(self, rows=rows, positions=cut(self.positions),
                       after_steps=cut(self.after_steps), epochs_of_rows=cut(self.epochs_of_rows))

    @property
    def counts_samples(self) -> bool:
        """True when the loop counts batches of samples (a framework), not bare steps."""
        return self.samples_per_batch > 0

    def columns(self) -> list[tuple[str, np.ndarray]]:
        """The loop's own columns of the outputs: epoch, samples, tokens (where known).

        ``epoch`` is the epoch a row belongs to; ``samples`` (and ``tokens``) count what
        the run trained on before the row's optimizer step, over all processes.
        """
        if not self.counts_samples:
            return [("epoch", self.epoch)] if self.batches_per_epoch > 1 else []
        cols = [("epoch", self.epoch), ("samples", self.samples())]
        if self.tokens_per_sample is not None:
            cols.append(("tokens", self.samples() * self.tokens_per_sample))
        return cols

    def samples(self) -> np.ndarray:
        """int64 [rows]: samples trained on before each row's optimizer step."""
        return self._samples_at(self._micro_batches()[:-1])

    def x(self, axis: str) -> np.ndarray:
        """Each row's place on a figure's ``axis``: step, epoch, samples or tokens."""
        return self.x_edges(axis)[:-1]

    def x_edges(self, axis: str) -> np.ndarray:
        """Where each row starts on ``axis``, and where the run ends: ``rows + 1`` values."""
        if axis == "step":
            return np.arange(self.rows + 1, dtype=np.int64)
        if axis == "epoch":
            if self.every is not None:
                return np.arange(self.rows + 1) / self.batches_per_epoch
            return self._micro_batches() / self.batches_per_epoch
        if axis == "samples" and self.counts_samples:
            return self._samples_at(self._micro_batches())
        if axis == "tokens" and self.tokens_per_sample is not None:
            return self._samples_at(self._micro_batches()) * self.tokens_per_sample
        raise ValueError(f"no {axis} axis for this loop")

    def axes(self) -> tuple[str, ...]:
        """The x axes this plan can give (``--x``)."""
        out = ["step", "epoch"]
        if self.counts_samples:
            out.append("samples")
        if self.tokens_per_sample is not None:
            out.append("tokens")
        return tuple(out)

    def _micro_batches(self) -> np.ndarray:
        """Micro-batches done before each row's accumulation window, and at the run's end."""
        assert self.positions is not None
        out = np.zeros(self.rows + 1, dtype=np.int64)
        out[1:] = self.positions + 1
        return out

    def _samples_at(self, micro_batches: np.ndarray) -> np.ndarray:
        whole, part = np.divmod(micro_batches, self.batches_per_epoch)
        return whole * self.samples_per_epoch + np.minimum(part * self.samples_per_batch,
                                                           self.samples_per_epoch)



def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None
                                         and np.array_equal(a, b))
