"""The spec model: YAML files and command-line flags in, one validated spec out.

Both front doors produce a plain mapping (the "raw" spec, shaped as the YAML format of
README "The YAML spec") and hand it to :func:`build_spec`, which checks every key against the
catalog, converts values to their types, fills in the defaults lrviz chooses (run
length, ``T_max``, ``total_steps``) and records in ``Spec.notes`` what it chose.
Nothing here imports torch: the optimizer's own keywords are checked by the engine,
which has torch at hand.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrviz import catalog, inputs, keys
from lrviz.catalog import ANY, BOOL, CHOICE, EXPR, FLOAT, INT, INT_LIST, SCHEDULERS, Param
from lrviz.errors import SpecError

TOP_KEYS = keys.names(keys.TOP)
WARMUP_KEYS = keys.names(keys.WARMUP)
PLOT_KEYS = keys.names(keys.PLOT)
INTERVALS = ("step", "epoch")
DEFAULT_OPTIMIZER: dict[str, Any] = {"type": "SGD", "lr": 0.1, "momentum": 0.9}
# A run longer than this is refused unless the caller raises the cap: it guards
# against a typo (an extra zero or two) filling memory at 8 bytes a value.
MAX_STEPS = 50_000_000
MAX_GROUPS = 1000  # param groups: each one is a row of every output
MAX_SPEC_BYTES = inputs.MAX_SPEC_BYTES
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
class PlotOptions:
    """How the figure is drawn; None means lrviz chooses."""

    log_y: bool | None = None
    size: tuple[float, float] | None = None  # inches, width x height
    dpi: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
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
    steps: int
    steps_per_epoch: int
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

    @property
    def scheduler_steps(self) -> int:
        """How many times ``scheduler.step()`` runs (README "What a row means")."""
        return _scheduler_steps(self.steps, self.steps_per_epoch, self.interval)

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
        out["steps"] = self.steps
        out["steps_per_epoch"] = self.steps_per_epoch
        out["optimizer"] = self.optimizer.to_dict()
        out["scheduler"] = {**self.scheduler.to_dict(), "interval": self.interval}
        if self.metric is not None:
            out["metric"] = self.metric.to_dict()
        if self.warmup is not None:
            out["warmup"] = self.warmup.to_dict()
        if self.plot.to_dict():
            out["plot"] = self.plot.to_dict()
        return out


# ----------------------------------------------------------------------------- loading


# Reading a file (the hardened YAML loader, telling its format, translating it) is
# lrviz.readers' job; this module starts from the raw mapping a reader returns.


def build_file_spec(raw: dict[str, Any], path: str | Path, **kwargs: Any) -> Spec:
    """:func:`build_spec` for the contents of a spec file: named after it by default,
    with messages naming it and metric files found beside it."""
    path = Path(path)
    return build_spec({"name": path.stem, **raw}, source=str(path), base_dir=path.parent,
                      **kwargs)


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


# -------------------------------------------------------------------------- validation


class _Checker:
    """Validates one raw spec, naming every bad value by its key path."""

    def __init__(
        self, source: str | None, locations: dict[str, str], allow_import: bool = False,
        allow_paths: tuple[Path, ...] = (),
    ) -> None:
        self.source = source
        self.locations = locations
        self.allow_import = allow_import
        self.allow_paths = allow_paths  # folders a spec may name files in, besides its own

    def where(self, path: str) -> str:
        if path in self.locations:
            return self.locations[path]
        if not path:
            return self.source or "spec"
        base, bracket, index = path.partition("[")
        if bracket and base in self.locations and self.locations[base].startswith("-"):
            return f"{self.locations[base]} (item {int(index.split(']')[0]) + 1})"
        return f"{self.source}: {path}" if self.source else path

    def fail(self, path: str, message: str) -> SpecError:
        return SpecError(message, self.where(path))

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...] | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {_show(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"keys must be names, got {_show(key)}")
            if allowed is not None and key not in allowed:
                raise self.unknown(_join(path, key), key, allowed)
        return value

    def unknown(self, path: str, key: str, allowed: tuple[str, ...] | list[str]) -> SpecError:
        hint = catalog.suggest(key, list(allowed))
        return self.fail(path, f"unknown key{hint}; expected one of: {', '.join(allowed)}")

    # ---- scalars

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or value is None:
            raise self.fail(path, f"expected a number, got {_show(value)}")
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise self.fail(path, f"expected a number, got {_show(value)}") from None
        if not isinstance(value, (int, float)):
            raise self.fail(path, f"expected a number, got {_show(value)}")
        if isinstance(value, int) and abs(value) > MAX_INT:
            raise self.fail(path, f"expected a finite number, got {_show(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(path, f"expected a finite number, got {value}")
        return number

    def integer(self, value: Any, path: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_INT:
                raise self.fail(path, f"expected an integer of at most {MAX_INT}, "
                                f"got {_show(value)}")
            return value
        number = self.number(value, path) if not isinstance(value, bool) else None
        if number is None or not number.is_integer():
            raise self.fail(path, f"expected an integer, got {_show(value)}")
        return int(number)

    def keyed(self, section: str, name: str, value: Any) -> Any:
        """A value of one of the spec's own keys, checked by :mod:`lrviz.keys`' table."""
        key, path = keys.key(section, name), _join(section, name)
        if key.kind == keys.BOOLEAN:
            return self.boolean(value, path)
        if key.kind == keys.INTEGER:
            number: float = self.integer(value, path)
            what = "an integer"
        elif key.kind == keys.NUMBER:
            number, what = self.number(value, path), "a number"
        else:
            raise AssertionError(f"{path} is a {key.kind}, not a single value")
        if not key.within(number):
            raise self.fail(path, f"expected {key.bounds_text(what)}{key.hint}, "
                            f"got {_num(number)}")
        return number

    def boolean(self, value: Any, path: str) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.strip().lower()]
        raise self.fail(path, f"expected true or false, got {_show(value)}")

    def bounded(self, number: float, param: Param, path: str) -> None:
        if param.positive and number <= 0:
            raise self.fail(path, f"expected a number > 0, got {_num(number)}")
        if param.minimum is not None and number < param.minimum:
            what = "an integer" if param.kind in (INT, INT_LIST) else "a number"
            raise self.fail(path, f"expected {what} >= {_num(param.minimum)}, got {_num(number)}")
        if param.maximum is not None and number > param.maximum:
            raise self.fail(path, f"expected a number <= {_num(param.maximum)}, got {_num(number)}")

    # ---- scheduler parameters

    def param(self, param: Param, value: Any, path: str, groups: int) -> Any:
        if value is None and param.nullable:
            return None
        if param.per_group and isinstance(value, (list, tuple)):
            if len(value) != groups:
                raise self.fail(
                    path,
                    f"expected one value per param group ({groups}), got {len(value)}",
                )
            return [self.scalar(param, v, f"{path}[{i}]") for i, v in enumerate(value)]
        if param.per_group and isinstance(value, str) and "," in value and param.kind != EXPR:
            return self.param(param, [v for v in value.split(",")], path, groups)
        return self.scalar(param, value, path)

    def scalar(self, param: Param, value: Any, path: str) -> Any:
        if param.kind in (INT, FLOAT):
            number = self.integer(value, path) if param.kind == INT else self.number(value, path)
            self.bounded(number, param, path)
            return number
        if param.kind == BOOL:
            return self.boolean(value, path)
        if param.kind == CHOICE:
            if isinstance(value, str) and value.strip().lower() in param.choices:
                return value.strip().lower()
            hint = catalog.suggest(str(value).lower(), param.choices)
            raise self.fail(
                path, f"expected one of {', '.join(param.choices)}, got {_show(value)}{hint}"
            )
        if param.kind == INT_LIST:
            items = value.split(",") if isinstance(value, str) else value
            if isinstance(items, (int, float)) and not isinstance(items, bool):
                items = [items]
            if not isinstance(items, (list, tuple)):
                raise self.fail(path, f"expected a list of integers, got {_show(value)}")
            out = []
            for i, item in enumerate(items):
                number = self.integer(item, f"{path}[{i}]")
                self.bounded(number, param, f"{path}[{i}]")
                out.append(number)
            return out
        if param.kind == ANY:
            return self.plain(value, path)
        if param.kind == EXPR:
            from lrviz.expr import parse_expression

            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = repr(self.number(value, path))
            if not isinstance(value, str):
                raise self.fail(
                    path, f"expected an expression in {param.variable}, got {_show(value)}"
                )
            return parse_expression(value, param.variable, self.where(path))
        raise AssertionError(f"unhandled parameter kind {param.kind}")

    def plain(self, value: Any, path: str) -> Any:
        """A value of a custom class's untyped parameter: numbers (finite), true/false,
        text, or a list of them. Text that reads as a number (from a flag) is one."""
        if isinstance(value, list):
            return [self.plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                number: float = int(value)
            except ValueError:
                try:
                    number = float(value)
                except ValueError:
                    return value
            value = number
        if isinstance(value, (int, float)):
            return value if isinstance(value, int) else self.number(value, path)
        raise self.fail(path, f"expected a number, true/false, text or a list, got {_show(value)}")


_BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True,
               "false": False, "no": False, "off": False, "0": False}


def build_spec(
    raw: dict[str, Any],
    *,
    source: str | None = None,
    base_dir: str | Path | None = None,
    locations: dict[str, str] | None = None,
    max_steps: int = MAX_STEPS,
    allow_import: bool = False,
    allow_paths: tuple[str | Path, ...] = (),
) -> Spec:
    """Validate a raw spec mapping and fill in every default.

    ``source`` names the file in messages, ``base_dir`` resolves metric file paths,
    ``locations`` maps key paths that came from flags to the flag's name.
    ``allow_import`` lets ``type: package.module:ClassName`` import that module;
    ``allow_paths`` are folders the spec may name files in besides its own and the
    current folder (:mod:`lrviz.inputs`).
    """
    check = _Checker(source, dict(locations or {}), allow_import,
                     tuple(Path(p) for p in allow_paths))
    raw = _plain_data(check, raw)
    check.mapping(raw, "", TOP_KEYS)
    notes: list[str] = []

    if "scheduler" not in raw:
        raise SpecError("missing the `scheduler:` key (the scheduler to simulate)", source)
    sched_raw = check.mapping(raw["scheduler"], "scheduler", None)
    interval = sched_raw.get("interval", "step")
    if interval not in INTERVALS:
        raise check.fail(
            "scheduler.interval", f"expected one of {', '.join(INTERVALS)}, got {_show(interval)}"
        )
    steps_per_epoch = 1
    if raw.get("steps_per_epoch") is not None:
        steps_per_epoch = check.keyed("", "steps_per_epoch", raw["steps_per_epoch"])

    if interval == "epoch" and steps_per_epoch == 1:
        notes.append("scheduler.interval is epoch and an epoch is 1 step: every row is an "
                     "epoch (steps_per_epoch, --steps-per-epoch, sets the epoch's length)")
    optimizer = _optimizer(check, raw.get("optimizer"))
    groups = optimizer.group_count
    sched_raw = {k: v for k, v in sched_raw.items() if k != "interval"}
    scheduler = _scheduler(check, sched_raw, "scheduler", groups, top=True)
    alias = scheduler.info.alias  # the default name, before a warmup wraps the scheduler
    warmup = _warmup(check, raw.get("warmup"))

    metric = None
    if scheduler.info.takes_metric or "metric" in raw:
        metric = _metric(check, raw.get("metric"), base_dir, scheduler, notes)
    for child in scheduler.children:
        for nested in child.walk():
            if nested.info.takes_metric:
                raise check.fail(
                    nested.path,
                    f"{nested.type} cannot be nested in {scheduler.type} "
                    "(torch steps it without a metric)",
                )

    if raw.get("steps") is not None:
        steps = check.keyed("", "steps", raw["steps"])
    elif raw.get("epochs") is not None:
        steps = check.keyed("", "epochs", raw["epochs"]) * steps_per_epoch
    else:
        length = _natural_length(scheduler, metric) + (warmup.steps if warmup else 0)
        steps = length * steps_per_epoch if interval == "epoch" else length
        notes.append(f"steps not given: simulating {steps} steps to show the whole schedule")
    # The cap counts one param group's lr, momentum and metric per step; more groups
    # use it up sooner.
    if steps * (groups + 2) > max_steps * 3:
        several = f" of {groups} param groups" if groups > 1 else ""
        raise check.fail(
            "steps",
            f"{steps} steps{several} would need about "
            f"{inputs.size_text(steps * 8 * (2 * groups + 1))} "
            f"of memory; the cap is {max_steps} steps of one group (raise it with --max-steps)",
        )

    sched_steps = _scheduler_steps(steps, steps_per_epoch, interval)
    plateau_warmup = None
    if warmup is not None:
        if warmup.steps >= sched_steps:
            raise check.fail(
                "warmup.steps",
                f"the warmup ({warmup.steps} scheduler steps) is at least as long as the "
                f"run ({sched_steps}); expected fewer",
            )
        if scheduler.info.takes_metric:
            plateau_warmup = warmup
        else:
            scheduler = _with_warmup(check, scheduler, warmup)
    scheduler = _fill_lengths(check, scheduler, sched_steps, notes)
    fed_steps = sched_steps - (plateau_warmup.steps if plateau_warmup else 0)
    if metric is not None:
        metric = _generate(metric, fed_steps)
    if metric is not None and len(metric.values) < fed_steps:
        raise check.fail(
            "metric",
            f"expected at least {fed_steps} metric values (one per scheduler step"
            f"{' after the warmup' if plateau_warmup else ''}), got {len(metric.values)}",
        )

    name = raw.get("name")
    if name is None:
        name = alias
    name = _name(check, name)
    title = raw.get("title")
    if isinstance(title, (list, dict)):
        raise check.fail("title", f"expected a line of text, got {_show(title)}")
    if title is not None and not isinstance(title, str):
        title = str(title)
    if title is not None and (len(title) > MAX_TITLE or _CONTROL.search(title)):
        raise check.fail("title", f"expected one line of at most {MAX_TITLE} characters, got "
                         f"{len(title)} characters" if len(title) > MAX_TITLE else
                         f"expected one line of text, got {_show(title)}")
    return Spec(
        plot=_plot_options(check, raw.get("plot")),
        name=name,
        title=title,
        steps=steps,
        steps_per_epoch=steps_per_epoch,
        interval=interval,
        optimizer=optimizer,
        scheduler=scheduler,
        metric=metric,
        source=source,
        locations=check.locations,
        notes=tuple(notes),
        warmup=plateau_warmup,
        warmup_steps=warmup.steps if warmup else 0,
    )


def _plain_data(check: _Checker, raw: Any) -> Any:
    """A copy of a raw spec as plain data, as YAML would give it: numpy numbers become
    Python numbers and tuples lists; nesting and size are bounded (which also stops a
    mapping that contains itself); any other object is refused at its key path."""
    count = 0

    def walk(value: Any, path: str, depth: int) -> Any:
        nonlocal count
        count += 1
        if count > MAX_YAML_VALUES:
            raise check.fail(path, f"holds more than {MAX_YAML_VALUES} values; a spec is "
                             "much smaller")
        if depth > MAX_DEPTH:
            raise check.fail(_top(path), f"nested more than {MAX_DEPTH} levels deep; a spec "
                             "is much flatter")
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        if isinstance(value, dict):
            return {k: walk(v, _join(path, str(k)), depth + 1) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
        if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
            return walk(value.item(), path, depth)  # numpy.float32(0.1), numpy.int64(100)
        if isinstance(value, Path):
            return str(value)
        raise check.fail(path, "expected numbers, text, true/false, lists or mappings, "
                         f"got {_show(value)}")

    return walk(raw, "", 0)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _name(check: _Checker, name: Any) -> str:
    """A run's name becomes a file name (``NAME.png``, gallery images) and a column."""
    if not isinstance(name, str) or not name.strip():
        raise check.fail("name", f"expected a plain name, got {_show(name)}")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise check.fail("name", f"expected at most {MAX_NAME} characters, got {len(name)}")
    if "/" in name or "\\" in name or _CONTROL.search(name) or name.startswith((".", "-")):
        raise check.fail("name", "expected a plain name (no slashes or control characters, "
                         f"not starting with . or -), got {_show(name)}")
    return name


def _warmup(check: _Checker, value: Any) -> WarmupSpec | None:
    if value is None:
        return None
    check.mapping(value, "warmup", WARMUP_KEYS)
    if "steps" not in value:
        raise check.fail("warmup", "missing `steps:` (scheduler steps of the warmup)")
    steps = check.keyed("warmup", "steps", value["steps"])
    factor = check.keyed("warmup", "start_factor",
                         value.get("start_factor", keys.key("warmup", "start_factor").default))
    # 0 steps is no warmup at all: the baseline of a sweep over warmup lengths
    return WarmupSpec(steps, factor) if steps else None


def _with_warmup(check: _Checker, main: SchedulerSpec, warmup: WarmupSpec) -> SchedulerSpec:
    """``SequentialLR(LinearLR(...), main, milestones=[warmup.steps])``: the real thing.

    A SequentialLR main gets the warmup as its first child instead (torch cannot step a
    SequentialLR nested in another), its milestones moved by the warmup's length.
    """
    linear = SchedulerSpec(
        catalog.WARMUP,
        {"start_factor": warmup.start_factor, "end_factor": 1.0, "total_iters": warmup.steps},
        path="warmup",
    )
    if not main.info.in_sequence:
        raise check.fail("warmup", f"a warmup cannot come before {main.type} (torch's "
                         f"{catalog.SEQUENCE.name} cannot hand over to it); put a "
                         f"{catalog.WARMUP.name} warmup in the chain instead")
    milestones = [warmup.steps]
    children: tuple[SchedulerSpec, ...] = (linear, main)
    handovers = main.info.handovers(main.params)
    if handovers is not None:
        milestones += [warmup.steps + m for m in handovers]
        children = (linear, *main.children)
    return SchedulerSpec(catalog.SEQUENCE, {"milestones": milestones}, children, path=main.path)


def _plot_options(check: _Checker, value: Any) -> PlotOptions:
    if value is None:
        return PlotOptions()
    check.mapping(value, "plot", PLOT_KEYS)
    log_y = value.get("log_y")
    if log_y is not None:
        log_y = check.keyed("plot", "log_y", log_y)
    size = value.get("size")
    if size is not None:
        parts = size.lower().split("x") if isinstance(size, str) else size
        if not isinstance(parts, (list, tuple)) or len(parts) != 2:
            raise check.fail(
                "plot.size", f"expected WIDTHxHEIGHT in inches (8x4), got {_show(size)}"
            )
        width, height = (check.number(v, "plot.size") for v in parts)
        side = keys.key("plot", "size")
        if not (side.within(width) and side.within(height)):
            raise check.fail("plot.size", f"expected {side.bounds_text('each side')} inches, "
                             f"got {size}")
        size = (width, height)
    dpi = value.get("dpi")
    if dpi is not None:
        dpi = check.keyed("plot", "dpi", dpi)
    width, height = size or _LARGEST_DEFAULT_SIZE
    pixels = width * height * (dpi or _DEFAULT_DPI) ** 2
    if pixels > MAX_PIXELS:
        raise check.fail(
            "plot.size" if size is not None else "plot.dpi",
            f"a {width:g}x{height:g} inch figure at {dpi or _DEFAULT_DPI} dpi has "
            f"{pixels / 1e6:.0f} million pixels; expected at most {MAX_PIXELS // 10**6} "
            "million (a smaller size or dpi)")
    return PlotOptions(log_y, size, dpi)


def _optimizer(check: _Checker, value: Any) -> OptimizerSpec:
    if value is None:
        return OptimizerSpec(DEFAULT_OPTIMIZER["type"], {"lr": 0.1, "momentum": 0.9})
    check.mapping(value, "optimizer", None)
    kind = value.get("type", "SGD")
    if not isinstance(kind, str) or not kind.strip():
        raise check.fail("optimizer.type", f"expected a torch.optim class name, got {_show(kind)}")
    params: dict[str, Any] = {"lr": DEFAULT_OPTIMIZER["lr"]}
    if kind.strip().lower() == "sgd":
        params["momentum"] = DEFAULT_OPTIMIZER["momentum"]
    for key, item in value.items():
        if key in ("type", "param_groups"):
            continue
        if key == "lr" and isinstance(item, (list, tuple)) and item:
            raise check.fail("optimizer.lr", _per_group_hint(item))
        params[key] = _optimizer_value(check, item, f"optimizer.{key}")
    groups: list[dict[str, Any]] = []
    raw_groups = value.get("param_groups")
    if raw_groups is not None:
        if not isinstance(raw_groups, list) or not raw_groups:
            raise check.fail(
                "optimizer.param_groups", "expected a non-empty list of mappings ({lr: 0.1})"
            )
        if len(raw_groups) > MAX_GROUPS:
            raise check.fail("optimizer.param_groups",
                             f"{len(raw_groups)} param groups; expected at most {MAX_GROUPS}")
        for i, group in enumerate(raw_groups):
            path = f"optimizer.param_groups[{i}]"
            check.mapping(group, path, None)
            groups.append({k: _optimizer_value(check, v, f"{path}.{k}") for k, v in group.items()})
    return OptimizerSpec(kind.strip(), params, tuple(groups))


def _per_group_hint(lrs: list[Any] | tuple[Any, ...]) -> str:
    """What to write instead of a list under ``optimizer.lr``: one param group per lr."""
    def shown(v: Any) -> str:
        try:
            return _num(float(v)) if not isinstance(v, bool) else str(v)
        except (TypeError, ValueError):
            return _show(v)

    groups = [f"{{lr: {shown(v)}}}" for v in lrs[:3]]
    more = ", ..." if len(lrs) > 3 else ""
    return (f"expected one number, got a list of {len(lrs)}; one lr per param group goes in "
            f"optimizer.param_groups: `param_groups: [{', '.join(groups)}{more}]`")


def _optimizer_value(check: _Checker, value: Any, path: str) -> Any:
    """Optimizer keywords are checked against torch by the engine; here: numbers are numbers
    (and a learning rate is not negative)."""
    if path.endswith(".lr") or path == "optimizer.lr":
        lr = check.number(value, path)
        if lr < 0:
            raise check.fail(path, f"expected a learning rate >= 0, got {_num(lr)}")
        return lr
    if isinstance(value, (list, tuple)):
        return [_optimizer_value(check, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return check.number(value, path) if isinstance(value, float) else \
            check.integer(value, path)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return check.number(number, path)
    raise check.fail(path, f"expected a number, a flag or a list, got {_show(value)}")


def _scheduler(
    check: _Checker, raw: dict[str, Any], path: str, groups: int, top: bool = False
) -> SchedulerSpec:
    if "type" not in raw:
        raise check.fail(path, "missing `type:` (a scheduler name such as CyclicLR or cosine)")
    kind = raw["type"]
    if not isinstance(kind, str):
        raise check.fail(f"{path}.type", f"expected a scheduler name, got {_show(kind)}")
    info = catalog.lookup(kind, check.where(f"{path}.type"), check.allow_import)
    allowed = ("type", *(("interval",) if top else ()), *info.param_names)
    params: dict[str, Any] = {}
    children: list[SchedulerSpec] = []
    for key, value in raw.items():
        if key == "type":
            continue
        if key not in info.param_names:
            raise check.unknown(_join(path, key), key, allowed)
        param = info.param(key)
        key_path = _join(path, key)
        if param.kind == SCHEDULERS:
            if not isinstance(value, list) or not value:
                raise check.fail(key_path, "expected a non-empty list of scheduler specs")
            for i, item in enumerate(value):
                child_path = f"{key_path}[{i}]"
                child_raw = check.mapping(item, child_path, None)
                children.append(_scheduler(check, child_raw, child_path, groups))
            continue
        params[key] = check.param(param, value, key_path, groups)
    if info.composite and not children:
        raise check.fail(
            _join(path, "schedulers"),
            f"{info.name} needs nested schedulers, written as a `schedulers:` list in a YAML spec",
        )
    for param in info.params:
        if param.name in raw or param.kind == SCHEDULERS:
            continue
        if param.passed:
            params[param.name] = param.default
            continue
        if param.required and param.name != info.length_param:
            raise check.fail(
                _join(path, param.name), f"{info.name} requires {param.name}: {param.help}"
            )
    _check_relations(check, info, params, path, len(children))
    return SchedulerSpec(info, params, tuple(children), path)


def _check_relations(
    check: _Checker, info: catalog.Scheduler, params: dict[str, Any], path: str, children: int
) -> None:
    """Rules between parameters that torch accepts but no training run wants, or rejects
    late: each scheduler's record knows its own (``Scheduler.relations``)."""
    for key, message in info.relations(params, children):
        raise check.fail(_join(path, key), message)


def _metric(
    check: _Checker, raw: Any, base_dir: str | Path | None, scheduler: SchedulerSpec,
    notes: list[str],
) -> MetricSpec:
    """Logged values (``values:``, ``file:``) as given, or a generator still to be run.

    A generator's values are made once the run's length is known (:func:`_generate`).
    """
    if not scheduler.info.takes_metric:
        raise check.fail("metric", f"only ReduceLROnPlateau takes a metric, not {scheduler.type}")
    if raw is None:
        mode = scheduler.params.get("mode", "min")
        name = "accuracy" if mode == "max" else _default_generator()
        notes.append(f"metric not given: feeding the synthetic `{name}` metric (seed 0); "
                     "--metric, --metric-file or `metric:` choose another")
        raw = {"generator": name, "seed": 0}
    check.mapping(raw, "metric", None)
    sources = [k for k in ("values", "file", "generator") if k in raw]
    if not sources and raw and "column" not in raw:  # only a seed or generator parameters
        default = "accuracy" if scheduler.params.get("mode", "min") == "max" else \
            _default_generator()
        raw = {"generator": default, **raw}
        sources = ["generator"]
    if not sources and "column" in raw:
        raise check.fail("metric.column", "a column needs its file: give `file:` "
                         "(--metric-file) beside it")
    if len(sources) != 1:
        raise check.fail(
            "metric", "expected exactly one of `values:` (a list), `file:` (a CSV, with "
            "`column:`) or `generator:` (a synthetic metric)"
        )
    if sources == ["generator"]:
        return _generator_spec(check, raw)
    check.mapping(raw, "metric", ("values",) if sources == ["values"] else ("file", "column"))
    if "values" in raw:
        values = raw["values"]
        if isinstance(values, str):
            values = values.split(",")
        if not isinstance(values, list) or not values:
            raise check.fail("metric.values", "expected a non-empty list of numbers")
        nums = tuple(check.number(v, f"metric.values[{i}]") for i, v in enumerate(values))
        return MetricSpec(nums, {"values": list(nums)})
    return _metric_file(check, raw, base_dir)


def _default_generator() -> str:
    from lrviz.metrics import DEFAULT

    return DEFAULT


def _generator_spec(check: _Checker, raw: dict[str, Any]) -> MetricSpec:
    from lrviz.metrics import GENERATORS

    name = raw["generator"]
    if not isinstance(name, str) or name not in GENERATORS:
        hint = catalog.suggest(str(name), list(GENERATORS))
        raise check.fail("metric.generator", f"unknown generator {_show(name)}{hint}; "
                         f"expected one of: {', '.join(GENERATORS)}")
    gen = GENERATORS[name]
    seed = check.integer(raw.get("seed", 0), "metric.seed")
    if seed < 0:
        raise check.fail("metric.seed", f"expected an integer >= 0, got {seed}")
    params: dict[str, float] = {}
    for key, value in raw.items():
        if key in ("generator", "seed"):
            continue
        if key not in gen.params:
            raise check.unknown(f"metric.{key}", key, ("generator", "seed", *gen.params))
        params[key] = check.number(value, f"metric.{key}")
        if params[key] < 0 or (key == "length" and params[key] < 1):
            low = 1 if key == "length" else 0
            raise check.fail(f"metric.{key}",
                             f"expected a number >= {low}, got {_num(params[key])}")
    return MetricSpec((), {"generator": name, "seed": seed, **params})


def _generate(metric: MetricSpec, count: int) -> MetricSpec:
    """A generator's metric with its ``count`` values made; logged values pass through."""
    if "generator" not in metric.source:
        return metric
    from lrviz.metrics import generate

    source = dict(metric.source)
    name, seed = source.pop("generator"), source.pop("seed")
    values = generate(name, max(count, 1), seed, **source)
    return MetricSpec(tuple(values.tolist()), metric.source)


def _metric_file(check: _Checker, raw: dict[str, Any], base_dir: str | Path | None) -> MetricSpec:
    name = raw["file"]
    if not isinstance(name, str) or not name:
        raise check.fail("metric.file", f"expected a path to a CSV file, got {_show(name)}")
    path = Path(name)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    typed = check.where("metric.file").startswith("-")  # the user's own --metric-file
    roots = None if typed else [Path(base_dir or "."), Path.cwd(), *check.allow_paths]
    text = inputs.read_text(path, what="metric file", where=check.where("metric.file"),
                            limit=inputs.MAX_DATA_BYTES, roots=roots)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise check.fail("metric.file", f"cannot read {path} as CSV ({exc})") from None
    if not rows:
        raise check.fail("metric.file", f"{path} is empty; expected a CSV with a header row")
    header = [h.strip() for h in rows[0]]
    column = raw.get("column")
    if column is None:
        if len(header) != 1:
            # the flag to add when the file came from one, as the key would be in YAML
            by_flag = check.where("metric.file").startswith("-")
            raise SpecError(f"{path} has several columns; name one of: {_names(header)}",
                            "--metric-column" if by_flag else check.where("metric.column"))
        column = header[0]
    if not isinstance(column, str) or column not in header:
        hint = catalog.suggest(str(column), header)
        raise check.fail(
            "metric.column",
            f"no column {_show(column)} in {path}{hint}; columns: {_names(header)}",
        )
    index = header.index(column)
    values = []
    for line, row in enumerate(rows[1:], start=2):
        cell = row[index].strip() if index < len(row) else ""
        if cell:  # loggers leave the metric empty on rows where it was not computed
            values.append(check.number(cell, f"metric.file ({path}, line {line})"))
    if not values:
        raise check.fail("metric.column", f"column {column!r} of {path} has no values")
    return MetricSpec(tuple(values), {"file": str(raw["file"]), "column": column})


# ---------------------------------------------------------------------- lengths


def _scheduler_steps(steps: int, steps_per_epoch: int, interval: str) -> int:
    return steps if interval == "step" else steps // steps_per_epoch


def _natural_length(sched: SchedulerSpec, metric: MetricSpec | None) -> int:
    """Scheduler steps that show the schedule's whole shape (the scheduler's own rule)."""
    return sched.info.natural_length(sched, len(metric.values) if metric else 0)


def _fill_lengths(
    check: _Checker, sched: SchedulerSpec, available: int, notes: list[str]
) -> SchedulerSpec:
    """Give ``T_max`` / ``total_steps`` the scheduler steps this scheduler runs for.

    Inside SequentialLR a child runs from its milestone to the next one (the last child
    to the end of the run); inside ChainedScheduler every child runs the whole run.
    """
    params = dict(sched.params)
    key = sched.info.length_param
    needs = key is not None and params.get(key) is None
    if sched.info.length_unless and all(params.get(k) for k in sched.info.length_unless):
        needs = False
    if needs and key is not None:
        if available < 1:
            raise check.fail(
                _join(sched.path, key),
                f"not given, and the run has no scheduler steps to take it from; set {key}",
            )
        params[key] = available
        notes.append(f"{_join(sched.path, key)} not given: using {available}, "
                     "the scheduler steps it runs for")
    children = sched.children
    handovers = sched.info.handovers(params)
    if handovers is not None:  # each child runs from its milestone to the next one
        bounds = [0, *handovers, max(available, max(handovers, default=0))]
        spans = [max(0, bounds[i + 1] - bounds[i]) for i in range(len(children))]
        children = tuple(_fill_lengths(check, c, n, notes) for c, n in zip(children, spans,
                                                                          strict=True))
    elif children:
        children = tuple(_fill_lengths(check, c, available, notes) for c in children)
    return SchedulerSpec(sched.info, params, children, sched.path)


# ---------------------------------------------------------------------- helpers


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _top(path: str) -> str:
    """The top-level key of a key path (a deep path is too long to be read in a message)."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    text = getattr(value, "text", None)  # an Expression
    return text if isinstance(text, str) else value


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _show(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    if value is None:
        return "nothing"
    if isinstance(value, int) and abs(value) > MAX_INT:  # str() of a huge int is slow
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    if isinstance(value, bool):
        return str(value).lower()  # as YAML writes it
    if isinstance(value, (dict, list)):
        return f"a {_kind(value) if isinstance(value, list) else 'mapping'}"
    return repr(value)


def _names(names: list[str], most: int = 8) -> str:
    """A short list of names from a file, each shown as an escaped excerpt."""
    shown = [_show(n) for n in names[:most]]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(shown) + more


def _num(number: float) -> str:
    return repr(int(number)) if float(number).is_integer() else repr(float(number))
