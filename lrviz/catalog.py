"""Every scheduler lrviz can build, as data.

One table drives the command-line flags, the help text, spec validation, ``lrviz list``
and the docs. It imports neither torch nor matplotlib, so help and listing stay
instant; ``tests/test_catalog.py`` holds it against ``inspect.signature`` of the
installed torch classes so that names, defaults and required-ness cannot drift.

``last_epoch`` (resuming a run) is left out on purpose: a simulation always starts
from step 0, and torch refuses ``last_epoch >= 0`` on a fresh optimizer.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from lrviz.errors import SpecError


class _Required:
    """Marker for a constructor argument torch requires."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

# Parameter kinds. A value of kind ``float``/``int`` with ``per_group`` may also be a
# list with one value per param group, as torch accepts.
INT, FLOAT, BOOL, CHOICE, INT_LIST, EXPR, SCHEDULERS, ANY = (
    "int", "float", "bool", "choice", "int_list", "expr", "schedulers", "any"
)


@dataclass(frozen=True)
class Param:
    """One constructor keyword of a scheduler."""

    name: str
    kind: str
    help: str
    default: Any = REQUIRED
    minimum: float | None = None  # inclusive lower bound
    maximum: float | None = None  # inclusive upper bound
    positive: bool = False  # strictly greater than zero
    nullable: bool = False  # None is a valid value (torch's default is None)
    per_group: bool = False  # a list with one value per param group is accepted
    choices: tuple[str, ...] = ()
    variable: str = ""  # for EXPR: the expression's variable
    passed: bool = False  # the default is lrviz's own, so it is always passed on

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def flag(self) -> str:
        """The command-line flag: the torch name in kebab-case (``T_max`` -> ``--t-max``)."""
        return "--" + self.name.lower().replace("_", "-")

    @property
    def metavar(self) -> str:
        """What the flag takes, in usage style: ``N``, ``X[,X...]``, ``cos|linear``."""
        base = {INT: "N", FLOAT: "X", BOOL: "true|false", CHOICE: "|".join(self.choices),
                INT_LIST: "N[,N...]", EXPR: "EXPR", SCHEDULERS: "LIST", ANY: "VALUE"}[self.kind]
        if self.per_group and self.kind != EXPR:
            base += "[,X...]"
        return base

    def describe_type(self) -> str:
        """A short human name of what the parameter takes, for help and errors."""
        base = {
            INT: "integer",
            FLOAT: "number",
            BOOL: "true/false",
            CHOICE: " | ".join(self.choices),
            INT_LIST: "list of integers",
            EXPR: f"expression in {self.variable}",
            SCHEDULERS: "list of scheduler specs",
            ANY: "number, true/false, text or a list of them",
        }[self.kind]
        if self.per_group:
            base += " (or one per param group)"
        return base


@dataclass(frozen=True)
class Scheduler:
    """One scheduler class and how lrviz drives it."""

    name: str  # torch class name
    aliases: tuple[str, ...]
    help: str
    params: tuple[Param, ...]
    module: str = "torch.optim.lr_scheduler"
    attr: str = ""  # the class (or factory) in ``module``; default: ``name``
    # The parameter that takes the run's scheduler-step count when the spec omits it,
    # unless every parameter of ``length_unless`` is given (they fix the length).
    length_param: str | None = None
    length_unless: tuple[str, ...] = ()
    takes_metric: bool = False  # step(metric)
    plateau: bool = False  # ReduceLROnPlateau's bookkeeping, which lrviz.plateau replays
    composite: bool = False  # built from nested scheduler specs
    changes_momentum: bool = False  # when its cycle_momentum is true
    optimizer_arg: bool = True  # takes the optimizer as first argument
    # How the engine builds it: "class" calls module.attr(optimizer, **params);
    # "hf" goes through transformers.get_scheduler (see HF_SCHEDULERS).
    builder: str = "class"
    extra: str = ""  # the lrviz extra that installs its library, when not a core dependency

    @property
    def alias(self) -> str:
        """The short name, which also names a run by default."""
        if self.aliases:
            return self.aliases[0]
        return self.name.replace(":", "-") if self.builder == "hf" else self.attr or self.name

    @property
    def library(self) -> str:
        """The package the scheduler comes from, to say who rejected a value."""
        return self.module.partition(".")[0]

    @property
    def origin(self) -> str:
        """What builds it, as Python would name it."""
        if self.builder == "hf":
            return f"transformers.get_scheduler({self.attr!r})"
        return f"{self.module}.{self.attr or self.name}"

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)


_ANNEAL = ("cos", "linear")

_PLATEAU_PARAMS = (
    Param("mode", CHOICE, "min: lower metric is better; max: higher is better", "min",
          choices=("min", "max")),
    Param("factor", FLOAT, "new lr = lr * factor (< 1)", 0.1, positive=True),
    Param("patience", INT, "bad steps tolerated before a cut", 10, minimum=0),
    Param("threshold", FLOAT, "least change that counts as an improvement", 1e-4,
          minimum=0),
    Param("threshold_mode", CHOICE, "rel: relative to the best; abs: absolute", "rel",
          choices=("rel", "abs")),
    Param("cooldown", INT, "steps to wait after a cut before counting again", 0,
          minimum=0),
    Param("min_lr", FLOAT, "floor under the lr", 0, minimum=0, per_group=True),
    Param("eps", FLOAT, "cuts smaller than this are skipped", 1e-8, minimum=0),
)

SCHEDULERS_TABLE: tuple[Scheduler, ...] = (
    Scheduler(
        "LambdaLR", ("lambda",),
        "lr = initial lr * lr_lambda(epoch), an expression in epoch",
        (
            Param("lr_lambda", EXPR, "factor applied to the initial lr, e.g. '0.95 ** epoch'",
                  variable="epoch", per_group=True),
        ),
    ),
    Scheduler(
        "MultiplicativeLR", ("multiplicative",),
        "lr = previous lr * lr_lambda(epoch) at every step after the first",
        (
            Param("lr_lambda", EXPR, "factor applied to the previous lr, e.g. '0.95'",
                  variable="epoch", per_group=True),
        ),
    ),
    Scheduler(
        "StepLR", ("step",),
        "multiply the lr by gamma every step_size steps",
        (
            Param("step_size", INT, "scheduler steps between two decays", minimum=1),
            Param("gamma", FLOAT, "factor applied at each decay", 0.1, minimum=0),
        ),
    ),
    Scheduler(
        "MultiStepLR", ("multistep",),
        "multiply the lr by gamma at each milestone",
        (
            Param("milestones", INT_LIST, "scheduler steps at which the lr decays, e.g. 100,210",
                  minimum=0),
            Param("gamma", FLOAT, "factor applied at each milestone", 0.1, minimum=0),
        ),
    ),
    Scheduler(
        "ConstantLR", ("constant",),
        "scale the lr by factor until total_iters, then restore it",
        (
            Param("factor", FLOAT, "scale applied before total_iters (0 <= factor <= 1)",
                  1.0 / 3, minimum=0, maximum=1),
            Param("total_iters", INT, "scheduler steps the factor lasts", 5, minimum=0),
        ),
    ),
    Scheduler(
        "LinearLR", ("linear",),
        "ramp the lr factor linearly from start_factor to end_factor over total_iters",
        (
            Param("start_factor", FLOAT, "factor at step 0 (0 < start_factor <= 1)", 1.0 / 3,
                  positive=True, maximum=1),
            Param("end_factor", FLOAT, "factor reached at total_iters (0 <= end_factor <= 1)",
                  1.0, minimum=0, maximum=1),
            Param("total_iters", INT, "scheduler steps of the ramp", 5, minimum=0),
        ),
    ),
    Scheduler(
        "ExponentialLR", ("exponential",),
        "multiply the lr by gamma at every step",
        (Param("gamma", FLOAT, "factor applied at every step", minimum=0),),
    ),
    Scheduler(
        "SequentialLR", ("sequential",),
        "run schedulers one after another, switching at the milestones",
        (
            Param("schedulers", SCHEDULERS, "the schedulers, in order"),
            Param("milestones", INT_LIST, "scheduler steps at which the next scheduler starts",
                  minimum=0),
        ),
        composite=True,
    ),
    Scheduler(
        "CosineAnnealingLR", ("cosine",),
        "cosine from the initial lr down to eta_min over T_max steps (and back up after it)",
        (
            Param("T_max", INT, "scheduler steps from the initial lr down to eta_min "
                  "(default: the run's scheduler steps)", minimum=1),
            Param("eta_min", FLOAT, "lowest lr", 0.0, minimum=0),
        ),
        length_param="T_max",
    ),
    Scheduler(
        "ChainedScheduler", ("chained",),
        "step several schedulers together; their factors multiply",
        (Param("schedulers", SCHEDULERS, "the schedulers, all stepped at every step"),),
        composite=True,
        optimizer_arg=False,
    ),
    Scheduler(
        "ReduceLROnPlateau", ("plateau",),
        "cut the lr by factor when the metric stops improving for patience steps",
        _PLATEAU_PARAMS,
        takes_metric=True,
        plateau=True,
    ),
    Scheduler(
        "CyclicLR", ("cyclic",),
        "cycle the lr between base_lr and max_lr (triangular, triangular2, exp_range)",
        (
            Param("base_lr", FLOAT, "lower bound of the cycle", minimum=0, per_group=True),
            Param("max_lr", FLOAT, "upper bound of the cycle", minimum=0, per_group=True),
            Param("step_size_up", INT, "steps from base_lr up to max_lr", 2000, minimum=1),
            Param("step_size_down", INT, "steps from max_lr back down; none: as step_size_up",
                  None, minimum=1, nullable=True),
            Param("mode", CHOICE, "shape of the cycles", "triangular",
                  choices=("triangular", "triangular2", "exp_range")),
            Param("gamma", FLOAT, "exp_range: amplitude scale gamma ** iterations", 1.0,
                  positive=True),
            Param("scale_fn", EXPR, "custom amplitude scale (overrides mode)",
                  None, nullable=True, variable="x"),
            Param("scale_mode", CHOICE, "what x counts for scale_fn: cycles or iterations",
                  "cycle", choices=("cycle", "iterations")),
            Param("cycle_momentum", BOOL, "cycle momentum inversely to the lr", True),
            Param("base_momentum", FLOAT, "lowest momentum", 0.8, minimum=0, per_group=True),
            Param("max_momentum", FLOAT, "highest momentum", 0.9, minimum=0, per_group=True),
        ),
        changes_momentum=True,
    ),
    Scheduler(
        "CosineAnnealingWarmRestarts", ("cosine-restarts", "warm-restarts"),
        "cosine down to eta_min, restarting every T_0 steps (T_mult times longer each time)",
        (
            Param("T_0", INT, "steps until the first restart", minimum=1),
            Param("T_mult", INT, "growth factor of the period after each restart", 1, minimum=1),
            Param("eta_min", FLOAT, "lowest lr", 0.0, minimum=0),
        ),
    ),
    Scheduler(
        "OneCycleLR", ("onecycle",),
        "one cycle: warm up to max_lr, then anneal far below the initial lr",
        (
            Param("max_lr", FLOAT, "peak lr", positive=True, per_group=True),
            Param("total_steps", INT, "length of the cycle in scheduler steps "
                  "(default: epochs * steps_per_epoch, else the run's scheduler steps)",
                  None, minimum=1, nullable=True),
            Param("epochs", INT, "with steps_per_epoch: total_steps = epochs * steps_per_epoch",
                  None, minimum=1, nullable=True),
            Param("steps_per_epoch", INT, "with epochs: total_steps = epochs * steps_per_epoch",
                  None, minimum=1, nullable=True),
            Param("pct_start", FLOAT, "fraction of the cycle spent warming up", 0.3, minimum=0,
                  maximum=1),
            Param("anneal_strategy", CHOICE, "shape of warm-up and annealing", "cos",
                  choices=_ANNEAL),
            Param("cycle_momentum", BOOL, "cycle momentum inversely to the lr", True),
            Param("base_momentum", FLOAT, "lowest momentum", 0.85, minimum=0, per_group=True),
            Param("max_momentum", FLOAT, "highest momentum", 0.95, minimum=0, per_group=True),
            Param("div_factor", FLOAT, "initial lr = max_lr / div_factor", 25.0, positive=True),
            Param("final_div_factor", FLOAT, "final lr = initial lr / final_div_factor", 1e4,
                  positive=True),
            Param("three_phase", BOOL, "add a third phase that anneals to the final lr", False),
        ),
        length_param="total_steps",
        length_unless=("epochs", "steps_per_epoch"),
        changes_momentum=True,
    ),
    Scheduler(
        "PolynomialLR", ("polynomial",),
        "decay the lr to zero over total_iters as a polynomial of the given power",
        (
            Param("total_iters", INT, "scheduler steps of the decay", 5, minimum=0),
            Param("power", FLOAT, "power of the polynomial", 1.0, minimum=0),
        ),
    ),
    Scheduler(
        "SWALR", ("swa",),
        "anneal each group's lr to swa_lr over anneal_epochs, then hold it",
        (
            Param("swa_lr", FLOAT, "lr reached and held", minimum=0, per_group=True),
            Param("anneal_epochs", INT, "steps of the annealing", 10, minimum=0),
            Param("anneal_strategy", CHOICE, "shape of the annealing", "cos", choices=_ANNEAL),
        ),
        module="torch.optim.swa_utils",
    ),
)

# Hugging Face schedules, built by ``transformers.get_scheduler(name, optimizer,
# num_warmup_steps, num_training_steps, scheduler_specific_kwargs)``; the name after
# ``hf:`` is transformers' ``SchedulerType`` value. ``num_warmup_steps`` defaults to 0
# (``TrainingArguments.warmup_steps``' default); get_scheduler itself has no default.
_HF_WARMUP = Param("num_warmup_steps", INT, "scheduler steps of the warmup from 0", 0,
                   minimum=0, passed=True)
_HF_TRAINING = Param("num_training_steps", INT, "scheduler steps of the whole schedule "
                     "(default: the run's scheduler steps)", minimum=1)
_HF_CYCLES = Param("num_cycles", FLOAT, "cosine waves over the decay (0.5: down once)", 0.5,
                   minimum=0)
_HF_MIN_LR = (
    Param("min_lr", FLOAT, "lr at the end of the cosine (or give min_lr_rate)", None,
          minimum=0, nullable=True),
    Param("min_lr_rate", FLOAT, "min_lr as a fraction of the initial lr", None, minimum=0,
          nullable=True),
)
_HF_SHAPES = ("linear", "cosine", "1-sqrt")


def _hf(kind: str, help: str, params: tuple[Param, ...], **more: Any) -> Scheduler:
    length = {"length_param": "num_training_steps"} if "num_training_steps" in {
        p.name for p in params} else {}
    return Scheduler(f"hf:{kind}", (), help, params, module="transformers.optimization",
                     attr=kind, builder="hf", extra="hf", **{**length, **more})


HF_SCHEDULERS: tuple[Scheduler, ...] = (
    _hf("linear", "warm up linearly from 0, then decay linearly to 0",
        (_HF_WARMUP, _HF_TRAINING)),
    _hf("cosine", "warm up linearly from 0, then cosine down to 0",
        (_HF_WARMUP, _HF_TRAINING, _HF_CYCLES)),
    _hf("cosine_with_restarts", "warm up, then num_cycles cosines each restarting at the "
        "initial lr", (_HF_WARMUP, _HF_TRAINING,
                       Param("num_cycles", INT, "number of hard restarts", 1, minimum=1))),
    _hf("polynomial", "warm up, then polynomial decay from the initial lr to lr_end",
        (_HF_WARMUP, _HF_TRAINING,
         Param("lr_end", FLOAT, "lr at the end of the decay", 1e-7, minimum=0),
         Param("power", FLOAT, "power of the polynomial", 1.0, minimum=0))),
    _hf("constant", "the initial lr throughout", ()),
    _hf("constant_with_warmup", "warm up linearly from 0, then hold the initial lr",
        (_HF_WARMUP,)),
    _hf("inverse_sqrt", "warm up, then decay as 1 / sqrt(step / timescale)",
        (_HF_WARMUP, Param("timescale", INT, "steps per unit of the decay "
                           "(default: num_warmup_steps, or 10000 without a warmup)",
                           None, minimum=1, nullable=True))),
    _hf("reduce_lr_on_plateau", "torch's ReduceLROnPlateau, as transformers builds it",
        _PLATEAU_PARAMS, takes_metric=True, plateau=True),
    _hf("cosine_with_min_lr", "warm up from 0, then cosine down to min_lr",
        (_HF_WARMUP, _HF_TRAINING, _HF_CYCLES, *_HF_MIN_LR)),
    _hf("cosine_warmup_with_min_lr", "warm up from warmup_lr_rate, then cosine down to min_lr",
        (_HF_WARMUP, _HF_TRAINING, _HF_CYCLES, *_HF_MIN_LR,
         Param("warmup_lr_rate", FLOAT, "where the warmup starts, as a fraction of the "
               "initial lr (default 1 / num_warmup_steps)", None, minimum=0,
               nullable=True))),
    _hf("warmup_stable_decay", "warm up, hold the initial lr, then decay over num_decay_steps",
        (_HF_WARMUP,
         Param("num_decay_steps", INT, "scheduler steps of the final decay", minimum=0),
         Param("num_training_steps", INT, "scheduler steps of the whole schedule (default: "
               "the run's, unless num_stable_steps is given)", None, minimum=1,
               nullable=True),
         Param("num_stable_steps", INT, "scheduler steps at the initial lr (default: what "
               "the training steps leave)", None, minimum=0, nullable=True),
         Param("warmup_type", CHOICE, "shape of the warmup", "linear", choices=_HF_SHAPES),
         Param("decay_type", CHOICE, "shape of the decay", "cosine", choices=_HF_SHAPES),
         Param("min_lr_ratio", FLOAT, "floor, as a fraction of the initial lr", 0.0,
               minimum=0),
         _HF_CYCLES),
        length_unless=("num_stable_steps",)),
    _hf("greedy", "transformers' GreedyLR: lr up on improvement, down on a plateau",
        (Param("mode", CHOICE, "min: lower metric is better; max: higher is better", "min",
               choices=("min", "max")),
         Param("factor", FLOAT, "lr * factor on a plateau, lr / factor on improvement (< 1)",
               0.95, positive=True),
         Param("patience", INT, "steps tolerated before a change", 10, minimum=0),
         Param("threshold", FLOAT, "least change that counts", 1e-6, minimum=0),
         Param("threshold_mode", CHOICE, "rel or abs threshold", "abs",
               choices=("rel", "abs")),
         Param("cooldown", INT, "steps to wait after a cut", 0, minimum=0),
         Param("warmup", INT, "steps to wait after a rise", 0, minimum=0),
         Param("min_lr", FLOAT, "floor under the lr", 1e-3, minimum=0, per_group=True),
         Param("max_lr", FLOAT, "ceiling over the lr", 1.0, minimum=0, per_group=True),
         Param("eps", FLOAT, "changes smaller than this are skipped", 1e-8, minimum=0),
         Param("smooth", BOOL, "average the metric over a window first", False),
         Param("window_size", INT, "window of the smoothing", 50, minimum=1),
         Param("reset_start", INT, "steps at min_lr before starting over", 500, minimum=0)),
        takes_metric=True),
)


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


_BY_KEY: dict[str, Scheduler] = {}
_SPELLINGS: list[str] = []
for _s in SCHEDULERS_TABLE + HF_SCHEDULERS:
    for _spelling in (_s.name if _s.builder == "hf" else _s.name.lower(), *_s.aliases):
        _BY_KEY[_key(_spelling)] = _s
        _SPELLINGS.append(_spelling)


def all_names() -> list[str]:
    """Every accepted scheduler name: class names (lower case), aliases and hf: names."""
    return sorted(_SPELLINGS)


def find(name: str) -> Scheduler | None:
    """The scheduler named ``name`` (class name, any case, alias or hf: name), or None."""
    return _BY_KEY.get(_key(name))


# ``package.module:ClassName``: a scheduler class outside torch (README "Using it").
IMPORT_TARGET = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*", re.ASCII)


def lookup(name: str, where: str | None = None, allow_import: bool = False) -> Scheduler:
    """Like :func:`find`, but an unknown name is a :class:`SpecError` with a suggestion.

    ``package.module:ClassName`` imports that module, which runs its code: only with
    ``allow_import``.
    """
    found = find(name)
    if found is not None:
        return found
    if IMPORT_TARGET.fullmatch(name.strip()) and not _key(name).startswith("hf:"):
        if not allow_import:
            raise SpecError(
                f"{name!r} names a Python class; importing it runs that module's code, so "
                "lrviz does it only when you pass --allow-import",
                where,
            )
        return imported(name.strip(), where)
    raise SpecError(
        f"unknown scheduler {name!r}{suggest(name.lower(), all_names())}; "
        "`lrviz list` shows them all",
        where,
    )


# Constructor arguments of a custom class that lrviz does not pass.
_NOT_PASSED = ("optimizer", "last_epoch", "verbose")


def imported(target: str, where: str | None = None) -> Scheduler:
    """The catalog entry of a custom scheduler class, read from its signature.

    Imports the module (from the installed packages or the current folder) and torch.
    Parameters take the kind of their default; those without one take any plain value.
    """
    import importlib
    import inspect
    import os
    import sys

    from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

    module_name, _, attr = target.partition(":")
    here = os.getcwd()
    added = here not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SpecError(f"cannot import {module_name!r}: {exc}", where) from None
    except Exception as exc:  # the module's own code failed
        raise SpecError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}",
                        where) from None
    finally:
        if added:
            sys.path.remove(here)
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, (LRScheduler, ReduceLROnPlateau))):
        what = "does not exist" if cls is None else f"is an object of type {type(cls).__name__}"
        raise SpecError(f"{target!r} {what}; expected a subclass of torch's LRScheduler",
                        where)
    params = []
    for p in list(inspect.signature(cls).parameters.values())[1:]:
        if p.name in _NOT_PASSED or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = p.default if p.default is not p.empty else REQUIRED
        kind = {bool: BOOL, int: INT, float: FLOAT}.get(type(default), ANY)
        params.append(Param(p.name, kind, f"{p.name} of {attr}", default,
                            nullable=default is None))
    doc = (inspect.getdoc(cls) or f"{attr} from {module_name}").splitlines()[0]
    metric = issubclass(cls, ReduceLROnPlateau)
    return Scheduler(target, (), doc, tuple(params), module=module_name, attr=attr,
                     takes_metric=metric)


def suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the nearest option, or an empty string."""
    near = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""
