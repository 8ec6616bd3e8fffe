"""What the engine builds for the ``mmengine:`` records (lrviz.schedulers.mmengine).

Importing this module imports mmengine: without the ``mmengine`` extra the engine's
ImportError becomes the one line naming the extra. A member (``mmengine:LinearLR``) is
built as a :class:`Pending` record of its keywords; :class:`ParamSchedulers` builds the
real mmengine schedulers from them, in the config's order (each changes the optimizer's
lr when it is built, as in mmengine's Runner), with mmengine's own
``build_scheduler_from_cfg`` (what ``PARAM_SCHEDULERS.build`` calls: it applies
``convert_to_iter_based``), and steps them by ``ParamSchedulerHook``'s rules.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

with warnings.catch_warnings():
    # mmengine's import touches torch.jit, which torch 2.13 reports as deprecated: the
    # user's schedule has nothing to do with it
    warnings.simplefilter("ignore", DeprecationWarning)
    import mmengine.optim.scheduler  # noqa: F401  (registers the classes in PARAM_SCHEDULERS)
    from mmengine.registry import PARAM_SCHEDULERS
    from mmengine.registry.build_functions import build_scheduler_from_cfg


@dataclass(frozen=True)
class Pending:
    """One mmengine scheduler of the list, built once the run's lengths are known."""

    type: str
    kwargs: dict[str, Any]


def _pending(name: str) -> Any:
    def build(optimizer: Any, **kwargs: Any) -> Pending:
        return Pending(name, kwargs)

    build.__name__ = name
    return build


ConstantLR = _pending("ConstantLR")
LinearLR = _pending("LinearLR")
StepLR = _pending("StepLR")
MultiStepLR = _pending("MultiStepLR")
ExponentialLR = _pending("ExponentialLR")
CosineAnnealingLR = _pending("CosineAnnealingLR")
PolyLR = _pending("PolyLR")
CosineRestartLR = _pending("CosineRestartLR")


class ParamSchedulers:
    """mmengine's schedulers of one ``param_scheduler`` list, stepped once per iteration.

    ``step()`` is called after every iteration: it steps each iteration-based scheduler,
    and after an epoch's last iteration each epoch-based one (``ParamSchedulerHook``'s
    ``after_train_iter`` then ``after_train_epoch``). ``epoch_length`` is the loop's
    iterations per epoch (lrviz.build fills it from the run's plan); ``total_iters`` is
    how many iterations lrviz steps, which ``--max-steps`` may leave short of the
    ``max_epochs * epoch_length`` that mmengine's own run would last.
    """

    def __init__(self, optimizer: Any, schedulers: list[Pending], total_iters: int,
                 max_epochs: int | None = None, epoch_length: int | None = None) -> None:
        by_epoch = [bool(p.kwargs.get("by_epoch", True)) for p in schedulers]
        if epoch_length is None:
            raise ValueError("epoch_length (iterations per epoch) is the run loop's; "
                             "lrviz fills it when it builds the spec")
        self.epoch_length = epoch_length
        if any(by_epoch) and max_epochs is None:
            raise ValueError("an epoch-based scheduler needs max_epochs (the run's epochs)")
        # Runner.max_iters: an epoch-based run's iterations are its epochs' (the run that
        # lrviz stops early at --max-steps still has mmengine's windows)
        max_iters = total_iters if max_epochs is None else max_epochs * epoch_length
        self.schedulers = []
        for pending, epochs in zip(schedulers, by_epoch, strict=True):
            cfg = {"type": pending.type, **pending.kwargs}
            # Runner._build_param_scheduler: the run's end where the config gives none
            cfg.setdefault("end", max_epochs if epochs else max_iters)
            try:
                self.schedulers.append(build_scheduler_from_cfg(
                    cfg, PARAM_SCHEDULERS,
                    default_args={"optimizer": optimizer, "epoch_length": self.epoch_length}))
            except (AssertionError, KeyError) as exc:  # mmengine checks its arguments so
                raise ValueError(f"{pending.type}: {exc}") from None
        # what a training loop's first optimizer.step() leaves behind: mmengine counts them
        # (its schedulers wrap optimizer.step) to warn of a scheduler stepped first
        optimizer._global_step = 0
        self.iteration = 0

    def step(self) -> None:
        self.iteration += 1
        for scheduler in self.schedulers:
            if not scheduler.by_epoch:
                scheduler.step()
        if self.iteration % self.epoch_length == 0:
            for scheduler in self.schedulers:
                if scheduler.by_epoch:
                    scheduler.step()
