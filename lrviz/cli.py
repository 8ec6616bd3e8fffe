"""The ``lrviz`` command: parse, call the library, render. No logic of its own.

Errors cross one boundary (:func:`_boundary`): an :class:`~lrviz.errors.LrvizError`
becomes one line on stderr and its exit code; anything else is a bug, reported in one
line too unless ``--debug`` asks for the traceback. torch and matplotlib are imported
only by commands that run a schedule, so help and listing stay instant.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from lrviz import __version__, catalog
from lrviz.errors import LrvizError

HELP = {"help_option_names": ["-h", "--help"]}
# Commands whose options depend on their first argument parse their own flags (lrviz.flags).
FREE_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}

app = typer.Typer(
    name="lrviz",
    help="See exactly what a PyTorch learning-rate scheduler will do, before training with it.",
    context_settings=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _say(kind: str, text: str) -> None:
    sys.stderr.write(f"{kind}: {text}\n")


@contextmanager
def _boundary(debug: bool) -> Iterator[None]:
    """Turn every failure into one line on stderr and an exit code (SPEC section 6)."""
    debug = debug or bool(os.environ.get("LRVIZ_DEBUG"))
    try:
        yield
    except LrvizError as exc:
        if debug:
            raise
        _say("error", str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        if debug:
            raise
        _say("error", f"internal error ({type(exc).__name__}: {exc}); "
                      "run again with --debug for the traceback and please report it")
        raise typer.Exit(1) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lrviz {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """See exactly what a PyTorch learning-rate scheduler will do, before training with it."""


@app.command(context_settings=FREE_ARGS, add_help_option=False)
def plot(ctx: typer.Context) -> None:
    """Simulate one scheduler (flags or a YAML spec) and write plots and data.

    lrviz plot SCHEDULER [--param VALUE]... [-o FILE]...

    lrviz plot SPEC.yaml [--param VALUE]... [-o FILE]...
    """
    from lrviz import flags

    with _boundary(debug="--debug" in ctx.args):
        inv = flags.parse(list(ctx.args))
        if inv.help or inv.target is None:
            from lrviz.render.help import print_plot_help

            print_plot_help(inv.scheduler, inv.target)
            return
        from lrviz import render
        from lrviz.api import spec_from_invocation
        from lrviz.engine import simulate

        spec = spec_from_invocation(inv)
        outputs = inv.outputs or [Path(f"{spec.name}.png")]
        render.check_outputs(outputs)
        for note in spec.notes:
            _say("note", note)
        trace = simulate(spec)
        for warning in trace.warnings:
            _say("warning", warning)
        for path in render.write_outputs(trace, outputs):
            typer.echo(str(path))


@app.command("list", context_settings=HELP)
def list_(
    name: Annotated[str | None, typer.Argument(
        help="Show one scheduler's parameters in full.", show_default=False)] = None,
) -> None:
    """Every supported scheduler: name, aliases, parameters with torch's defaults."""
    from lrviz.render.help import print_catalog, print_plot_help

    with _boundary(debug=False):
        if name is None:
            print_catalog()
        else:
            print_plot_help(catalog.lookup(name, name), name)


def main() -> None:
    """Entry point of the ``lrviz`` console script."""
    app()

