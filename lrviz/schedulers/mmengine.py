"""mmengine's (OpenMMLab's) parameter schedulers, as an mmengine config's ``param_scheduler``
lists them: records of mmengine's own classes, and the list that steps them as mmengine's
``ParamSchedulerHook`` does.

mmengine's schedulers are not torch's: each has a window ``[begin, end)`` in its own unit
(epochs with ``by_epoch=True``, mmengine's default, iterations otherwise) and changes the
lr only inside it; several in a list run side by side on the same optimizer (the common
mmdet warmup ``LinearLR(begin=0, end=500, by_epoch=False)`` beside an epoch-based
``MultiStepLR``); ``convert_to_iter_based=True`` turns an epoch-based one into an
iteration-based one of ``epoch_length`` times the length (``build_iter_from_epoch``); and
a ``param_scheduler`` without ``end`` runs to the run's end (``Runner._build_param_scheduler``
fills ``max_epochs`` or ``max_iters``). Rather than restate those rules, the engine builds
mmengine's real classes (the ``mmengine`` extra) through :mod:`lrviz.schedulers.mmengine_run`.

``mmengine:param_scheduler`` is the list. It is stepped after every iteration (a
micro-batch: lrviz.loop's mmengine rule with interval ``step``) and steps the
iteration-based schedulers every time, the epoch-based ones after the last iteration of
every epoch, in that order, as the hook's ``after_train_iter`` and ``after_train_epoch``
do. An epoch's length in iterations (``epoch_length``) is the run loop's: lrviz.loop's
``Plan.batches_per_epoch`` (an mmengine iteration is a micro-batch), which lrviz.build
fills in; it is not derived from the run's length, which ``--max-steps`` may cut short.
"""

from __future__ import annotations

from lrviz.schedulers.base import ANY, BOOL, FLOAT, INT, INT_LIST, SCHEDULERS, Param, Scheduler

_RUN = "lrviz.schedulers.mmengine_run"
_WINDOW = (
    Param("begin", INT, "first step (epoch or iteration) of its window", 0, minimum=0),
    Param("end", INT, "step at which its window ends, excluded (default: the run's end)",
          None, minimum=1, nullable=True),
    Param("by_epoch", BOOL, "its unit: epochs (true, mmengine's default) or iterations", True),
    Param("convert_to_iter_based", BOOL, "an epoch-based window stepped by iterations "
          "(lengths times the iterations per epoch)", False),
)
_ETA = (
    Param("eta_min", FLOAT, "lowest lr", None, minimum=0, nullable=True),
    Param("eta_min_ratio", FLOAT, "lowest lr, as a fraction of the initial lr", None,
          minimum=0, nullable=True),
)


class MmengineScheduler(Scheduler):
    """A record whose builder lives in lrviz but whose classes are mmengine's."""

    @property
    def library(self) -> str:
        return "mmengine"


def _member(name: str, help: str, params: tuple[Param, ...]) -> Scheduler:
    return MmengineScheduler(f"mmengine:{name}", (), help, (*params, *_WINDOW), module=_RUN,
                     attr=name, extra="mmengine", in_sequence=False)


MEMBERS: tuple[Scheduler, ...] = (
    _member("ConstantLR", "mmengine: the lr times factor inside the window, then the lr",
            (Param("factor", FLOAT, "the factor inside the window", 1 / 3, minimum=0),)),
    _member("LinearLR", "mmengine: the factor goes linearly from start_factor to end_factor "
            "over the window", (
                Param("start_factor", FLOAT, "factor at the window's start", 1 / 3,
                      minimum=0),
                Param("end_factor", FLOAT, "factor at the window's end", 1.0, minimum=0))),
    _member("StepLR", "mmengine: the lr times gamma every step_size steps of the window",
            (Param("step_size", INT, "steps between drops", minimum=1),
             Param("gamma", FLOAT, "factor at each drop", 0.1, minimum=0))),
    _member("MultiStepLR", "mmengine: the lr times gamma at each milestone",
            (Param("milestones", INT_LIST, "steps (from begin) at which the lr drops",
                   minimum=0),
             Param("gamma", FLOAT, "factor at each drop", 0.1, minimum=0))),
    _member("ExponentialLR", "mmengine: the lr times gamma at every step of the window",
            (Param("gamma", FLOAT, "factor at every step", minimum=0),)),
    _member("CosineAnnealingLR", "mmengine: cosine down to eta_min (or eta_min_ratio of the "
            "lr) over T_max (default: the window)",
            (Param("T_max", INT, "steps of the half cosine (default: end - begin)", None,
                   minimum=1, nullable=True), *_ETA)),
    _member("PolyLR", "mmengine: polynomial decay to eta_min over the window",
            (Param("eta_min", FLOAT, "lowest lr", 0.0, minimum=0),
             Param("power", FLOAT, "the polynomial's power", 1.0, minimum=0))),
    _member("CosineRestartLR", "mmengine: cosine cycles of the given periods, restarted at "
            "restart_weights of the lr",
            (Param("periods", INT_LIST, "steps of each cycle", minimum=1),
             Param("restart_weights", ANY, "the lr's weight at each restart", [1]), *_ETA)),
)

LIST = MmengineScheduler(
    "mmengine:param_scheduler", (),
    "mmengine's param_scheduler list: each scheduler in its window, iteration-based ones "
    "stepped after every iteration, epoch-based ones after every epoch",
    (Param("schedulers", SCHEDULERS, "the mmengine:... schedulers, in the config's order"),
     Param("total_iters", INT, "iterations of the run (default: the run's scheduler steps)",
           minimum=1),
     Param("max_epochs", INT, "epochs of the run (train_cfg.max_epochs); needed by "
           "epoch-based schedulers", None, minimum=1, nullable=True),
     Param("epoch_length", INT, "iterations (micro-batches) per epoch: the run loop's, "
           "filled by lrviz", None, minimum=1, nullable=True)),
    module=_RUN, attr="ParamSchedulers", extra="mmengine", composite=True,
    length_param="total_iters", epoch_length_param="epoch_length", in_sequence=False,
)

TABLE: tuple[Scheduler, ...] = (LIST, *MEMBERS)
