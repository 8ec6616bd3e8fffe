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
INT, FLOAT, BOOL, CHOICE, INT_LIST, EXPR, SCHEDULERS = (
    "int", "float", "bool", "choice", "int_list", "expr", "schedulers"
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
                INT_LIST: "N[,N...]", EXPR: "EXPR", SCHEDULERS: "LIST"}[self.kind]
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
    # The parameter that takes the run's scheduler-step count when the spec omits it.
    length_param: str | None = None
    takes_metric: bool = False  # step(metric), ReduceLROnPlateau
    composite: bool = False  # built from nested scheduler specs
    changes_momentum: bool = False  # when its cycle_momentum is true
    optimizer_arg: bool = True  # takes the optimizer as first argument

    @property
    def alias(self) -> str:
        return self.aliases[0]

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)


_ANNEAL = ("cos", "linear")

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
        (
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
        ),
        takes_metric=True,
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

_BY_KEY: dict[str, Scheduler] = {}
for _s in SCHEDULERS_TABLE:
    _BY_KEY[_s.name.lower()] = _s
    for _a in _s.aliases:
        _BY_KEY[_a] = _s


def all_names() -> list[str]:
    """Every accepted scheduler name: class names and aliases, lower case."""
    return sorted(_BY_KEY)


def find(name: str) -> Scheduler | None:
    """The scheduler named ``name`` (class name, any case, or alias), or None."""
    return _BY_KEY.get(name.strip().lower().replace("_", "-"))


def lookup(name: str, where: str | None = None) -> Scheduler:
    """Like :func:`find`, but an unknown name is a :class:`SpecError` with a suggestion."""
    found = find(name)
    if found is None:
        raise SpecError(
            f"unknown scheduler {name!r}{suggest(name.lower(), all_names())}; "
            "`lrviz list` shows them all",
            where,
        )
    return found


def suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the nearest option, or an empty string."""
    near = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""
