"""Spec -> the real torch optimizer and scheduler -> the step loop -> a Trace.

The loop is README "What a row means" and nothing more: record every param group's lr (and
momentum or beta1 where the scheduler cycles it), then ``scheduler.step()``. No
``optimizer.step()`` runs; the optimizer is marked as stepped instead, which is the
state a real training loop leaves it in, so torch's "scheduler before optimizer"
warning does not fire. The engine never prints or plots.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from lrviz.errors import RunError, SpecError
from lrviz.spec import SchedulerSpec, Spec
from lrviz.trace import Trace

Progress = Callable[[int], None]
# Steps between two progress reports: rare enough to cost nothing, often enough to move.
PROGRESS_CHUNK = 1 << 16


def simulate(spec: Spec, progress: Progress | None = None) -> Trace:
    """Run ``spec`` against torch and return what the optimizer saw at every step.

    ``progress``, if given, is called with the number of rows done, every
    ``PROGRESS_CHUNK`` rows and at the end.
    """
    import torch

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        optimizer, beta = build_optimizer(spec)
        warmup = _build_warmup(spec, optimizer)
        scheduler = build_scheduler(spec.scheduler, optimizer, spec)
        resumed = None
        if spec.resume is None:
            lrs, momenta, metric = _run(spec, optimizer, scheduler, warmup, beta, progress)
        else:
            lrs, momenta, metric, resumed = _run_resumed(spec, optimizer, scheduler, warmup,
                                                         beta, progress)
    seen: dict[str, None] = {}
    for w in caught:
        seen.setdefault(f"{w.category.__name__}: {w.message}", None)
    return Trace(
        spec=spec,
        lrs=lrs,
        momenta=momenta,
        metric=metric,
        warnings=tuple(seen),
        # a plain str: torch's own subclass would import torch wherever a trace is unpickled
        torch_version=str(torch.__version__),
        momentum_name="beta1" if beta else "momentum",
        lrs_resumed=resumed,
    )


# ---------------------------------------------------------------------------- optimizer


def optimizer_class(name: str, where: str) -> type:
    """The ``torch.optim`` optimizer named ``name`` (any case)."""
    import torch.optim

    from lrviz.catalog import suggest

    names = {
        n.lower(): n
        for n in dir(torch.optim)
        if inspect.isclass(getattr(torch.optim, n))
        and issubclass(getattr(torch.optim, n), torch.optim.Optimizer)
        and n != "Optimizer"
    }
    if name.lower() not in names:
        options = sorted(names.values())
        raise SpecError(
            f"unknown optimizer {name!r}{suggest(name, options)}; torch.optim has: "
            + ", ".join(options),
            where,
        )
    cls: type = getattr(torch.optim, names[name.lower()])
    return cls


def momentum_is_beta1(cls: type) -> bool:
    """True for Adam-like optimizers: no ``momentum``, but ``betas`` whose first is one."""
    params = inspect.signature(cls).parameters
    return "momentum" not in params and "betas" in params


def build_optimizer(spec: Spec) -> tuple[Any, bool]:
    """A fresh optimizer over one dummy parameter per group.

    Returns it and whether momentum means Adam-style ``betas[0]``: a ``momentum`` key
    given to an optimizer that has ``betas`` but no ``momentum`` sets beta1.
    """
    import torch

    opt = spec.optimizer
    cls = optimizer_class(opt.type, spec.where("optimizer.type"))
    defaults = inspect.signature(cls).parameters
    accepted = [p for p in defaults if p != "params"]
    uses_betas = momentum_is_beta1(cls)

    def keywords(values: dict[str, Any], path: str) -> dict[str, Any]:
        out = {}
        for key, value in values.items():
            numeric = key == "momentum" or (
                key in accepted and isinstance(defaults[key].default, (int, float))
                and not isinstance(defaults[key].default, bool))
            if numeric and isinstance(value, bool):  # torch would take true for 1.0
                raise SpecError(f"expected a number, got {str(value).lower()}",
                                spec.where(f"{path}.{key}"))
            if key == "momentum" and uses_betas:
                beta2 = defaults["betas"].default[1]
                out["betas"] = (float(value), beta2)  # torch wants both betas floats
                continue
            if key not in accepted:
                from lrviz.catalog import suggest

                raise SpecError(
                    f"{cls.__name__} takes no keyword {key!r}{suggest(key, accepted)}; "
                    f"it takes: {', '.join(accepted)}",
                    spec.where(f"{path}.{key}"),
                )
            default = defaults[key].default
            where = spec.where(f"{path}.{key}")
            if isinstance(default, bool) and not isinstance(value, bool):
                raise SpecError(f"expected true or false, got {value!r}", where)
            if isinstance(default, tuple) and isinstance(value, list) \
                    and len(value) != len(default):
                raise SpecError(f"expected {len(default)} values (like {list(default)}), "
                                f"got {len(value)}", where)
            out[key] = _floats(value) if isinstance(value, list) else value
        return out

    base = keywords(opt.params, "optimizer")
    raw_groups = opt.param_groups or ({},)
    groups = [
        {"params": [torch.zeros(1, requires_grad=True)],
         **keywords(g, f"optimizer.param_groups[{i}]")}
        for i, g in enumerate(raw_groups)
    ]
    try:
        optimizer = cls(groups, **base)
    except (ValueError, TypeError, RuntimeError, IndexError, KeyError) as exc:
        raise SpecError(f"torch rejected the optimizer: {exc}", spec.where("optimizer")) from None
    # What a training loop's optimizer.step() leaves behind; see the module docstring.
    optimizer._opt_called = True
    return optimizer, uses_betas


# ---------------------------------------------------------------------------- scheduler


def scheduler_class(sched: SchedulerSpec) -> Any:
    """The class (or, for hf: schedules, the factory) that builds ``sched``."""
    info = sched.info
    try:
        module = importlib.import_module(info.module)
    except ImportError:
        if not info.extra:
            raise
        raise SpecError(
            f"{info.name} needs {info.library}, which lrviz does not install by default: "
            f"pip install 'lrviz[{info.extra}]'",
            sched.path,
        ) from None
    return getattr(module, info.factory[1])


def _bare(value: Any) -> Any:
    """An expression (or a list of them, one per param group) as its compiled function:
    torch calls it every step, and the Expression around it (a functools.partial, so that
    it pickles) costs a call of its own. torch keeps a plain function out of the
    scheduler's state_dict, as it does a user's lambda."""
    from lrviz.expr import Expression

    if isinstance(value, Expression):
        return value.func
    if isinstance(value, list) and value and isinstance(value[0], Expression):
        return [item.func if isinstance(item, Expression) else item for item in value]
    return value


def build_scheduler(sched: SchedulerSpec, optimizer: Any, spec: Spec,
                    last_epoch: int | None = None) -> Any:
    """The scheduler for ``sched``, nested schedulers first, as user code would.

    ``last_epoch`` rebuilds it at a position, as a resumed process that saved no scheduler
    state writes it: passed to the scheduler if its constructor takes it, else (as
    ChainedScheduler) to the schedulers inside it; an hf: factory's LambdaLR is built
    again around the same lambdas with it (what the factory's own ``last_epoch`` does).
    """
    info = sched.info
    cls = scheduler_class(sched)
    kwargs = {name: _bare(value) for name, value in sched.params.items()}
    takes_position = last_epoch is not None and not info.by_name and (
        "last_epoch" in inspect.signature(cls).parameters)
    if sched.children:
        inner = None if takes_position else last_epoch
        kwargs["schedulers"] = [build_scheduler(c, optimizer, spec, inner)
                                for c in sched.children]
    if takes_position:
        kwargs["last_epoch"] = last_epoch
    try:
        if info.by_name:  # transformers.get_scheduler(name, optimizer, ...)
            built = cls(info.attr, optimizer, **hf_arguments(kwargs))
            if last_epoch is not None:
                from torch.optim.lr_scheduler import LambdaLR

                built = LambdaLR(optimizer, built.lr_lambdas, last_epoch=last_epoch)
            return built
        if info.optimizer_arg:
            return cls(optimizer, **kwargs)
        if "optimizer" in inspect.signature(cls).parameters:  # ChainedScheduler, torch >= 2.3
            kwargs["optimizer"] = optimizer
        return cls(**kwargs)
    except (ValueError, TypeError, RuntimeError, ZeroDivisionError, ArithmeticError) as exc:
        from lrviz.expr import ExpressionError

        if isinstance(exc, ExpressionError) and exc.where:  # the lambda's own key
            raise SpecError(f"{info.library} rejected {sched.type}: {exc}", exc.where) from None
        raise SpecError(f"{info.library} rejected {sched.type}: {exc}",
                        spec.where(sched.path)) from None


def hf_arguments(params: dict[str, Any]) -> dict[str, Any]:
    """``transformers.get_scheduler``'s keywords: the two lengths by name, the rest in
    ``scheduler_specific_kwargs`` (which it passes on as they are)."""
    lengths = ("num_warmup_steps", "num_training_steps")
    out: dict[str, Any] = {k: params[k] for k in lengths if k in params}
    rest = {k: v for k, v in params.items() if k not in lengths}
    if rest:
        out["scheduler_specific_kwargs"] = rest
    return out


def _build_warmup(spec: Spec, optimizer: Any, last_epoch: int = -1) -> Any:
    """The LinearLR a training loop steps before ReduceLROnPlateau, if the spec has one."""
    if spec.warmup is None:
        return None
    from torch.optim.lr_scheduler import LinearLR

    return LinearLR(optimizer, start_factor=spec.warmup.start_factor, end_factor=1.0,
                    total_iters=spec.warmup.steps, last_epoch=last_epoch)


# ---------------------------------------------------------------------------- resume


class Saved:
    """What a checkpoint at a row holds: deep copies of the state_dicts (the plateau
    warmup's LinearLR has its own) and the training loop's own position."""

    def __init__(self, optimizer: Any, scheduler: Any, warmup: Any, loop: _Loop) -> None:
        self.optimizer = copy.deepcopy(optimizer.state_dict())
        self.scheduler = copy.deepcopy(scheduler.state_dict())
        self.warmup = copy.deepcopy(warmup.state_dict()) if warmup is not None else None
        self.warmup_left, self.fed = loop.warmup_left, loop.fed


def _position(state: dict[str, Any]) -> int:
    """``last_epoch`` that rebuilds a scheduler where ``state`` left it: its constructor's
    own step then lands on the saved count (torchtune's ``global_step - 1``)."""
    if "last_epoch" not in state:  # ChainedScheduler: its schedulers step together
        return _position(state["_schedulers"][0])
    return int(state["last_epoch"]) - 1


def resume_objects(spec: Spec, saved: Saved, restore: str) -> tuple[Any, Any, Any]:
    """A fresh process's optimizer, scheduler and plateau warmup, with ``restore`` loaded.

    Built as the spec says, then: full loads both state_dicts (optimizer first), scheduler
    or optimizer only that one, and rebuild builds the scheduler at the saved position
    instead, the keys schedulers put in the saved optimizer's param groups first set in
    the fresh ones (``initial_lr``; OneCycleLR's ``max_lr``, ``min_lr``, ...): torch
    refuses ``last_epoch`` without them, so a user must do it too. A
    scheduler whose constructor takes no ``last_epoch`` (ReduceLROnPlateau) is rebuilt
    fresh.
    """
    optimizer, _ = build_optimizer(spec)
    if restore == "rebuild":
        for group, old in zip(optimizer.param_groups, saved.optimizer["param_groups"],
                              strict=True):
            for key, value in old.items():  # initial_lr; OneCycleLR's max_lr, min_lr, ...
                group.setdefault(key, value)
        warmup = (None if saved.warmup is None
                  else _build_warmup(spec, optimizer, _position(saved.warmup)))
        scheduler = build_scheduler(spec.scheduler, optimizer, spec,
                                    _position(saved.scheduler))
        return optimizer, scheduler, warmup
    warmup = _build_warmup(spec, optimizer)
    scheduler = build_scheduler(spec.scheduler, optimizer, spec)
    if restore in ("full", "optimizer"):
        optimizer.load_state_dict(saved.optimizer)
    if restore in ("full", "scheduler"):
        scheduler.load_state_dict(saved.scheduler)
        if warmup is not None:
            warmup.load_state_dict(saved.warmup)
    return optimizer, scheduler, warmup


def resumed_run(spec: Spec, saved: Saved, restore: str, beta: bool,
                into: np.ndarray) -> None:
    """Rows ``at..`` of a fresh process resumed from ``saved``, written into ``into``."""
    at = spec.resume.at if spec.resume is not None else 0
    optimizer, scheduler, warmup = resume_objects(spec, saved, restore)
    again = _Loop(spec, optimizer, scheduler, warmup, beta)
    again.warmup_left, again.fed = saved.warmup_left, saved.fed
    try:
        again.run(at, spec.steps)
    except RunError as exc:
        exc.message = f"the run resumed at step {at} (restore: {restore}): {exc.message}"
        raise
    into[:, at:] = again.lrs[:, at:]


def _run_resumed(
    spec: Spec, optimizer: Any, scheduler: Any, warmup: Any, beta: bool,
    progress: Progress | None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray]:
    """The uninterrupted run, saved at ``spec.resume.at`` on its way, then the resumed one."""
    assert spec.resume is not None
    at = spec.resume.at
    state = _Loop(spec, optimizer, scheduler, warmup, beta)
    state.run(0, at)
    saved = Saved(optimizer, scheduler, warmup, state)
    state.run(at, spec.steps)
    resumed = state.lrs.copy()
    resumed_run(spec, saved, spec.resume.restore, beta, resumed)
    if progress is not None:
        progress(spec.steps)
    return state.lrs, state.momenta, state.metric, resumed


# ---------------------------------------------------------------------------- the loop


def _run(
    spec: Spec, optimizer: Any, scheduler: Any, warmup: Any, beta: bool,
    progress: Progress | None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The step loop, in chunks between progress reports."""
    chunk = PROGRESS_CHUNK if progress is not None else spec.steps
    state = _Loop(spec, optimizer, scheduler, warmup, beta)
    for start in range(0, spec.steps, chunk):
        stop = min(spec.steps, start + chunk)
        state.run(start, stop)
        if progress is not None:
            progress(stop)
    return state.lrs, state.momenta, state.metric


class _Loop:
    """The arrays and the probes of one run; :meth:`run` fills rows ``start..stop``."""

    def __init__(
        self, spec: Spec, optimizer: Any, scheduler: Any, warmup: Any, beta: bool
    ) -> None:
        groups = optimizer.param_groups
        self.spec, self.scheduler, self.beta = spec, scheduler, beta
        self.warmup = warmup
        self.warmup_left = spec.warmup.steps if spec.warmup is not None else 0
        self.lrs = np.empty((len(groups), spec.steps))
        self.momenta = np.empty((len(groups), spec.steps)) if spec.records_momentum else None
        self.metric = np.full(spec.steps, np.nan) if spec.metric is not None else None
        self.lr_probes = [(self.lrs[i], g) for i, g in enumerate(groups)]
        self.mom_probes = ([] if self.momenta is None
                           else [(self.momenta[i], g) for i, g in enumerate(groups)])
        plan = spec.plan
        self.every = plan.every
        self.values = spec.metric.values if spec.metric is not None else None
        self.fed = 0
        # accelerate leaves a scheduler with total_steps (OneCycleLR) alone past its end
        self.capped = plan.stops_at_total_steps and hasattr(scheduler, "total_steps")

    def run(self, start: int, stop: int) -> None:
        if self.every is None:
            self._run_plan(start, stop)
            return
        spec, scheduler = self.spec, self.scheduler
        step, values, metric = scheduler.step, self.values, self.metric
        every, beta = self.every, self.beta
        last = every - 1
        k = start
        try:
            if every == 1 and not self.mom_probes and len(self.lr_probes) == 1 \
                    and self.warmup is None:
                # the common cases, as lean as torch's own loop
                row, group = self.lr_probes[0]
                if values is None:
                    for k in range(start, stop):
                        row[k] = group["lr"]
                        step()
                    return
                fed = values[self.fed:self.fed + stop - start]
                for k, value in zip(range(start, stop), fed, strict=True):
                    row[k] = group["lr"]
                    step(value)
                metric[start:stop] = fed  # type: ignore[index]
                self.fed += stop - start
                return
            for k in range(start, stop):
                for row, group in self.lr_probes:
                    row[k] = group["lr"]
                for row, group in self.mom_probes:
                    row[k] = group["betas"][0] if beta else group["momentum"]
                if k % every == last:
                    if self.warmup_left:
                        self.warmup.step()
                        self.warmup_left -= 1
                    elif values is None:
                        step()
                    else:
                        metric[k] = values[self.fed]  # type: ignore[index]
                        step(values[self.fed])
                        self.fed += 1
        except Exception as exc:  # torch's own failure, as training would meet it
            error = RunError(
                f"{type(scheduler).__name__}.step() failed after step {k}: "
                f"{exc or type(exc).__name__}",
                spec.source,
            )
            error.step = k
            raise error from exc

    def _run_plan(self, start: int, stop: int) -> None:
        """A framework's loop: ``plan.after[k]`` scheduler steps after row ``k``."""
        after, beta = self.spec.plan.after, self.beta
        k = start - 1
        try:
            if start == 0:
                self._calls(self.spec.plan.before, -1)
            for k in range(start, stop):
                for row, group in self.lr_probes:
                    row[k] = group["lr"]
                for row, group in self.mom_probes:
                    row[k] = group["betas"][0] if beta else group["momentum"]
                if after[k]:
                    self._calls(int(after[k]), k)
        except Exception as exc:  # torch's own failure, as training would meet it
            error = RunError(
                f"{type(self.scheduler).__name__}.step() failed after step {max(k, 0)}: "
                f"{exc or type(exc).__name__}",
                self.spec.source,
            )
            error.step = max(k, 0)
            raise error from exc

    def _calls(self, n: int, k: int) -> None:
        """``n`` scheduler steps after row ``k`` (-1: before row 0), warmup first.

        A metric is measured once for the row and fed to each of its calls.
        """
        scheduler, values = self.scheduler, self.values
        value = None
        for _ in range(n):
            if self.warmup_left:
                self.warmup.step()
                self.warmup_left -= 1
            elif self.capped and scheduler._step_count > scheduler.total_steps:
                continue
            elif values is None:
                scheduler.step()
            else:
                if value is None:
                    value = values[self.fed]
                    self.fed += 1
                    if k >= 0:
                        self.metric[k] = value  # type: ignore[index]
                scheduler.step(value)


def _floats(values: list[Any]) -> tuple[Any, ...]:
    """A list keyword as the tuple torch expects, numbers as floats (``betas: [0, 0.99]``)."""
    return tuple(float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                 for v in values)


def skip_dynamo_import() -> None:
    """Spare a process that only simulates the import of ``torch._dynamo`` (about 1 s).

    torch wraps ``Optimizer.add_param_group`` in ``torch._disable_dynamo``, which imports
    ``torch._dynamo`` on the first call to build a dynamo-disabled copy of the function
    and caches it on the function as ``__dynamo_disable``. Filling that cache with the
    function itself skips the import; it makes a difference only under ``torch.compile``,
    which a simulation never uses. The CLI calls this for its own process; a library
    user's process is left as it is. Where torch is built differently, it does nothing.
    """
    import sys

    import torch

    fn = getattr(torch.optim.Optimizer.add_param_group, "__wrapped__", None)
    if fn is not None and "torch._dynamo" not in sys.modules:
        fn.__dynamo_disable = fn
