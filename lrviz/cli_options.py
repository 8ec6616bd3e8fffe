"""How the commands declare their options: the option types several commands share,
the training-loop flags made from the key table, and the Typer command classes whose help
and completion lrviz shapes. Nothing here runs a schedule; :mod:`lrviz.cli` uses it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

from lrviz import keys
from lrviz import readers as _readers

HELP = {"help_option_names": ["-h", "--help"]}
# Commands whose options depend on their first argument parse their own flags (lrviz.flags).
FREE_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


class FreeCommand(typer.core.TyperCommand):
    """A command that parses its own flags (lrviz.flags), completing them the same way."""

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        try:  # recent typer carries its own click
            from typer.core import CompletionItem
        except ImportError:
            from click.shell_completion import CompletionItem  # type: ignore[assignment]

        from lrviz.flags import TABLE_FLAGS, complete

        extra = TABLE_FLAGS if self.name == "table" else ()
        words = complete(list(ctx.args), incomplete, extra, self.name or "plot")
        return [CompletionItem(word) for word in words]


class Command(typer.core.TyperCommand):
    """A command whose help names each argument by its metavar (``SPEC.yaml...``), as
    click does, rather than by its Python type (``<list[str]>``) as recent Typer does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, typer.core.TyperArgument) and param.metavar:
                usage = param.metavar + ("..." if param.nargs != 1 else "")
                usage = usage if param.required else f"[{usage}]"
                # on the instance: Typer offers no hook for either (setattr keeps mypy calm)
                setattr(param, "get_usage_pieces", _pieces(usage))  # noqa: B010
                setattr(param, "display_type_rich", _no_type)  # noqa: B010


def _pieces(usage: str) -> Any:
    return lambda ctx: [usage]


def _no_type(ctx: Any) -> None:
    return None


Outputs = Annotated[list[Path] | None, typer.Option(
    "-o", "--output", metavar="FILE", help="File to write, by suffix: .png .svg .pdf "
    "(figure), .csv .json (data), .md (summary); repeatable.", show_default=False)]
Debug = Annotated[bool, typer.Option("--debug", help="Show the Python traceback of an error.")]
AllowImport = Annotated[bool, typer.Option(
    "--allow-import", help="Let a `package.module:ClassName` scheduler import and run that "
    "module.")]
FromFormat = Annotated[str | None, typer.Option(
    "--from", metavar="NAME", show_default=False,
    help="Read every spec file as this format: "
    f"{', '.join(_readers.names())} (mmengine:NAME: the optimizer NAME of several); "
    "default: told by each file's content.")]
AllowPath = Annotated[list[Path] | None, typer.Option(
    "--allow-path", metavar="DIR", show_default=False,
    help="A folder specs may name files in, besides their own and the current folder; "
    "repeatable.")]
Jobs = Annotated[int | None, typer.Option(
    "-j", "--jobs", metavar="N", show_default=False,
    help="Worker processes to spread the specs (or runs) over (default: one per core, at "
    "most one per input; 1: all in this process). The outputs are the same.")]


# How a run's log is read (verify, compare, lrviz.runs.Options).
Tag = Annotated[str | None, typer.Option(
    metavar="NAME", help="The lr's tag, key or column in the runs' logs (default: found by "
    "the frameworks' own names).", show_default=False)]
StepColumn = Annotated[str | None, typer.Option(
    metavar="NAME", help="The step column of a CSV/JSONL table.", show_default=False)]
LrColumn = Annotated[str | None, typer.Option(
    metavar="NAME", help="The lr column of a CSV/JSONL table.", show_default=False)]


def with_training_flags(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` a flag per training key (keys.training_flags: ``--dataset-size N``,
    the switch ``--drop-last``), their help from the key table; it receives the flags
    given as one mapping, ``training`` (key name -> the flag's text)."""
    flags = keys.training_flags()
    added = []
    for key in flags:
        metavar = keys.flag_metavar(key)
        option = typer.Option("--" + key.name.replace("_", "-"), metavar=metavar or None,
                              show_default=False, rich_help_panel="Training loop",
                              help=f"{key.help} (training.{key.name}, for every spec)")
        kind = (bool | None) if not metavar else (str | None)
        added.append(inspect.Parameter(key.name, inspect.Parameter.KEYWORD_ONLY,
                                       default=None, annotation=Annotated[kind, option]))

    @functools.wraps(command)
    def with_flags(**given: Any) -> None:
        training = {k.name: given.pop(k.name) for k in flags}
        command(training={name: value for name, value in training.items()
                          if value is not None}, **given)

    own = [p for p in inspect.signature(command, eval_str=True).parameters.values()
           if p.name != "training"]
    with_flags.__signature__ = inspect.Signature(own + added)  # type: ignore[attr-defined]
    return with_flags


def training_locations(training: dict[str, Any] | None) -> dict[str, str]:
    """The flag that set each ``training.KEY`` (errors name the flag the user typed)."""
    return {f"training.{k}": "--" + k.replace("_", "-") for k in training or {}}
