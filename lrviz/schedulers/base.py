"""What every scheduler record holds, and the hooks the rest of lrviz calls through.

A :class:`Scheduler` is one scheduler's whole knowledge: its constructor parameters
(names, kinds, defaults, help) and what lrviz knows about how it behaves: the run length
that shows its shape, where its milestones, restarts, cycles and phases fall, which
relations between its parameters a spec must keep, and the pitfalls ``lrviz check``
looks for. A family (``torch.py``, ``hf.py``, ``custom.py``) subclasses it where a
scheduler behaves differently from the defaults here; nothing outside this folder and
the registry (:mod:`lrviz.catalog`) asks which scheduler it is looking at.

Nothing here imports torch: help and listing stay instant.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


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

FALLBACK_LENGTH = 1000  # scheduler steps when nothing in the spec hints at a natural length
PLATEAU_LENGTH = 300  # scheduler steps of a synthetic metric: room for a few cuts

# A moment of a schedule: (scheduler epoch, label, kind), kind one of "drop",
# "milestone", "restart", "cycle", "phase", "warmup" (lrviz.events places them on rows).
Moment = tuple[int, str, str]

ERROR, WARNING, INFO = "error", "warning", "info"  # severities of check's findings
SEVERITIES = (ERROR, WARNING, INFO)  # most severe first

# The stages of ``lrviz check`` that ask each running scheduler for its own pitfalls, in
# the order check runs them (see :meth:`Scheduler.pitfalls`).
ZERO_LENGTH, CYCLE_LENGTH, RAMPS, PAST_SCHEDULE, ANNEALING, GAMMA, MILESTONES = (
    "zero-length", "cycle-length", "ramps", "past-schedule", "annealing", "gamma",
    "milestones",
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
    own: bool = False  # lrviz's own keyword: made into another before the library sees it

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


class Node(Protocol):
    """One scheduler of a spec as the hooks see it (``lrviz.spec.SchedulerSpec``)."""

    @property
    def info(self) -> Scheduler: ...

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def children(self) -> Sequence[Node]: ...

    @property
    def path(self) -> str: ...

    @property
    def type(self) -> str: ...


# A finding of ``lrviz check`` (lrviz.check.Finding), made by ``Run.finding``. Typed
# loosely, and Run and Span described as protocols, so that the records import nothing
# above them: lrviz.check imports the catalog, never the other way round.
Finding = Any


class Span(Protocol):
    """Where one scheduler of the tree runs (``lrviz.spans.Span``)."""

    @property
    def node(self) -> Node: ...

    @property
    def start(self) -> int: ...

    @property
    def length(self) -> int: ...

    @property
    def to_end(self) -> bool: ...

    @property
    def direct(self) -> bool: ...


class Run(Protocol):
    """What the pitfall hooks see of a run (``lrviz.spans.Run``)."""

    @property
    def spec(self) -> Any: ...

    @property
    def trace(self) -> Any: ...

    def row(self, span: Span, local: int) -> int | None: ...

    def rows(self, span: Span) -> tuple[int, int]: ...

    def initial_lrs(self) -> list[float]: ...

    def first_rise(self, lo: int, hi: int) -> int | None: ...

    def finding(self, severity: str, code: str, message: str, step: int | None = None,
                param: str | None = None, fix: str | None = None) -> Finding: ...

    def join(self, path: str, key: str) -> str: ...

    def num(self, x: float) -> str: ...

    def ramp(self, span: Span, key: str, iters: int, warmup: bool,
             what: str) -> Iterator[Finding]: ...


@dataclass(frozen=True)
class Scheduler:
    """One scheduler class, how lrviz drives it, and what lrviz knows of its behaviour.

    The methods are the hooks; this class gives what holds for a scheduler lrviz knows
    nothing special about (a class of the user's own), and each family overrides them.
    """

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
    # The parameter that takes the loop's iterations per epoch (lrviz.loop's
    # ``Plan.batches_per_epoch``): filled by lrviz from the run, never guessed.
    epoch_length_param: str | None = None
    takes_metric: bool = False  # step(metric)
    plateau: bool = False  # ReduceLROnPlateau's bookkeeping, which lrviz.plateau replays
    composite: bool = False  # built from nested scheduler specs
    changes_momentum: bool = False  # when its cycle_momentum is true
    sets_own_lr: bool = False  # replaces each group's lr (base_lr, max_lr / div_factor)
    optimizer_arg: bool = True  # takes the optimizer as first argument
    in_sequence: bool = True  # torch's SequentialLR can hand over to it
    # What its pace is written in, to ask whether it was meant in epochs; and the
    # parameter that sets its lr values, to name when those go wrong.
    pace_param: str | None = None
    lr_param: str | None = None
    zero_fix: str = "give the schedule a floor above 0 (eta_min, a factor > 0)"
    extra: str = ""  # the lrviz extra that installs its library, when not a core dependency

    # ------------------------------------------------------------------ naming

    @property
    def alias(self) -> str:
        """The short name, which also names a run by default."""
        if self.aliases:
            return self.aliases[0]
        return self.attr or self.name

    @property
    def spellings(self) -> tuple[str, ...]:
        """The names the registry knows it by (looked up in any case)."""
        return (self.name.lower(), *self.aliases)

    @property
    def library(self) -> str:
        """The package the scheduler comes from, to say who rejected a value."""
        return self.module.partition(".")[0]

    @property
    def origin(self) -> str:
        """What builds it, as Python would name it."""
        return f"{self.module}.{self.attr or self.name}"

    @property
    def factory(self) -> tuple[str, str]:
        """``(module, callable)`` that builds it, as code that builds it imports them."""
        return self.module, self.attr or self.name

    @property
    def by_name(self) -> bool:
        """Whether the factory takes the schedule's name (``attr``) before the optimizer,
        and its lengths by keyword (``transformers.get_scheduler``), rather than being the
        class itself."""
        return False

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def value(self, params: dict[str, Any], name: str) -> Any:
        """The value torch uses for ``name``: the spec's, else the catalog's default."""
        return params[name] if name in params else self.param(name).default

    # ------------------------------------------------------------------ lengths

    def natural_length(self, node: Node, metric_values: int) -> int:
        """Scheduler steps that show the schedule's whole shape.

        ``metric_values`` counts the logged metric values of the spec (0: none).
        """
        if self.takes_metric:  # logged values set the length; a generator fits any
            return metric_values or PLATEAU_LENGTH
        key = self.length_param
        if key is not None:
            return int(node.params[key]) if node.params.get(key) else FALLBACK_LENGTH
        return 100

    def handovers(self, params: dict[str, Any]) -> list[int] | None:
        """The scheduler steps at which the next child takes over, for a composite that
        runs its children one after another; None when they all run at once (or none)."""
        return None

    # ------------------------------------------------------------------ events

    def events(self, node: Node, offset: int, horizon: int, unit: str) -> Iterator[Moment]:
        """Where the schedule's milestones, restarts, cycles and phases fall, for the
        scheduler ``node`` starting at the top scheduler's step ``offset`` and running to
        ``horizon``; ``unit`` names a scheduler step in labels (``epoch`` or ``step``)."""
        return iter(())

    # ------------------------------------------------------------------ relations

    def relations(self, params: dict[str, Any], children: int) -> Iterator[tuple[str, str]]:
        """``(key, message)`` for each rule between parameters the spec breaks: rules
        torch accepts but no training run wants, or rejects only when it steps."""
        if self.changes_momentum and ("base_momentum" in params or "max_momentum" in params):
            low = as_list(self.value(params, "base_momentum"))
            high = as_list(self.value(params, "max_momentum"))
            if any(lo > hi for lo, hi in zip(low, high, strict=False)):
                yield "base_momentum", "expected base_momentum <= max_momentum"

    # ------------------------------------------------------------------ pitfalls

    def lr_param_at(self, params: dict[str, Any], local: int) -> str | None:
        """The parameter that sets the lr at the scheduler's own step ``local``."""
        return self.lr_param

    def crash(self, run: Run, span: Span, text: str, said: str, row: int) -> Finding | None:
        """A finding that explains a crash of ``scheduler.step()`` better than torch's
        message alone (``text``; ``said`` is it with the exception's name), or None."""
        return None

    def pitfalls(self, stage: str, run: Run, span: Span) -> Iterator[Finding]:
        """The findings of check ``stage`` (one of the stage names above) for this
        scheduler running over ``span`` of the run."""
        return iter(())


def as_list(value: Any) -> list[Any]:
    """A per-group value as a list (a scalar is one item)."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def show(number: float) -> str:
    """A number in a message as the spec would write it: ``3``, ``0.1``."""
    return repr(int(number)) if float(number).is_integer() else repr(float(number))


