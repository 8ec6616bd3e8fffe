"""A raw spec in, one validated spec out: every key checked, every default filled.

Both front doors (readers for files, :mod:`lrviz.flags` for command lines) produce a plain
mapping and hand it to :func:`build_spec`, which checks every key against the catalog and
the spec's key table, converts values to their types, fills in the defaults lrviz chooses
(run length, ``T_max``, ``total_steps``) and records in ``Spec.notes`` what it chose.
Nothing here imports torch: the optimizer's own keywords are checked by the engine,
which has torch at hand.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lrviz import catalog, inputs, keys, loop, warmups
from lrviz.catalog import SCHEDULERS
from lrviz.checker import (
    Checker,
    join_key,
    num_text,
    plain_data,
    show_value,
)
from lrviz.errors import SpecError
from lrviz.metric_source import metric_spec, with_values
from lrviz.readers.common import assumptions
from lrviz.spec import (
    _CONTROL,
    _DEFAULT_DPI,
    _LARGEST_DEFAULT_SIZE,
    DEFAULT_OPTIMIZER,
    INTERVALS,
    MAX_GROUPS,
    MAX_NAME,
    MAX_PIXELS,
    MAX_STEPS,
    MAX_TITLE,
    PLOT_KEYS,
    TOP_KEYS,
    TRAINING_KEYS,
    WARMUP_KEYS,
    MetricSpec,
    OptimizerSpec,
    PlotOptions,
    ResumeSpec,
    SchedulerSpec,
    Spec,
    WarmupSpec,
)


def build_file_spec(raw: dict[str, Any], path: str | Path, **kwargs: Any) -> Spec:
    """:func:`build_spec` for the contents of a spec file: named after it by default,
    with messages naming it and metric files found beside it."""
    path = Path(path)
    return build_spec({"name": path.stem, **raw}, source=str(path), base_dir=path.parent,
                      **kwargs)


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
    check = Checker(source, dict(locations or {}), allow_import,
                     tuple(Path(p) for p in allow_paths))
    raw = plain_data(check, raw)
    check.mapping(raw, "", TOP_KEYS)
    # what a config file left out and its reader assumed, one note each (a flag that
    # gives the value took its location, and its note)
    notes: list[str] = [f"assumed {note}" for note in assumptions(check.locations, raw)]

    if "scheduler" not in raw:
        raise SpecError("missing the `scheduler:` key (the scheduler to simulate)", source)
    sched_raw = check.mapping(raw["scheduler"], "scheduler", None)
    interval = sched_raw.get("interval")
    if interval is not None and interval not in INTERVALS:
        raise check.fail(
            "scheduler.interval",
            f"expected one of {', '.join(INTERVALS)}, got {show_value(interval)}"
        )
    training, resume = _training(check, raw)
    if training is not None and training["framework"] == "plain" and not (
            {"epochs", "max_steps"} & set(training)):
        # the plain loop, its length from the top level: a loop value given there (a
        # --dataset-size for a LightningCLI config) would be ignored, so it is refused
        unused = next((k for k in training if k != "framework"), None)
        if unused is not None:
            raise check.fail(f"training.{unused}", "expected no value: this spec runs the "
                             "plain loop, whose rows are steps, not samples; "
                             "--steps-per-epoch N sets an epoch's length")
        training = None
    steps_per_epoch = 1
    if raw.get("steps_per_epoch") is not None:
        steps_per_epoch = check.keyed("", "steps_per_epoch", raw["steps_per_epoch"])
    if interval == "epoch" and steps_per_epoch == 1 and training is None:
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
        metric = metric_spec(check, raw.get("metric"), base_dir, scheduler, notes)
    for child in scheduler.children:
        for nested in child.walk():
            if nested.info.takes_metric:
                raise check.fail(
                    nested.path,
                    f"{nested.type} cannot be nested in {scheduler.type} "
                    "(torch steps it without a metric)",
                )

    limit = max_steps * 3 // (groups + 2)  # rows: see _too_long
    if training is not None:
        try:
            plan = _plan(check, training, interval, steps_per_epoch, limit)
        except loop.TooLong as exc:
            raise _too_long(check, exc.rows, groups, max_steps, "training") from None
        interval = plan.interval
        notes.extend(plan.notes)
    else:
        interval = interval or "step"
        if raw.get("steps") is not None:
            steps = check.keyed("", "steps", raw["steps"])
        elif raw.get("epochs") is not None:
            steps = check.keyed("", "epochs", raw["epochs"]) * steps_per_epoch
        else:
            length = _natural_length(scheduler, metric) + (warmup.steps if warmup else 0)
            steps = length * steps_per_epoch if interval == "epoch" else length
            notes.append(f"steps not given: simulating {steps} steps to show the whole schedule")
        plan = loop.plan(loop.Loop(max_steps=steps, steps_per_epoch=steps_per_epoch,
                                   interval=interval))
    steps = plan.rows
    if resume is not None and resume.at >= steps:
        raise check.fail("training.resume.at", f"expected a row of the run, from 1 to "
                         f"{steps - 1}, got {resume.at}")
    if steps > limit:
        raise _too_long(check, steps, groups, max_steps, "steps")

    sched_steps = plan.scheduler_steps
    if plan.stops_at_total_steps and "total_steps" in scheduler.info.param_names \
            and sched_steps > _natural_length(scheduler, metric):
        notes.append(f"{loop.RULES[plan.framework].title} does not step {scheduler.type} past "
                     "its total_steps: the lr then stays where it is")
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
    scheduler = _fill_epoch_length(check, scheduler, plan.batches_per_epoch)
    if (training is None and plan.batches_per_epoch == 1
            and any(n.info.epoch_length_param for n in scheduler.walk())):
        notes.append(f"{scheduler.type} counts epochs and an epoch is 1 step "
                     "(steps_per_epoch, --steps-per-epoch, sets the epoch's length)")
    scheduler = warmups.fill_ratios(check, scheduler, notes, training)
    fed_steps = plan.metric_feeds(plateau_warmup.steps if plateau_warmup else 0)
    if metric is not None:
        metric = with_values(metric, fed_steps)
    if metric is not None and len(metric.values) < fed_steps:
        per = "scheduler step" if plan.plain else "row that steps the scheduler"
        raise check.fail(
            "metric.run" if "run" in metric.source else "metric",  # --metric-from's own name
            f"expected at least {fed_steps} metric values (one per {per}"
            f"{' after the warmup' if plateau_warmup else ''}), got {len(metric.values)}",
        )

    name = raw.get("name")
    if name is None:
        name = alias
    name = _name(check, name)
    title = raw.get("title")
    if isinstance(title, (list, dict)):
        raise check.fail("title", f"expected a line of text, got {show_value(title)}")
    if title is not None and not isinstance(title, str):
        title = str(title)
    if title is not None and (len(title) > MAX_TITLE or _CONTROL.search(title)):
        raise check.fail("title", f"expected one line of at most {MAX_TITLE} characters, got "
                         f"{len(title)} characters" if len(title) > MAX_TITLE else
                         f"expected one line of text, got {show_value(title)}")
    return Spec(
        plot=_plot_options(check, raw.get("plot"), plan),
        name=name,
        title=title,
        plan=plan,
        interval=interval,
        optimizer=optimizer,
        scheduler=scheduler,
        metric=metric,
        source=source,
        locations=check.locations,
        notes=tuple(notes),
        warmup=plateau_warmup,
        warmup_steps=warmup.steps if warmup else 0,
        training=training,
        resume=resume,
    )


def _training(check: Checker, raw: dict[str, Any]
              ) -> tuple[dict[str, Any] | None, ResumeSpec | None]:
    """The ``training:`` section, each value checked by the key table (None without it),
    and its ``resume:``, which any loop takes, the plain one too.

    Under a framework the run's length is the section's (``epochs``, ``max_steps``), so
    the top level's ``steps``, ``epochs`` and ``steps_per_epoch`` are refused beside it.
    """
    section = raw.get("training")
    if section is None:
        return None, None
    section = check.mapping(section, "training", TRAINING_KEYS)
    out: dict[str, Any] = {}
    resume = None
    for name, value in section.items():
        if name == "resume":
            resume = _resume(check, value)
        elif value is not None:
            out[name] = check.keyed("training", name, value)
    framework = out.setdefault("framework", "plain")
    for top in ("steps", "epochs", "steps_per_epoch"):
        if raw.get(top) is not None and (framework != "plain" or (
                top != "steps_per_epoch" and {"epochs", "max_steps"} & set(out))):
            instead = ("training.epochs or training.max_steps" if top != "steps_per_epoch"
                       else "training.dataset_size or training.batches_per_epoch")
            raise check.fail(top, f"expected no value beside training: (framework "
                                  f"{framework}); the run's length is set by {instead}")
    return out, resume


def _resume(check: Checker, value: Any) -> ResumeSpec | None:
    """``training.resume``: where the run is saved and what the fresh process loads."""
    if value is None:
        return None
    section = check.mapping(value, "training.resume", keys.names(keys.RESUME))
    for key in keys.RESUME:
        if key.required and section.get(key.name) is None:
            raise check.fail(f"training.resume.{key.name}", f"missing; {key.help}")
    restore = section.get("restore")
    return ResumeSpec(
        at=int(check.keyed("training.resume", "at", section["at"])),
        restore=(check.keyed("training.resume", "restore", restore) if restore is not None
                 else str(keys.key("training.resume", "restore").default)))


def _too_long(check: Checker, rows: float, groups: int, max_steps: int,
              where: str) -> SpecError:
    """The refusal of a run over the cap. The cap counts one param group's lr, momentum
    and metric per step; more groups use it up sooner."""
    several = f" of {groups} param groups" if groups > 1 else ""
    if rows >= 1e15:  # epochs: 1e308 is a number, and its rows may be inf
        need = f"over 10^15 steps{several} would need over 1000 TB"
    else:
        need = (f"{math.ceil(rows)} steps{several} would need about "
                f"{inputs.size_text(math.ceil(rows) * 8 * (2 * groups + 1))}")
    return check.fail(where, f"{need} of memory; the cap is {max_steps} steps of one group "
                      "(raise it with --limit-steps)")


def _plan(check: Checker, training: dict[str, Any], interval: str | None,
          steps_per_epoch: int, limit: int) -> loop.Plan:
    """The loop of a ``training:`` section; its errors name the user's keys."""
    given = {k: v for k, v in training.items() if k != "framework"}
    if training["framework"] == "plain":
        given["steps_per_epoch"] = steps_per_epoch
    try:
        return loop.plan(loop.Loop(framework=training["framework"], interval=interval,
                                   limit=limit, **given))
    except loop.TooLong:
        raise
    except SpecError as exc:
        path = exc.where or "training"
        if path == "training.interval":
            path = "scheduler.interval"
        raise check.fail(path, exc.message) from None


def _name(check: Checker, name: Any) -> str:
    """A run's name becomes a file name (``NAME.png``, gallery images) and a column."""
    if not isinstance(name, str) or not name.strip():
        raise check.fail("name", f"expected a plain name, got {show_value(name)}")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise check.fail("name", f"expected at most {MAX_NAME} characters, got {len(name)}")
    if "/" in name or "\\" in name or _CONTROL.search(name) or name.startswith((".", "-")):
        raise check.fail("name", "expected a plain name (no slashes or control characters, "
                         f"not starting with . or -), got {show_value(name)}")
    return name


def _warmup(check: Checker, value: Any) -> WarmupSpec | None:
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


def _with_warmup(check: Checker, main: SchedulerSpec, warmup: WarmupSpec) -> SchedulerSpec:
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


def _plot_options(check: Checker, value: Any, plan: loop.Plan) -> PlotOptions:
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
                "plot.size", f"expected WIDTHxHEIGHT in inches (8x4), got {show_value(size)}"
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
    x = value.get("x")
    if x is not None:
        x = check.keyed("plot", "x", x)
        if x not in plan.axes():
            need = ("a training: section with a framework that counts samples" if x == "samples"
                    else "training.tokens_per_sample")
            raise check.fail("plot.x", f"expected one of {', '.join(plan.axes())}; a {x} "
                                       f"axis needs {need}")
    return PlotOptions(log_y, size, dpi, x)


def _optimizer(check: Checker, value: Any) -> OptimizerSpec:
    if value is None:
        return OptimizerSpec(DEFAULT_OPTIMIZER["type"], {"lr": 0.1, "momentum": 0.9})
    check.mapping(value, "optimizer", None)
    kind = value.get("type", "SGD")
    if not isinstance(kind, str) or not kind.strip():
        raise check.fail("optimizer.type",
                         f"expected a torch.optim class name, got {show_value(kind)}")
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
            return num_text(float(v)) if not isinstance(v, bool) else str(v)
        except (TypeError, ValueError):
            return show_value(v)

    groups = [f"{{lr: {shown(v)}}}" for v in lrs[:3]]
    more = ", ..." if len(lrs) > 3 else ""
    return (f"expected one number, got a list of {len(lrs)}; one lr per param group goes in "
            f"optimizer.param_groups: `param_groups: [{', '.join(groups)}{more}]`")


def _optimizer_value(check: Checker, value: Any, path: str) -> Any:
    """Optimizer keywords are checked against torch by the engine; here: numbers are numbers
    (and a learning rate is not negative)."""
    if path.endswith(".lr") or path == "optimizer.lr":
        lr = check.number(value, path)
        if lr < 0:
            raise check.fail(path, f"expected a learning rate >= 0, got {num_text(lr)}")
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
    raise check.fail(path, f"expected a number, a flag or a list, got {show_value(value)}")


def _scheduler(
    check: Checker, raw: dict[str, Any], path: str, groups: int, top: bool = False
) -> SchedulerSpec:
    if "type" not in raw:
        raise check.fail(path, "missing `type:` (a scheduler name such as CyclicLR or cosine)")
    kind = raw["type"]
    if not isinstance(kind, str):
        raise check.fail(f"{path}.type", f"expected a scheduler name, got {show_value(kind)}")
    info = catalog.lookup(kind, check.where(f"{path}.type"), check.allow_import)
    allowed = ("type", *(("interval",) if top else ()), *info.param_names)
    params: dict[str, Any] = {}
    children: list[SchedulerSpec] = []
    for key, value in raw.items():
        if key == "type":
            continue
        if key not in info.param_names:
            raise check.unknown(join_key(path, key), key, allowed)
        param = info.param(key)
        key_path = join_key(path, key)
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
            join_key(path, "schedulers"),
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
                join_key(path, param.name), f"{info.name} requires {param.name}: {param.help}"
            )
    _check_relations(check, info, params, path, len(children))
    return SchedulerSpec(info, params, tuple(children), path)


def _check_relations(
    check: Checker, info: catalog.Scheduler, params: dict[str, Any], path: str, children: int
) -> None:
    """Rules between parameters that torch accepts but no training run wants, or rejects
    late: each scheduler's record knows its own (``Scheduler.relations``)."""
    for key, message in info.relations(params, children):
        raise check.fail(join_key(path, key), message)


def _natural_length(sched: SchedulerSpec, metric: MetricSpec | None) -> int:
    """Scheduler steps that show the schedule's whole shape (the scheduler's own rule)."""
    return sched.info.natural_length(sched, len(metric.values) if metric else 0)


def _fill_lengths(
    check: Checker, sched: SchedulerSpec, available: int, notes: list[str]
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
                join_key(sched.path, key),
                f"not given, and the run has no scheduler steps to take it from; set {key}",
            )
        params[key] = available
        notes.append(f"{join_key(sched.path, key)} not given: using {available}, "
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


def _fill_epoch_length(check: Checker, sched: SchedulerSpec, epoch: int) -> SchedulerSpec:
    """Give a scheduler's ``epoch_length_param`` the loop's iterations per epoch.

    The epoch's length is the loop's (``Plan.batches_per_epoch``), not the run's length
    over its epochs: ``--max-steps`` cuts the run, not the epoch. A value the spec gives
    must be that one.
    """
    params = dict(sched.params)
    key = sched.info.epoch_length_param
    if key is not None:
        given = params.get(key)
        if given is not None and given != epoch:
            raise check.fail(join_key(sched.path, key),
                             f"expected the loop's {epoch} iterations per epoch, got {given}; "
                             "lrviz fills it from the training loop, so leave it out")
        params[key] = epoch
    children = tuple(_fill_epoch_length(check, c, epoch) for c in sched.children)
    return SchedulerSpec(sched.info, params, children, sched.path)
