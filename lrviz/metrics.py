"""Synthetic metric streams for ReduceLROnPlateau: named, parameterised, seeded.

Each generator makes ``n`` values, one per scheduler step that is fed a metric. The
noise comes from ``numpy.random.default_rng(seed)``, so a seed gives the same stream on
every machine and run, and another seed another stream.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Generator:
    """A named metric shape with its parameters and their defaults."""

    name: str
    help: str
    params: dict[str, float]  # name -> default; "n" (the length) is given by lrviz
    shape: Callable[[np.ndarray, dict[str, float]], np.ndarray]
    mode: str = "min"  # the ReduceLROnPlateau mode it suits


def _plateau_loss(t: np.ndarray, p: dict[str, float]) -> np.ndarray:
    # exponential decay towards `floor`, reached (within 1%) at `plateau_at` of the run
    tau = max(1e-9, p["plateau_at"] * len(t) / math.log(100))
    return p["floor"] + (p["start"] - p["floor"]) * np.exp(-t / tau)


def _staircase(t: np.ndarray, p: dict[str, float]) -> np.ndarray:
    length = max(1, round(p["length"]))
    return p["start"] * (1 - p["drop"]) ** (t // length)


def _constant(t: np.ndarray, p: dict[str, float]) -> np.ndarray:
    return np.full(len(t), p["value"])


def _accuracy(t: np.ndarray, p: dict[str, float]) -> np.ndarray:
    tau = max(1e-9, p["plateau_at"] * len(t) / math.log(100))
    return p["ceiling"] - (p["ceiling"] - p["start"]) * np.exp(-t / tau)


GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        Generator("plateau-loss", "a noisy loss that decays, then flattens out",
                  {"start": 1.0, "floor": 0.3, "plateau_at": 0.4, "noise": 0.01},
                  _plateau_loss),
        Generator("staircase", "flat stretches of `length` steps, each `drop` lower",
                  {"start": 1.0, "drop": 0.2, "length": 30, "noise": 0.005}, _staircase),
        Generator("constant", "the same value every step (no improvement at all)",
                  {"value": 1.0, "noise": 0.0}, _constant),
        Generator("accuracy", "a noisy accuracy rising to a ceiling, for mode: max",
                  {"start": 0.1, "ceiling": 0.9, "plateau_at": 0.4, "noise": 0.005},
                  _accuracy, mode="max"),
    )
}
DEFAULT = "plateau-loss"


def generate(name: str, n: int, seed: int = 0, **params: float) -> np.ndarray:
    """``n`` values of generator ``name``; unknown names and params raise KeyError."""
    gen = GENERATORS[name]
    unknown = set(params) - set(gen.params)
    if unknown:
        raise KeyError(sorted(unknown)[0])
    values: dict[str, Any] = {**gen.params, **params}
    clean = gen.shape(np.arange(n, dtype=float), values)
    noise = float(values["noise"])
    if noise:
        clean = clean + noise * np.random.default_rng(seed).standard_normal(n)
    return np.asarray(clean, dtype=float)
