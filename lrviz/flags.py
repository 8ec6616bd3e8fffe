"""Command-line flags of ``plot`` (and the commands shaped like it), driven by the catalog.

The flags a command takes depend on its first argument (a scheduler name, or a YAML
spec whose scheduler names them), which a static Typer signature cannot express; so
these commands hand their arguments here. :func:`parse` turns them into a raw spec
overlay (shaped like the YAML format), with every key path remembered as the flag
that set it so that errors name the flag the user typed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lrviz import catalog, keys, readers
from lrviz.errors import SpecError

if TYPE_CHECKING:
    from lrviz.spec import Spec

SPEC_SUFFIXES = (".yaml", ".yml")


def _training_help(key: keys.Key) -> str:
    """A training flag's help: its key's, in the flag's words."""
    text = key.help.rstrip(".")
    return text[0].lower() + text[1:] + f" (training.{key.name})"


@dataclass(frozen=True)
class RunFlag:
    """A flag every scheduler shares."""

    flag: str
    dest: str
    help: str
    metavar: str = ""  # empty for switches
    short: str = ""


RUN_FLAGS: tuple[RunFlag, ...] = (
    RunFlag("--steps", "steps", "training steps to simulate, rows of output "
            "(default: long enough to show the whole schedule)", "N"),
    RunFlag("--epochs", "epochs", "instead of --steps: simulate N epochs of "
            "--steps-per-epoch steps (the spec's `epochs:`; OneCycleLR's own epochs too); "
            "with --framework, training.epochs", "N"),
    RunFlag("--max-steps", "max_steps", "the run's length in optimizer steps, as in every "
            "trainer (training.max_steps; without --framework the same as --steps)", "N"),
    RunFlag("--steps-per-epoch", "steps_per_epoch", "training steps in one epoch (default 1)",
            "N"),
    RunFlag("--interval", "interval", "when scheduler.step() runs: every `step` or every "
            "`epoch`", "step|epoch"),
    RunFlag("--lr", "lr", "the optimizer's initial lr (default 0.1); a comma list makes "
            "one param group per value", "LR[,LR...]"),
    RunFlag("--optimizer", "optimizer", "torch.optim optimizer (default SGD)", "NAME"),
    RunFlag("--momentum", "momentum", "optimizer momentum, or beta1 for Adam-like optimizers "
            "(default 0.9 for SGD)", "M"),
    RunFlag("--warmup", "warmup", "linear warmup over the first N scheduler steps "
            "(0: none)", "N"),
    RunFlag("--warmup-start-factor", "warmup_start_factor", "lr factor the warmup starts "
            "from (default 0.01)", "F"),
    RunFlag("--metric", "metric", "ReduceLROnPlateau: synthetic metric (plateau-loss, "
            "staircase, constant, accuracy; default plateau-loss)", "NAME"),
    RunFlag("--metric-param", "metric_param", "a parameter of the synthetic metric "
            "(noise=0.02, start=1, ...); repeatable", "KEY=VALUE"),
    RunFlag("--seed", "seed", "seed of the synthetic metric's noise (default 0)", "N"),
    RunFlag("--metric-file", "metric_file", "ReduceLROnPlateau: CSV file of logged metric "
            "values", "PATH"),
    RunFlag("--metric-column", "metric_column", "ReduceLROnPlateau: the column of "
            "--metric-file to feed", "COLUMN"),
    RunFlag("--metric-from", "metric_from", "ReduceLROnPlateau: feed the scalar a logged "
            "run holds under TAG (default: eval_loss, val_loss or loss)", "RUN[:TAG]"),
    RunFlag("--name", "name", "name of the run (default: scheduler alias or file name)", "NAME"),
    RunFlag("--title", "title", "title of the run, shown on its figure", "TEXT"),
    RunFlag("--limit-steps", "limit_steps", "refuse runs longer than this (default 50000000)",
            "N"),
    RunFlag("--allow-import", "allow_import", "let a `package.module:ClassName` scheduler "
            "import and run that module"),
    RunFlag("--from", "from_", "read the spec file as this format: "
            f"{', '.join(readers.names())}; default: told by its content", "NAME"),
    RunFlag("--allow-path", "allow_path", "a folder the spec may name files in, besides its "
            "own and the current folder; repeatable", "DIR"),
    *(RunFlag(f"--{k.name.replace('_', '-')}", f"training.{k.name}", _training_help(k),
              keys.flag_metavar(k))
      for k in keys.training_flags() if k.name not in ("epochs", "max_steps")),
    RunFlag("--resume-at", "training.resume.at", "simulate saving at optimizer step K and "
            "going on in a fresh process (training.resume.at)", "K"),
    RunFlag("--restore", "training.resume.restore", "what the resumed process loads: "
            f"{', '.join(keys.RESTORES)} (training.resume.restore; default full)", "WHAT"),
    RunFlag("--debug", "debug", "show the Python traceback of an error"),
    RunFlag("--help", "help", "show this message and exit", short="-h"),
)
# Options of the commands that draw a figure (``plot``); ``table`` and ``code`` refuse them.
FIGURE_FLAGS: tuple[RunFlag, ...] = (
    RunFlag("--log-y", "log_y", "logarithmic lr axis (default: when a linear one would "
            "flatten much of the run)"),
    RunFlag("--linear-y", "linear_y", "linear lr axis, never logarithmic"),
    RunFlag("--size", "size", "figure size in inches (default 8x3.2, taller with panels)",
            "WxH"),
    RunFlag("--dpi", "dpi", "resolution of PNG files (default 150)", "N"),
    RunFlag("--terminal", "terminal", "also draw the curve in the terminal"),
    RunFlag("--x", "x", "the x axis: step, epoch, samples or tokens (the last two with "
            "--framework and a dataset)", "AXIS"),
)
# The formats ``table`` writes: the rows it shows. Figures come from ``plot``.
TABLE_SUFFIXES = (".md", ".csv", ".json")
# ``-o`` of each command: what it writes differs, so does its help.
OUTPUT_FLAGS: dict[str, RunFlag] = {
    "plot": RunFlag("--output", "output", "file to write; format by suffix: .png .svg .pdf "
                    ".csv .json .md; repeatable (default: NAME.png)", "PATH", short="-o"),
    "table": RunFlag("--output", "output", "file to write the rows shown; format by suffix: "
                     ".md .csv (.json: every row); repeatable", "PATH", short="-o"),
    "code": RunFlag("--output", "output", "write the Python to this .py file instead of "
                    "printing it", "FILE.py", short="-o"),
}
# Flags of one command only, kept in Invocation.options.
TABLE_FLAGS: tuple[RunFlag, ...] = (
    RunFlag("--every", "every", "show every K-th row (and the last)", "K"),
    RunFlag("--all", "all", "show every row"),
)
COMMANDS = tuple(OUTPUT_FLAGS)  # the commands whose flags are parsed here


def command_flags(command: str) -> tuple[RunFlag, ...]:
    """The options ``command`` takes besides the run flags and its own ``extra``."""
    own = (OUTPUT_FLAGS[command],)
    return own + FIGURE_FLAGS if command == "plot" else own


def _by_flag(flags: tuple[RunFlag, ...]) -> dict[str, RunFlag]:
    return {f.flag: f for f in flags} | {f.short: f for f in flags if f.short}


_RUN_BY_FLAG = _by_flag(RUN_FLAGS + FIGURE_FLAGS + (OUTPUT_FLAGS["plot"],))


@dataclass
class Invocation:
    """What the command line asked for."""

    target: str | None = None  # scheduler name or spec path
    scheduler: catalog.Scheduler | None = None  # the scheduler whose flags apply
    file_raw: dict[str, Any] | None = None  # the spec file's contents, when target is a file
    overlay: dict[str, Any] = field(default_factory=dict)  # raw spec keys set by flags
    locations: dict[str, str] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)
    allow_paths: list[Path] = field(default_factory=list)  # --allow-path
    from_: str | None = None  # --from: the reader of the spec file (lrviz.readers)
    debug: bool = False
    allow_import: bool = False
    help: bool = False
    terminal: bool = False
    limit_steps: int | None = None
    options: dict[str, str | bool] = field(default_factory=dict)  # command-specific flags

    @property
    def is_file(self) -> bool:
        return self.file_raw is not None

    def spec(self) -> Spec:
        """The spec this command line describes: a file with flags on top, or flags alone."""
        from lrviz.build import build_file_spec, build_spec
        from lrviz.spec import merge

        options: dict[str, Any] = {"locations": self.locations,
                                   "allow_import": self.allow_import,
                                   "allow_paths": tuple(self.allow_paths)}
        if self.limit_steps is not None:
            options["max_steps"] = self.limit_steps
        if self.file_raw is not None and self.target is not None:
            return build_file_spec(merge(self.file_raw, self.overlay), self.target, **options)
        return build_spec(self.overlay, base_dir=Path.cwd(), **options)


def is_spec_path(target: str) -> bool:
    return target.lower().endswith(SPEC_SUFFIXES) or os.sep in target or os.path.exists(target)


def scheduler_flags(sched: catalog.Scheduler) -> dict[str, catalog.Param]:
    """Each flag spelling (kebab-case and torch's own) of the scheduler's parameters.

    A parameter whose flag is also a run flag (OneCycleLR's ``--steps-per-epoch``) is
    reached through the run flag, which sets both.
    """
    out: dict[str, catalog.Param] = {}
    for p in sched.params:
        if p.kind == catalog.SCHEDULERS:
            continue
        for spelling in (p.flag, f"--{p.name}"):
            if spelling not in _RUN_BY_FLAG:
                out[spelling] = p
    return out


def parse(tokens: list[str], extra: tuple[RunFlag, ...] = (), command: str = "plot") -> Invocation:
    """Parse ``[TARGET] [--flag VALUE]...`` into an :class:`Invocation`.

    ``command`` is the command whose options apply (:func:`command_flags`): a flag of
    another command (``--dpi`` on ``table``) is refused by name. ``extra`` are the
    command's own flags; their values land in ``Invocation.options``.
    """
    inv = Invocation()
    own = command_flags(command) + extra
    known = _by_flag(RUN_FLAGS + own)
    _refuse_others(tokens, known, command)
    pairs = _split(tokens, inv, known)
    allowed: list[Path] = []
    for flag, value in pairs:  # the file is read with these, before the other flags apply
        if flag in known and known[flag].dest == "from_":
            inv.from_ = value
        if flag == "--allow-path" and value is not None:
            allowed.append(Path(value))  # a config's _base_ files may be there
    if inv.target is None:
        if pairs and not inv.help:
            raise SpecError("give a scheduler name (see `lrviz list`) or a YAML spec first",
                            pairs[0][0])
        return inv
    if is_spec_path(inv.target):
        inv.file_raw, file_locations = readers.read(inv.target, from_=inv.from_,
                                                    allow_paths=tuple(allowed))
        inv.locations.update(file_locations)
        sched_raw = inv.file_raw.get("scheduler")
        kind = sched_raw.get("type") if isinstance(sched_raw, dict) else None
        if isinstance(kind, str) and (catalog.find(kind) or inv.allow_import):
            inv.scheduler = catalog.lookup(kind, inv.target, inv.allow_import)
    else:
        if inv.from_ is not None:
            raise SpecError(f"names the format of a spec file; {inv.target!r} is a scheduler "
                            "name", "--from")
        inv.scheduler = catalog.lookup(inv.target, inv.target, inv.allow_import)
    if inv.help:
        return inv
    params = scheduler_flags(inv.scheduler) if inv.scheduler else {}
    sched_overlay: dict[str, Any] = {}
    for flag, value in pairs:
        if flag in params:
            param = params[flag]
            key = f"scheduler.{param.name}"
            if param.kind == catalog.EXPR and param.per_group and param.name in sched_overlay:
                previous = sched_overlay[param.name]
                sched_overlay[param.name] = [
                    *(previous if isinstance(previous, list) else [previous]), value
                ]
            else:
                sched_overlay[param.name] = value
            inv.locations[key] = flag
            continue
        run = known.get(flag)
        if run is None:
            spellings = [f.flag for f in RUN_FLAGS + own] + list(params)
            owner = f" for {inv.scheduler.name}" if inv.scheduler else ""
            raise SpecError(f"unknown option{owner}{catalog.suggest(flag, spellings)}; "
                            f"`lrviz {command} {inv.target} --help` lists them", flag)
        if run in extra:
            inv.options[run.dest] = value
        else:
            _apply_run_flag(inv, run, flag, value, sched_overlay, command)
    _place_lengths(inv)
    if not inv.is_file and inv.scheduler is not None:
        sched_overlay["type"] = inv.scheduler.name
        for p in inv.scheduler.params:  # name missing required parameters by their flag
            spelled = inv.target if p.kind == catalog.SCHEDULERS else p.flag
            inv.locations.setdefault(f"scheduler.{p.name}", spelled)
    if sched_overlay:
        inv.overlay["scheduler"] = {**inv.overlay.get("scheduler", {}), **sched_overlay}
    return inv


def _place_lengths(inv: Invocation) -> None:
    """``--epochs`` and ``--max-steps`` are the plain loop's run length, or the training
    section's under a framework (a ``--framework`` flag or the file's ``training:``)."""
    overlay, where = inv.overlay, inv.locations
    file_training = (inv.file_raw or {}).get("training")
    framework = overlay.get("training", {}).get("framework") or (
        file_training.get("framework") if isinstance(file_training, dict) else None)
    if framework not in (None, "plain"):
        for key in ("epochs", "max_steps"):
            if key in overlay:
                overlay["training"] = {**overlay.get("training", {}), key: overlay.pop(key)}
                where[f"training.{key}"] = where.pop(key)
        if "steps" in overlay:
            raise SpecError("under a framework the run's length is --epochs or --max-steps "
                            "(optimizer steps)", where["steps"])
        return
    if "max_steps" in overlay:
        if "steps" in overlay:
            raise SpecError("give the run's length as --steps or as --max-steps, not both",
                            where["max_steps"])
        overlay["steps"] = overlay.pop("max_steps")
        where["steps"] = where.pop("max_steps")
    if "epochs" in overlay and "steps" in overlay:
        raise SpecError("give the run's length as --steps or as --epochs, not both",
                        where["epochs"])
    if "epochs" in overlay:  # the flag beats the file's `steps:`, which beats `epochs:`
        overlay["steps"] = None


def _refuse_others(tokens: list[str], known: dict[str, RunFlag], command: str) -> None:
    """Refuse, by name, an option of another command (``--dpi`` on ``table``).

    It would be accepted and ignored otherwise; its help is left out of this command's
    too. Only tokens in option position are looked at (not a value such as ``--title -o``).
    """
    figure = _by_flag(FIGURE_FLAGS)
    previous: RunFlag | None = None
    for token in tokens:
        if previous is not None and previous.metavar and "=" not in token:
            previous = None  # this token is the previous option's value
            continue
        flag, eq, _ = token.partition("=")
        previous = None if eq else known.get(flag)
        if flag not in known and flag in figure:
            raise SpecError(f"`lrviz {command}` draws no figure, so it takes no {flag}; "
                            "`lrviz plot` does", flag)


def _split(
    tokens: list[str], inv: Invocation, known: dict[str, RunFlag]
) -> list[tuple[str, str]]:
    """(flag, value) pairs; switches are handled here, the target is picked out."""
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not token.startswith("-") or token == "-" or _is_number(token):
            if inv.target is None:
                inv.target = token
                continue
            raise SpecError(f"unexpected argument {token!r}; options take the form --name VALUE",
                            token)
        flag, eq, value = token.partition("=")
        run = known.get(flag)
        if run is not None and not run.metavar:
            if eq:
                raise SpecError("takes no value", flag)
            if hasattr(inv, run.dest):
                setattr(inv, run.dest, True)
            else:
                pairs.append((flag, "true"))
            continue
        if not eq:
            if i >= len(tokens):
                raise SpecError("expected a value after it", flag)
            value = tokens[i]
            if value.startswith("-") and not _is_number(value):
                raise SpecError(f"expected a value after it, got the option {value}", flag)
            i += 1
        pairs.append((flag, value))
    return pairs


def _apply_run_flag(
    inv: Invocation,
    run: RunFlag,
    flag: str,
    value: str,
    sched_overlay: dict[str, Any],
    command: str = "plot",
) -> None:
    overlay, where = inv.overlay, inv.locations
    dest = run.dest
    if dest == "output":
        path = Path(value)
        if command == "table" and path.suffix.lower() not in TABLE_SUFFIXES:
            raise SpecError(f"`lrviz table` writes {' '.join(TABLE_SUFFIXES)}, got "
                            f"{path.suffix or '(no suffix)'!r}; figures come from `lrviz plot`",
                            f"{flag} {value}")
        inv.outputs.append(path)
    elif dest == "allow_path":
        inv.allow_paths.append(Path(value))
    elif dest == "from_":
        pass  # read by parse() before the file
    elif dest == "limit_steps":
        try:
            inv.limit_steps = int(value)
        except ValueError:
            raise SpecError(f"expected an integer, got {value!r}", flag) from None
    elif dest.startswith("training.resume."):
        resume = overlay.setdefault("training", {}).setdefault("resume", {})
        resume[dest.rpartition(".")[2]] = value
        where[dest] = flag
    elif dest.startswith("training."):
        key = dest.partition(".")[2]
        overlay.setdefault("training", {})[key] = value
        where[dest] = flag
    elif dest in ("steps", "epochs", "max_steps", "steps_per_epoch", "name", "title"):
        overlay[dest] = value
        where[dest] = flag
        if inv.scheduler is not None and dest in inv.scheduler.param_names:
            sched_overlay[dest] = value  # OneCycleLR's own epochs and steps_per_epoch
            where[f"scheduler.{dest}"] = flag
    elif dest == "x":
        overlay.setdefault("plot", {})["x"] = value
        where["plot.x"] = flag
    elif dest in ("log_y", "linear_y", "size", "dpi"):
        plot = overlay.setdefault("plot", {})
        key = "log_y" if dest.endswith("_y") else dest
        if key == "log_y" and plot.get(key, dest != "linear_y") != (dest != "linear_y"):
            raise SpecError("choose one of --log-y and --linear-y, not both", flag)
        plot[key] = dest != "linear_y" if key == "log_y" else value
        where[f"plot.{key}"] = flag
    elif dest == "interval":
        sched_overlay["interval"] = value
        where["scheduler.interval"] = flag
    elif dest in ("optimizer", "momentum", "lr"):
        opt = overlay.setdefault("optimizer", {})
        key = "type" if dest == "optimizer" else dest
        if dest == "lr" and "," in value:
            opt["param_groups"] = [{"lr": v} for v in value.split(",")]
            where["optimizer.param_groups"] = flag
            for i in range(len(opt["param_groups"])):
                where[f"optimizer.param_groups[{i}].lr"] = flag
        else:
            opt[key] = value
            where[f"optimizer.{key}"] = flag
    elif dest in ("metric_file", "metric_column"):
        metric = overlay.setdefault("metric", {})
        key = dest.split("_")[1]
        metric[key] = os.path.abspath(value) if key == "file" else value
        where[f"metric.{key}"] = flag
    elif dest == "metric_from":
        run_path, tag = _run_and_tag(value)
        metric = overlay.setdefault("metric", {})
        metric["run"] = os.path.abspath(run_path)
        where["metric.run"] = flag
        if tag is not None:
            metric["tag"] = tag
            where["metric.tag"] = flag
    elif dest in ("metric", "seed"):
        key = "generator" if dest == "metric" else "seed"
        overlay.setdefault("metric", {})[key] = value
        where[f"metric.{key}"] = flag
    elif dest == "metric_param":
        name, eq, number = value.partition("=")
        if not eq or not name.strip():
            raise SpecError(f"expected KEY=VALUE, got {value!r}", flag)
        overlay.setdefault("metric", {})[name.strip()] = number
        where[f"metric.{name.strip()}"] = f"{flag} {name.strip()}"
    elif dest in ("warmup", "warmup_start_factor"):
        key = "steps" if dest == "warmup" else "start_factor"
        overlay.setdefault("warmup", {})[key] = value
        where[f"warmup.{key}"] = flag


def _run_and_tag(value: str) -> tuple[str, str | None]:
    """``RUN[:TAG]``: the longest part before a colon that exists is the run (a folder with
    a colon in its name, a Windows drive), the rest the tag (MLflow's ``RUN_ID:val_loss``
    keeps its colon); when no part exists, the text after the last colon is the tag."""
    if os.path.exists(value):
        return value, None
    cuts = [i for i, c in enumerate(value) if c == ":" and i > 0]
    found = [i for i in cuts if os.path.exists(value[:i])]
    cut = found[-1] if found else (cuts[-1] if cuts else None)
    if cut is None:
        return value, None
    return value[:cut], value[cut + 1:] or None


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def complete(
    tokens: list[str], incomplete: str, extra: tuple[RunFlag, ...] = (), command: str = "plot"
) -> list[str]:
    """Shell completion for ``plot``-shaped commands: what may follow ``tokens``.

    Scheduler names and spec files first; then the flags of that scheduler; after a flag
    that takes a fixed set of words, those words. Never raises and never imports torch.
    """
    extra = command_flags(command) + extra
    known = _by_flag(RUN_FLAGS + extra)
    target = next((t for i, t in enumerate(tokens) if not t.startswith("-")
                   and (i == 0 or tokens[i - 1] not in known or not known[tokens[i - 1]].metavar)),
                  None)
    sched = _completion_scheduler(target)
    params = scheduler_flags(sched) if sched else {}
    if incomplete.startswith("-"):
        flags = [f.flag for f in RUN_FLAGS + extra] + [p.flag for p in params.values()]
        return sorted({f for f in flags if f.startswith(incomplete)})
    previous = tokens[-1] if tokens else ""
    if previous in params and params[previous].kind == catalog.CHOICE:
        return [c for c in params[previous].choices if c.startswith(incomplete)]
    if previous == "--interval":
        return [c for c in ("step", "epoch") if c.startswith(incomplete)]
    if previous in ("--framework", "--x"):
        words = keys.key("training", "framework").choices if previous == "--framework" \
            else keys.key("plot", "x").choices
        return [c for c in words if c.startswith(incomplete)]
    if previous == "--from":
        return [n for n in readers.names() if n.startswith(incomplete)]
    if previous == "--metric":
        from lrviz.metrics import GENERATORS

        return [g for g in GENERATORS if g.startswith(incomplete)]
    if target is not None:
        return []
    names = [n for n in catalog.all_names() if n.startswith(incomplete.lower())]
    folder, _, stem = incomplete.rpartition(os.sep)
    try:
        entries = sorted(Path(folder or ".").iterdir())
    except OSError:
        entries = []
    files = [os.path.join(folder, p.name) if folder else p.name for p in entries
             if p.name.startswith(stem) and not p.name.startswith(".")
             and (p.is_dir() or p.suffix.lower() in SPEC_SUFFIXES)]
    return names + [f + os.sep if os.path.isdir(f) else f for f in files]


def _completion_scheduler(target: str | None) -> catalog.Scheduler | None:
    """The scheduler a (partial) command line names, if it can be told without risk."""
    if target is None:
        return None
    if not is_spec_path(target):
        return catalog.find(target)
    try:
        kind = readers.read(target)[0].get("scheduler", {}).get("type")
    except (SpecError, AttributeError):
        return None
    return catalog.find(kind) if isinstance(kind, str) else None
