"""torch's schedulers: every public class of ``torch.optim.lr_scheduler`` and SWALR.

``tests/test_catalog.py`` holds these records against ``inspect.signature`` of the
installed torch classes, so names, defaults and required-ness cannot drift. Nothing
here imports torch.

``last_epoch`` (resuming a run) is left out on purpose: a simulation always starts
from step 0, and torch refuses ``last_epoch >= 0`` on a fresh optimizer.
"""

from __future__ import annotations

from lrviz.schedulers.base import (
    BOOL,
    CHOICE,
    EXPR,
    FLOAT,
    INT,
    INT_LIST,
    SCHEDULERS,
    Param,
    Scheduler,
)
from lrviz.schedulers.torch_records import (
    ChainedSchedulerRecord,
    ConstantLRRecord,
    CosineAnnealingLRRecord,
    CosineAnnealingWarmRestartsRecord,
    CyclicLRRecord,
    ExponentialLRRecord,
    LinearLRRecord,
    MultiStepLRRecord,
    OneCycleLRRecord,
    PolynomialLRRecord,
    RampRecord,
    SequentialLRRecord,
    StepLRRecord,
)

ANNEAL = ("cos", "linear")
_COSINE_ZERO = "set eta_min above 0, e.g. a hundredth of the initial lr"

PLATEAU_PARAMS = (
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

TABLE: tuple[Scheduler, ...] = (
    Scheduler(
        "LambdaLR", ("lambda",),
        "lr = initial lr * lr_lambda(epoch), an expression in epoch",
        (
            Param("lr_lambda", EXPR, "factor applied to the initial lr, e.g. '0.95 ** epoch'",
                  variable="epoch", per_group=True),
        ),
        pace_param="lr_lambda",
        lr_param="lr_lambda",
        zero_fix="keep lr_lambda above 0 over the whole run",
    ),
    Scheduler(
        "MultiplicativeLR", ("multiplicative",),
        "lr = previous lr * lr_lambda(epoch) at every step after the first",
        (
            Param("lr_lambda", EXPR, "factor applied to the previous lr, e.g. '0.95'",
                  variable="epoch", per_group=True),
        ),
        pace_param="lr_lambda",
        lr_param="lr_lambda",
        zero_fix="keep lr_lambda above 0 over the whole run",
    ),
    StepLRRecord(
        "StepLR", ("step",),
        "multiply the lr by gamma every step_size steps",
        (
            Param("step_size", INT, "scheduler steps between two decays", minimum=1),
            Param("gamma", FLOAT, "factor applied at each decay", 0.1, minimum=0),
        ),
        pace_param="step_size",
        lr_param="gamma",
    ),
    MultiStepLRRecord(
        "MultiStepLR", ("multistep",),
        "multiply the lr by gamma at each milestone",
        (
            Param("milestones", INT_LIST, "scheduler steps at which the lr decays, e.g. 100,210",
                  minimum=0),
            Param("gamma", FLOAT, "factor applied at each milestone", 0.1, minimum=0),
        ),
        pace_param="milestones",
        lr_param="gamma",
    ),
    ConstantLRRecord(
        "ConstantLR", ("constant",),
        "scale the lr by factor until total_iters, then restore it",
        (
            Param("factor", FLOAT, "scale applied before total_iters (0 <= factor <= 1)",
                  1.0 / 3, minimum=0, maximum=1),
            Param("total_iters", INT, "scheduler steps the factor lasts", 5, minimum=0),
        ),
        pace_param="total_iters",
        lr_param="factor",
    ),
    LinearLRRecord(
        "LinearLR", ("linear",),
        "ramp the lr factor linearly from start_factor to end_factor over total_iters",
        (
            Param("start_factor", FLOAT, "factor at step 0 (0 < start_factor <= 1)", 1.0 / 3,
                  positive=True, maximum=1),
            Param("end_factor", FLOAT, "factor reached at total_iters (0 <= end_factor <= 1)",
                  1.0, minimum=0, maximum=1),
            Param("total_iters", INT, "scheduler steps of the ramp", 5, minimum=0),
        ),
        pace_param="total_iters",
        lr_param="end_factor",
        zero_fix="set end_factor (and start_factor) above 0",
    ),
    ExponentialLRRecord(
        "ExponentialLR", ("exponential",),
        "multiply the lr by gamma at every step",
        (Param("gamma", FLOAT, "factor applied at every step", minimum=0),),
        pace_param="gamma",
        lr_param="gamma",
    ),
    SequentialLRRecord(
        "SequentialLR", ("sequential",),
        "run schedulers one after another, switching at the milestones",
        (
            Param("schedulers", SCHEDULERS, "the schedulers, in order"),
            Param("milestones", INT_LIST, "scheduler steps at which the next scheduler starts",
                  minimum=0),
        ),
        composite=True,
    ),
    CosineAnnealingLRRecord(
        "CosineAnnealingLR", ("cosine",),
        "cosine from the initial lr down to eta_min over T_max steps (and back up after it)",
        (
            Param("T_max", INT, "scheduler steps from the initial lr down to eta_min "
                  "(default: the run's scheduler steps)", minimum=1),
            Param("eta_min", FLOAT, "lowest lr", 0.0, minimum=0),
        ),
        length_param="T_max",
        pace_param="T_max",
        lr_param="eta_min",
        zero_fix=_COSINE_ZERO,
    ),
    ChainedSchedulerRecord(
        "ChainedScheduler", ("chained",),
        "step several schedulers together; their factors multiply",
        (Param("schedulers", SCHEDULERS, "the schedulers, all stepped at every step"),),
        composite=True,
        optimizer_arg=False,
        in_sequence=False,
    ),
    Scheduler(
        "ReduceLROnPlateau", ("plateau",),
        "cut the lr by factor when the metric stops improving for patience steps",
        PLATEAU_PARAMS,
        takes_metric=True,
        plateau=True,
    ),
    CyclicLRRecord(
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
        pace_param="step_size_up",
        lr_param="base_lr",
        sets_own_lr=True,
    ),
    CosineAnnealingWarmRestartsRecord(
        "CosineAnnealingWarmRestarts", ("cosine-restarts", "warm-restarts"),
        "cosine down to eta_min, restarting every T_0 steps (T_mult times longer each time)",
        (
            Param("T_0", INT, "steps until the first restart", minimum=1),
            Param("T_mult", INT, "growth factor of the period after each restart", 1, minimum=1),
            Param("eta_min", FLOAT, "lowest lr", 0.0, minimum=0),
        ),
        pace_param="T_0",
        lr_param="eta_min",
        zero_fix=_COSINE_ZERO,
    ),
    OneCycleLRRecord(
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
                  choices=ANNEAL),
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
        lr_param="final_div_factor",
        sets_own_lr=True,
    ),
    PolynomialLRRecord(
        "PolynomialLR", ("polynomial",),
        "decay the lr to zero over total_iters as a polynomial of the given power",
        (
            Param("total_iters", INT, "scheduler steps of the decay", 5, minimum=0),
            Param("power", FLOAT, "power of the polynomial", 1.0, minimum=0),
        ),
        pace_param="total_iters",
        lr_param="total_iters",
        zero_fix="set total_iters to the scheduler steps it runs for, so it reaches 0 only "
                 "at the end",
    ),
    RampRecord(
        "SWALR", ("swa",),
        "anneal each group's lr to swa_lr over anneal_epochs, then hold it",
        (
            Param("swa_lr", FLOAT, "lr reached and held", minimum=0, per_group=True),
            Param("anneal_epochs", INT, "steps of the annealing", 10, minimum=0),
            Param("anneal_strategy", CHOICE, "shape of the annealing", "cos", choices=ANNEAL),
        ),
        module="torch.optim.swa_utils",
        ramp_param="anneal_epochs",
        lr_param="swa_lr",
    ),
)

_BY_NAME = {s.name: s for s in TABLE}
# What lrviz builds a spec's ``warmup:`` from: a linear ramp from start_factor to 1 ...
WARMUP = _BY_NAME["LinearLR"]
# ... handed over to the main scheduler by a sequence at the warmup's end.
SEQUENCE = _BY_NAME["SequentialLR"]
