"""LightningCLI configs, read as lrviz specs.

A config written by ``fit --print_config`` names the optimizer and the scheduler as
``class_path`` / ``init_args`` pairs, beside ``trainer``, ``model``, ``data`` and more.
:func:`read` maps the two it needs onto the spec format of README "The YAML spec" and
ignores the rest, except for the run length:

- ``trainer.max_steps`` (when > 0) is the number of steps; else ``trainer.max_epochs``
  (when > 0) is the number of epochs;
- LightningCLI returns the scheduler without an ``interval``, so Lightning steps it
  once per epoch: the spec gets ``interval: epoch``. How many training steps an epoch
  has depends on the dataset, which the config does not say: ``--steps-per-epoch``
  gives it (default 1, every row an epoch), ``--interval step`` undoes the epoch
  stepping for a module whose own ``configure_optimizers`` asks for it.

Each key of the result remembers where it came from, so that an error names
``lr_scheduler.init_args.T_max`` as the user wrote it.

:func:`detect` goes by what only LightningCLI writes (``class_path`` / ``init_args``,
``seed_everything``), never by section names alone: Hydra configs have ``model:`` and
``trainer:`` too, and axolotl's ``lr_scheduler: cosine`` is no class path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lrviz import catalog
from lrviz.errors import SpecError

NAME = "lightning"
DESCRIPTION = "a LightningCLI config (optimizer:/lr_scheduler: with class_path)"

# Where torch (and Lightning's ReduceLROnPlateau, which only adds ``monitor``) keep
# the classes a class_path may name.
_SCHEDULER_MODULES = ("torch.optim.lr_scheduler.", "torch.optim.swa_utils.",
                      "lightning.pytorch.cli.", "pytorch_lightning.cli.")
_OPTIMIZER_MODULES = ("torch.optim.",)
# init_args lrviz does not pass on: the optimizer is lrviz's own, a simulation starts
# at step 0, ``verbose`` is deprecated, ``monitor`` names a metric lrviz synthesises.
_DROPPED = ("optimizer", "verbose", "monitor")
# Sections of a LightningCLI config besides the optimizer and the scheduler; one that
# holds a class_path marks the file as LightningCLI's even without a scheduler.
_SECTIONS = ("model", "data", "trainer")
_CLASS_KEYS = ("class_path", "init_args")


def detect(data: dict[str, Any]) -> int:
    """10 when ``optimizer:`` or ``lr_scheduler:`` (at the top or under ``fit:``) is a
    class: a mapping with ``class_path`` or ``init_args``, or a dotted class path
    (``torch.optim.AdamW``); 3 when only the other sections say LightningCLI (``model:``,
    ``data:`` or ``trainer:`` with a class_path, or ``seed_everything:``), so that such a
    file is told it lacks ``lr_scheduler:``; else 0."""
    fit = data.get("fit")
    roots = [data, fit] if isinstance(fit, dict) else [data]
    if any(_is_class(root.get(key)) for root in roots for key in ("optimizer", "lr_scheduler")):
        return 10
    sections = [root.get(key) for root in roots for key in _SECTIONS]
    if any("seed_everything" in root for root in roots) or any(
        isinstance(s, dict) and any(k in s for k in _CLASS_KEYS) for s in sections
    ):
        return 3
    return 0


def _is_class(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k in value for k in _CLASS_KEYS)
    # jsonargparse takes a bare class path; a word without dots (`cosine`) is some other
    # format's scheduler name
    return isinstance(value, str) and "." in value.strip(". ") and " " not in value.strip()


def read(raw: dict[str, Any], source: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The spec of a LightningCLI config, and where each of its keys came from."""
    root, prefix = _root(raw)
    locations: dict[str, str] = {}

    def at(path: str) -> str:
        return f"{source}: {prefix}{path}"

    spec: dict[str, Any] = {}
    sched_raw = root.get("lr_scheduler")
    if sched_raw is None and root.get("optimizer") is None:
        raise SpecError("a LightningCLI config without `lr_scheduler:` or `optimizer:`; the "
                        "schedule is set in code (add lr_scheduler: {class_path: ..., "
                        "init_args: {...}})", source)
    if sched_raw is None:  # `lr_scheduler: null` or none given: the lr stays constant
        spec["scheduler"] = {"type": "constant", "factor": 1.0}
        locations["scheduler.type"] = at("lr_scheduler (none: a constant lr)")
        locations["scheduler.factor"] = at("lr_scheduler (none: a constant lr)")
        sched_raw = False
    if sched_raw is not False:
        scheduler, names = _class_entry(sched_raw, "lr_scheduler", at, _SCHEDULER_MODULES)
        scheduler["type"] = _scheduler_type(scheduler["type"], at("lr_scheduler.class_path"))
        spec["scheduler"] = {**scheduler, "interval": "epoch"}
        locations["scheduler.type"] = at("lr_scheduler.class_path")
        locations["scheduler.interval"] = (f"{source}: lr_scheduler (Lightning steps it per "
                                           "epoch)")
        locations.update({f"scheduler.{k}": at(f"lr_scheduler.init_args.{k}") for k in names})

    if root.get("optimizer") is not None:
        optimizer, names = _class_entry(root["optimizer"], "optimizer", at, _OPTIMIZER_MODULES)
        spec["optimizer"] = optimizer
        locations["optimizer.type"] = at("optimizer.class_path")
        locations.update({f"optimizer.{k}": at(f"optimizer.init_args.{k}") for k in names})

    trainer = root.get("trainer")
    if isinstance(trainer, dict):
        for key, target in (("max_steps", "steps"), ("max_epochs", "epochs")):
            value = trainer.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                spec[target] = value
                locations[target] = at(f"trainer.{key}")
                break
    return spec, locations


def _root(raw: dict[str, Any]) -> tuple[Any, str]:
    """The config proper: a file for the whole CLI keeps it under its subcommand."""
    fit = raw.get("fit")
    if isinstance(fit, dict) and ("lr_scheduler" in fit or "optimizer" in fit):
        return fit, "fit."
    return raw, ""


def _class_entry(
    value: Any, key: str, at: Callable[[str], str], modules: tuple[str, ...]
) -> tuple[dict[str, Any], list[str]]:
    """``{class_path, init_args}`` as ``{type, **keywords}``, and the keywords' names."""
    if isinstance(value, str):  # jsonargparse also accepts a bare class path
        value = {"class_path": value}
    if isinstance(value, dict) and "class_path" not in value and "init_args" not in value:
        # the program fixes the class (add_optimizer_args / a typed callable): the file
        # holds only its arguments, and does not say which class they belong to
        module = "torch.optim." + ("lr_scheduler." if key == "lr_scheduler" else "")
        raise SpecError("the class is fixed by the program, not named in this file; add "
                        f"class_path: {module}NAME beside these arguments (or use "
                        "init_args)", at(key))
    if not isinstance(value, dict) or not isinstance(value.get("class_path"), str):
        raise SpecError("expected a mapping with class_path (and init_args)", at(key))
    unknown = [k for k in value if k not in ("class_path", "init_args", "dict_kwargs")]
    if unknown:
        raise SpecError(f"unknown key {unknown[0]!r}; expected class_path and init_args",
                        at(f"{key}.{unknown[0]}"))
    path = value["class_path"].strip()
    for module in modules:
        if path.startswith(module) and "." not in path[len(module):]:
            path = path[len(module):]
    args = value.get("init_args") or {}
    if not isinstance(args, dict):
        raise SpecError("expected a mapping of constructor keywords", at(f"{key}.init_args"))
    if args.get("last_epoch", -1) != -1:
        raise SpecError("resuming a schedule is not simulated; expected -1 (a fresh run)",
                        at(f"{key}.init_args.last_epoch"))
    keywords = {k: v for k, v in args.items() if k not in (*_DROPPED, "last_epoch")}
    return {"type": path, **keywords}, list(keywords)


def _scheduler_type(path: str, where: str) -> str:
    """A catalog name, or ``module:Class`` for a class outside torch (which then needs
    --allow-import, as any custom class does)."""
    if catalog.find(path) is not None or "." not in path:
        return path
    module, _, name = path.rpartition(".")
    return f"{module}:{name}"
