"""A logged run as lrviz holds it: the lr a training run logged, step by step.

Plain data: no torch, no files. The readers of :mod:`lrviz.runs` make one; alignment
and diagnosis (:mod:`lrviz.verify`) read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class LoggedRun:
    """The lr a run logged under one tag, one value per logged step, steps increasing.

    ``first_step`` is the logged step number of the plan's row 0 by the framework's own
    counting (0: Lightning counts optimizer steps taken; 1: the HF Trainer and mmengine log
    step N for the N-th step), or None when the format does not say (a plain CSV, an
    event file, an MLflow store): then both are tried.
    """

    steps: np.ndarray  # int64, increasing
    lr: np.ndarray  # float64, finite
    tag: str  # the tag or column the lr was read from
    source: str  # the file (or folder) it was read from, for messages
    format: str  # the reader's NAME
    float32: bool = False  # the format stores float32 (TensorBoard): compare so
    decimal: bool = False  # the format stores decimal text: a tiny tolerance applies
    first_step: int | None = 0
    group: int = 0  # the param group the tag names (Lightning's ``/pg2`` is group 1)
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.steps.shape[0])
