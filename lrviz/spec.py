"""The spec model: the validated, normalised spec every other module reads.

A spec arrives as a raw mapping (the YAML format of README "The YAML spec", from a reader
or from flags); :mod:`lrviz.build` checks it and fills in every default, with the value
checker of :mod:`lrviz.checker`, and returns the dataclasses defined here. Nothing here
imports torch or reads a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from lrviz import catalog, keys
from lrviz.loop import Plan

TOP_KEYS = keys.names(keys.TOP)
WARMUP_KEYS = keys.names(keys.WARMUP)
PLOT_KEYS = keys.names(keys.PLOT)
TRAINING_KEYS = keys.names(keys.TRAINING)
INTERVALS = ("step", "epoch")
DEFAULT_OPTIMIZER: dict[str, Any] = {"type": "SGD", "lr": 0.1, "momentum": 0.9}
# A run longer than this is refused unless the caller raises the cap: it guards
# against a typo (an extra zero or two) filling memory at 8 bytes a value.
MAX_STEPS = 50_000_000
MAX_GROUPS = 1000  # param groups: each one is a row of every output
MAX_INT = 2**53  # larger integers lose their last digits as floats; no schedule needs them
MAX_DEPTH = 32  # nesting of a spec's mappings and lists (composites of composites, ...)
MAX_NAME, MAX_TITLE = keys.MAX_NAME, keys.MAX_TITLE
MAX_PIXELS = 80_000_000  # of a figure: the tallest default one at 1200 dpi has 74 million
_LARGEST_DEFAULT_SIZE = (8.0, 6.4)  # inches, with the momentum and metric panels
_DEFAULT_DPI = 150
MAX_YAML_VALUES = 1_000_000  # values a spec's YAML may expand to, aliases included


@dataclass(frozen=True)
class SchedulerSpec:
    """One scheduler: its catalog entry, its constructor keywords, its nested children."""

    info: catalog.Scheduler
    params: dict[str, Any]  # torch spelling; expressions are lrviz.expr.Expression
    children: tuple[SchedulerSpec, ...] = ()
    path: str = "scheduler"  # key path in the spec, for messages

    @property
    def type(self) -> str:
        return self.info.name

    def walk(self) -> list[SchedulerSpec]:
        """This scheduler and every nested one, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for key, value in self.params.items():
            out[key] = _plain(value)
        if self.children:
            out["schedulers"] = [c.to_dict() for c in self.children]
        return out


@dataclass(frozen=True)
class OptimizerSpec:
    """The dummy optimizer: torch.optim class name, keywords, and per-group overrides."""

    type: str
    params: dict[str, Any]
    param_groups: tuple[dict[str, Any], ...] = ()

    @property
    def group_count(self) -> int:
        return max(1, len(self.param_groups))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, **self.params}
        if self.param_groups:
            out["param_groups"] = [dict(g) for g in self.param_groups]
        return out


@dataclass(frozen=True)
class MetricSpec:
    """The values fed to ``ReduceLROnPlateau.step``, one per scheduler step."""

    values: tuple[float, ...]
    source: dict[str, Any]  # how the spec described them (values, or file and column)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.source)


@dataclass(frozen=True)
class WarmupSpec:
    """A linear warmup before the main scheduler, in scheduler steps."""

    steps: int
    start_factor: float = 0.01

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "start_factor": self.start_factor}


@dataclass(frozen=True)
class ResumeSpec:
    """Save at row ``at`` and go on in a fresh process that loads ``restore`` (README
    "Resume")."""

    at: int
    restore: str = "full"

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "restore": self.restore}


@dataclass(frozen=True)
class PlotOptions:
    """How the figure is drawn; None means lrviz chooses."""

    log_y: bool | None = None
    size: tuple[float, float] | None = None  # inches, width x height
    dpi: int | None = None
    x: str | None = None  # the x axis (lrviz.loop.X_AXES); None: steps

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.x is not None:
            out["x"] = self.x
        if self.log_y is not None:
            out["log_y"] = self.log_y
        if self.size is not None:
            out["size"] = f"{self.size[0]:g}x{self.size[1]:g}"
        if self.dpi is not None:
            out["dpi"] = self.dpi
        return out


@dataclass(frozen=True)
class Spec:
    """A validated, normalised spec: everything the engine needs, nothing left to default."""

    name: str
    title: str | None
    plan: Plan  # the loop: rows, and the scheduler steps after each (lrviz.loop)
    interval: str
    optimizer: OptimizerSpec
    scheduler: SchedulerSpec
    metric: MetricSpec | None = None
    source: str | None = None  # file the spec came from, for messages
    locations: dict[str, str] = field(default_factory=dict)  # key path -> flag
    notes: tuple[str, ...] = ()  # defaults lrviz chose, to tell the user
    plot: PlotOptions = field(default_factory=PlotOptions)
    # Set only where SequentialLR cannot carry the warmup (ReduceLROnPlateau): the engine
    # then steps a real LinearLR first, as a training loop would. For every other
    # scheduler the warmup is already part of ``scheduler``, a real SequentialLR.
    warmup: WarmupSpec | None = None
    warmup_steps: int = 0  # scheduler steps of warmup, however it is carried
    training: dict[str, Any] | None = None  # the training section as given, checked
    resume: ResumeSpec | None = None  # training.resume: a save and a fresh process

    @property
    def steps(self) -> int:
        """Rows of the run: optimizer steps (README "What a row means")."""
        return self.plan.rows

    @property
    def steps_per_epoch(self) -> int:
        """Rows in one epoch (1 when epochs are not whole rows: see ``plan.epoch``)."""
        return self.plan.steps_per_epoch or 1

    @property
    def scheduler_steps(self) -> int:
        """How many times ``scheduler.step()`` runs in the whole run."""
        return self.plan.scheduler_steps

    def cut(self, rows: int) -> Spec:
        """This spec stopped after its first ``rows`` rows (the lengths stay as filled)."""
        return replace(self, plan=self.plan.cut(rows))

    @property
    def records_momentum(self) -> bool:
        """True when some scheduler of the spec cycles momentum (or Adam's beta1)."""
        return any(
            s.info.changes_momentum and s.params.get("cycle_momentum", True)
            for s in self.scheduler.walk()
        )

    def where(self, path: str) -> str:
        """Where a key path came from, for error messages: a flag or ``file: path``."""
        if path in self.locations:
            return self.locations[path]
        return f"{self.source}: {path}" if self.source else path

    def to_dict(self) -> dict[str, Any]:
        """The normalised spec as plain data (YAML/JSON-able), with every default filled."""
        out: dict[str, Any] = {"name": self.name}
        if self.title:
            out["title"] = self.title
        if self.training is not None:
            out["training"] = dict(self.training)
        else:
            out["steps"] = self.steps
            out["steps_per_epoch"] = self.steps_per_epoch
        if self.resume is not None:
            out["training"] = {**out.get("training", {}), "resume": self.resume.to_dict()}
        out["optimizer"] = self.optimizer.to_dict()
        out["scheduler"] = {**self.scheduler.to_dict(), "interval": self.interval}
        if self.metric is not None:
            out["metric"] = self.metric.to_dict()
        if self.warmup is not None:
            out["warmup"] = self.warmup.to_dict()
        if self.plot.to_dict():
            out["plot"] = self.plot.to_dict()
        return out


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


_BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True,
               "false": False, "no": False, "off": False, "0": False}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    text = getattr(value, "text", None)  # an Expression
    return text if isinstance(text, str) else value
