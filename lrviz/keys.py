"""The spec's own keys (everything but the scheduler's parameters) as one table.

The table is data, read by both sides that must agree on it: :mod:`lrviz.spec`
validates a spec's values with it, and :mod:`lrviz.schema` writes the JSON Schema from
it. A bound changed here changes both. The scheduler's parameters have their own
table, the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

# The training loops lrviz knows (lrviz.loop has one rule for each) and the axes a
# figure can count along; words of the spec, so they live with its keys.
FRAMEWORKS = ("plain", "hf-trainer", "lightning", "accelerate", "torchtune", "deepspeed",
              "mmengine")
X_AXES = ("step", "epoch", "samples", "tokens")
# What a resumed process loads (README "Resume"): both state_dicts, one of them, or none
# with the scheduler built anew at the run's position.
RESTORES = ("full", "scheduler", "optimizer", "rebuild")

# kinds of value
INTEGER = "integer"
NUMBER = "number"
BOOLEAN = "boolean"
TEXT = "text"  # one line
NAME = "name"  # a run's name: it becomes a file name
SIZE = "size"  # WIDTHxHEIGHT in inches
MAPPING = "mapping"  # a section with keys of its own
CHOICE = "choice"  # one of ``Key.choices``

MAX_NAME = 100  # characters of a name: it becomes a file name
MAX_TITLE = 200  # characters of a title: one line over a figure


@dataclass(frozen=True)
class Key:
    """One key: what its value may be, and what it means."""

    name: str
    kind: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False  # the value must be above ``minimum``
    max_length: int | None = None
    default: object = None
    required: bool = False
    hint: str = ""  # said after what is expected: " (0: no warmup)"
    choices: tuple[str, ...] = ()  # a CHOICE's words

    def bounds_text(self, what: str) -> str:
        """``an integer >= 1``, ``an integer from 20 to 1200``, ``a number in (0, 1]``."""
        low, high = _num(self.minimum), _num(self.maximum)
        if self.minimum is not None and self.maximum is not None:
            if self.exclusive_minimum:
                return f"{what} in ({low}, {high}]"
            return f"{what} from {low} to {high}"
        if self.minimum is not None:
            return f"{what} {'>' if self.exclusive_minimum else '>='} {low}"
        if self.maximum is not None:
            return f"{what} <= {high}"
        return what

    def within(self, number: float) -> bool:
        if self.minimum is not None and (number < self.minimum or (
                self.exclusive_minimum and number == self.minimum)):
            return False
        return self.maximum is None or number <= self.maximum


TOP: tuple[Key, ...] = (
    Key("name", NAME, "Name of the outputs (NAME.png); default: the file name without its "
        f"suffix. One line of at most {MAX_NAME} characters, no slashes, not starting with "
        ". or -.", max_length=MAX_NAME),
    Key("title", TEXT, f"Plot title: one line of at most {MAX_TITLE} characters.",
        max_length=MAX_TITLE),
    Key("steps", INTEGER, "Training steps to simulate (rows of output), >= 1; default: "
        "enough to show the schedule's whole shape.", minimum=1),
    Key("epochs", INTEGER, "Epochs to simulate when `steps` is not given: steps = epochs * "
        "steps_per_epoch.", minimum=1),
    Key("steps_per_epoch", INTEGER, "Training steps per epoch, >= 1; with `interval: epoch` "
        "the scheduler steps once per epoch.", minimum=1, default=1),
    Key("optimizer", MAPPING, "The torch.optim optimizer; default: SGD(lr=0.1, "
        "momentum=0.9). Other keys are constructor keywords of that optimizer."),
    Key("scheduler", MAPPING, "The scheduler: `type:` and its constructor keywords.",
        required=True),
    Key("metric", MAPPING, "ReduceLROnPlateau only: the values fed to "
        "scheduler.step(metric). Default: a synthetic metric that suits the scheduler's "
        "mode."),
    Key("warmup", MAPPING, "A linear warmup before the scheduler, ramping the lr from "
        "start_factor times the initial lr up to it."),
    Key("plot", MAPPING, "How the figure is drawn."),
    Key("training", MAPPING, "The training loop that drives the scheduler (README \"The "
        "training loop\"): a framework's own stepping rules, gradient accumulation, "
        "processes, epochs. Without it, the plain loop of README \"What a row means\"."),
)

WARMUP: tuple[Key, ...] = (
    Key("steps", INTEGER, "Scheduler steps of the warmup (0: no warmup).", minimum=0,
        required=True, hint=" (0: no warmup)"),
    Key("start_factor", NUMBER, "Factor of the lr at the first step, in (0, 1].",
        minimum=0, maximum=1, exclusive_minimum=True, default=0.01),
)

PLOT: tuple[Key, ...] = (
    Key("log_y", BOOLEAN, "Logarithmic lr axis (default: when a linear one would flatten "
        "much of the run)."),
    Key("size", SIZE, "Figure size in inches, WIDTHxHEIGHT (8x4), each side 1 to 50.",
        minimum=1, maximum=50),
    Key("dpi", INTEGER, "Raster resolution.", minimum=20, maximum=1200),
    Key("x", CHOICE, "The x axis: step, epoch, or (with a framework's training: section) "
        "samples, or tokens (with tokens_per_sample).", choices=X_AXES, default="step"),
)

TRAINING: tuple[Key, ...] = (
    Key("framework", CHOICE, "Whose rules step the scheduler: plain (README \"What a row "
        "means\"), hf-trainer, lightning, accelerate, torchtune, deepspeed or mmengine.",
        choices=FRAMEWORKS, default="plain"),
    Key("dataset_size", INTEGER, "Samples in one epoch, over all processes.", minimum=1),
    Key("batches_per_epoch", INTEGER, "Instead of dataset_size: micro-batches one process "
        "sees in an epoch (len(dataloader)).", minimum=1),
    Key("batch_size", INTEGER, "Micro-batch size per process (per_device_train_batch_size).",
        minimum=1, default=1),
    Key("world_size", INTEGER, "Data-parallel processes.", minimum=1, default=1),
    Key("grad_accum", INTEGER, "Micro-batches per optimizer step (gradient accumulation).",
        minimum=1, default=1),
    Key("drop_last", BOOLEAN, "Whether the dataloader drops the last partial batch "
        "(default: the framework's)."),
    Key("epochs", NUMBER, "The run's length in epochs (fractional where the framework "
        "allows it, as HF's num_train_epochs).", minimum=0, exclusive_minimum=True),
    Key("max_steps", INTEGER, "The run's length in optimizer steps; wins over epochs where "
        "the framework says so.", minimum=1),
    Key("tokens_per_sample", INTEGER, "Tokens in one sample: gives the outputs a tokens "
        "column and figures a tokens axis.", minimum=1),
    Key("frequency", INTEGER, "Lightning's lr_scheduler_config frequency: batches (interval "
        "step) or epochs (interval epoch) between scheduler steps.", minimum=1, default=1),
    Key("split_batches", BOOLEAN, "accelerate's split_batches: a batch is split over the "
        "processes and a prepared scheduler steps once per optimizer step.", default=False),
    Key("max_steps_per_epoch", INTEGER, "torchtune's cap on optimizer steps per epoch.",
        minimum=1),
    Key("resume", MAPPING, "Save at an optimizer step and go on in a fresh process "
        "(README \"Resume\"): `at:` the step, `restore:` what is loaded."),
)

RESUME: tuple[Key, ...] = (
    Key("at", INTEGER, "The optimizer step (row) the resumed process starts at: rows before "
        "it ran in the first process; 1 to the run's last row.", minimum=1, required=True),
    Key("restore", CHOICE, "What the resumed process loads: full (optimizer and scheduler "
        "state_dicts), scheduler or optimizer (only that one), rebuild (the scheduler built "
        "anew with last_epoch at the run's position).", choices=RESTORES, default="full"),
)

SECTIONS: dict[str, tuple[Key, ...]] = {"": TOP, "warmup": WARMUP, "plot": PLOT,
                                         "training": TRAINING, "training.resume": RESUME}


# The training keys every command's flags can set (``--dataset-size N``); ``resume`` has
# flags of its own (--resume-at, --restore). A switch is a flag without a value.
TRAINING_SWITCHES = ("drop_last",)


def training_flags() -> tuple[Key, ...]:
    """The keys of :data:`TRAINING` given as ``--name-with-dashes`` flags."""
    return tuple(k for k in TRAINING if k.name != "resume")


def flag_metavar(key: Key) -> str:
    """What a key's flag takes, for help: ``N``, ``NAME``, ``true|false``; "" for a switch."""
    if key.name in TRAINING_SWITCHES:
        return ""
    if key.kind == CHOICE:
        return "NAME"
    return "true|false" if key.kind == BOOLEAN else "N"


def names(keys: tuple[Key, ...]) -> tuple[str, ...]:
    return tuple(k.name for k in keys)


def key(section: str, name: str) -> Key:
    """The key ``name`` of ``section`` ("" for the top level)."""
    return next(k for k in SECTIONS[section] if k.name == name)


def _num(number: float | None) -> str:
    if number is None:
        return ""
    return repr(int(number)) if float(number).is_integer() else repr(float(number))
