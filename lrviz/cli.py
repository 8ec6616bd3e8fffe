"""The ``lrviz`` command: parse, call the library, render. No logic of its own.

Errors cross one boundary (:func:`_boundary`): an :class:`~lrviz.errors.LrvizError`
becomes one line on stderr and its exit code; anything else is a bug, reported in one
line too unless ``--debug`` asks for the traceback. torch and matplotlib are imported
only by commands that run a schedule, so help and listing stay instant.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
import typer.core

from lrviz import __version__, catalog
from lrviz.cli_options import (
    FREE_ARGS,
    HELP,
    AllowImport,
    AllowPath,
    Command,
    Debug,
    FreeCommand,
    FromFormat,
    Jobs,
    LrColumn,
    Outputs,
    StepColumn,
    Tag,
    training_locations,
    with_training_flags,
)
from lrviz.errors import LrvizError, SpecError
from lrviz.render.files import Terminated, raise_on_sigterm

if TYPE_CHECKING:
    from rich.console import Console

    from lrviz.compare import Summary
    from lrviz.compare_runs import RunSummary
    from lrviz.flags import Invocation, RunFlag
    from lrviz.trace import Trace

# Runs at least this long show a progress bar (about a second of torch's step()).
PROGRESS_STEPS = 300_000

app = typer.Typer(
    name="lrviz",
    help="See exactly what a PyTorch learning-rate scheduler will do, before training with it.",
    context_settings=HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _complete_scheduler(incomplete: str) -> list[str]:
    return [n for n in catalog.all_names() if n.startswith(incomplete.lower())]


def _say(kind: str, text: str) -> None:
    """One line on stderr. Spec text inside (keys, names) may hold control characters:
    they are shown escaped, so nothing can recolour the terminal or forge a line."""
    from lrviz.render.escape import terminal

    sys.stderr.write(f"{kind}: {terminal(text)}\n")


@contextmanager
def _boundary(debug: bool) -> Iterator[None]:
    """Turn every failure into one line on stderr and an exit code (README "Errors")."""
    debug = debug or bool(os.environ.get("LRVIZ_DEBUG"))
    try:
        with warnings.catch_warnings():
            # What a spec does to numpy or matplotlib (an overflow, a glyph a font lacks)
            # lrviz reports in its own words (check's findings), never as library warnings;
            # torch's warnings are recorded by the engine itself.
            warnings.filterwarnings("ignore", module=r"(matplotlib|numpy)(\.|$)")
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            yield
    except LrvizError as exc:
        if debug:
            raise
        _say("error", str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Terminated:
        raise typer.Exit(143) from None
    except MemoryError:
        if debug:
            raise
        _say("error", "out of memory: simulate fewer steps (--steps) or param groups")
        raise typer.Exit(1) from None
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


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _show_progress() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


def _lean_torch() -> None:
    from lrviz.engine import skip_dynamo_import

    skip_dynamo_import()


def _simulate(inv: Invocation) -> Trace:
    """The spec the command line describes, run, with notes, warnings and progress."""
    from lrviz.api import analyze
    from lrviz.engine import simulate

    spec = inv.spec()  # refused, if at all, before torch is imported
    _lean_torch()
    for note in spec.notes:
        _say("note", note)
    if spec.steps < PROGRESS_STEPS or not _show_progress():
        trace = simulate(spec)
    else:
        from rich.progress import Progress

        with Progress(console=_stderr_console(), transient=True) as bar:
            task = bar.add_task(f"simulating {spec.name}", total=spec.steps)
            trace = simulate(spec, progress=lambda done: bar.update(task, completed=done))
    trace = analyze(trace)
    from lrviz.check import INFO

    for finding in trace.findings:  # what `lrviz check` would say, briefly
        if finding.severity != INFO:
            at = f" (step {finding.step})" if finding.step is not None else ""
            _say("warning", f"{finding.message}{at}")
    return trace


def _parse(ctx: typer.Context, command: str, extra: tuple[RunFlag, ...] = (),
           about: str = "") -> Invocation | None:
    """Parse a free-form command line; print its help and return None when asked."""
    from lrviz import flags

    inv = flags.parse(list(ctx.args), extra, command)
    if inv.help:
        from lrviz.render.help import print_plot_help

        print_plot_help(inv.scheduler, inv.target, command, extra, about)
        return None
    if inv.target is None:  # a usage error, as a missing argument is for every command
        sys.stderr.write(f"Usage: lrviz {command} SCHEDULER|SPEC.yaml [OPTIONS]\n")
        raise SpecError(f"missing SCHEDULER|SPEC.yaml (`lrviz {command} --help` lists the "
                        "schedulers and options)", command)
    return inv


@app.command(cls=FreeCommand, context_settings=FREE_ARGS, add_help_option=False)
def plot(ctx: typer.Context) -> None:
    """Simulate one schedule and write plots and data.

    lrviz plot SCHEDULER [--param VALUE]... [-o FILE]...

    lrviz plot SPEC.yaml [--param VALUE]... [-o FILE]...
    """
    with _boundary(debug="--debug" in ctx.args):
        inv = _parse(ctx, "plot", about="Simulate the real torch scheduler and write plots "
                     "and data.")
        if inv is None:
            return
        from lrviz.render import outputs as render

        outputs = inv.outputs
        render.check_outputs(outputs)
        trace = _simulate(inv)
        if not outputs and not inv.terminal:
            outputs = [Path(f"{trace.spec.name}.png")]
            render.check_outputs(outputs)
        if inv.terminal or any(p.suffix.lower() in render.FIGURE_SUFFIXES for p in outputs):
            _note_log_scale(trace)
        if inv.terminal:
            _draw_in_terminal(trace)
        for path in render.write_outputs(trace, outputs):
            typer.echo(str(path))


def _note_log_scale(trace: Trace) -> None:
    from lrviz.render.figure import flattened_share, wants_log_y

    if trace.spec.plot.log_y is None and wants_log_y(trace):
        _say("note", f"a linear axis would flatten {flattened_share(trace.lrs):.0%} of the "
                     "rows against its bottom: drawing the lr on a log axis (--linear-y to "
                     "keep it linear)")


def _draw_in_terminal(trace: Trace) -> None:
    from rich.console import Console

    from lrviz.render.figure import wants_log_y
    from lrviz.render.terminal import render

    render(trace, Console(highlight=False), log=wants_log_y(trace))


@app.command(cls=FreeCommand, context_settings=FREE_ARGS, add_help_option=False)
def table(ctx: typer.Context) -> None:
    """The schedule as a table of its change points and their events.

    lrviz table SCHEDULER|SPEC.yaml [--param VALUE]... [--every K | --all] [-o FILE.md]
    """
    from lrviz.flags import TABLE_FLAGS

    with _boundary(debug="--debug" in ctx.args):
        inv = _parse(ctx, "table", TABLE_FLAGS, about="Print the schedule as a table: the "
                     "first and last row and every row where the lr changes, with the event "
                     "behind each change.")
        if inv is None:
            return
        from lrviz.render import outputs as render

        every = _every(inv.options.get("every"))
        render.check_outputs(inv.outputs)
        trace = _simulate(inv)
        from rich.console import Console

        from lrviz.events import events
        from lrviz.render.table import print_table, select_rows

        marks = events(trace.spec, trace)
        rows, note = select_rows(trace, marks, every, bool(inv.options.get("all")))
        print_table(trace, rows, marks, Console(highlight=False))
        if note:
            _say("note", note)
        for path in render.write_outputs(trace, inv.outputs, rows=rows):
            typer.echo(str(path))


def _every(value: str | bool | None) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        every = int(value)
    except ValueError:
        every = 0
    if every < 1:
        raise SpecError(f"expected an integer >= 1, got {value!r}", "--every")
    return every


@app.command(cls=Command, context_settings=HELP)
def compare(
    specs: Annotated[list[str] | None, typer.Argument(
        help="Spec files, and logs of runs (trainer_state.json, metrics.csv, event files, "
        "mlflow.db, scalars.json, a CSV/JSONL table, or the folder holding one), told apart "
        "by their content.", show_default=False, metavar="SPEC|RUN")] = None,
    output: Outputs = None,
    layout: Annotated[str, typer.Option(
        metavar="overlay|grid",
        help="overlay: every schedule on one axes; grid: a panel each.")] = "overlay",
    steps: Annotated[int | None, typer.Option(
        metavar="N", help="Simulate this many steps for every spec.",
        show_default=False)] = None,
    sweep: Annotated[str | None, typer.Option(
        metavar="KEY=V1,V2,...", help="One curve per value of a scheduler parameter "
        "(max_lr) or a dotted spec path (optimizer.lr).", show_default=False)] = None,
    title: Annotated[str | None, typer.Option(metavar="TEXT", help="Figure title.",
                                              show_default=False)] = None,
    log_y: Annotated[bool, typer.Option(
        "--log-y", help="Logarithmic lr axis (default: when a linear one would flatten "
        "much of the run).")] = False,
    linear_y: Annotated[bool, typer.Option("--linear-y", help="Linear lr axis.")] = False,
    run: Annotated[list[str] | None, typer.Option(
        "--run", metavar="RUN", show_default=False,
        help="A run's log to draw, whatever else the file could be read as; repeatable.")
    ] = None,
    tag: Tag = None,
    step_column: StepColumn = None,
    lr_column: LrColumn = None,
    from_: FromFormat = None,
    allow_import: AllowImport = False,
    allow_path: AllowPath = None,
    jobs: Jobs = None,
    debug: Debug = False,
) -> None:
    """Several schedules on one figure or a grid, with a summary; logged runs beside them."""
    with _boundary(debug):
        from lrviz.compare import load_inputs, run_inputs, summarize
        from lrviz.compare_runs import LoggedCurve, summarize_run
        from lrviz.render import outputs as render
        from lrviz.render.compare import write_comparison
        from lrviz.runs import Options

        if layout not in ("overlay", "grid"):
            raise SpecError(f"expected overlay or grid, got {layout!r}", "--layout")
        if log_y and linear_y:
            raise SpecError("choose one of --log-y and --linear-y, not both", "--log-y")
        if not specs and not run:
            raise SpecError("expected at least one SPEC or RUN", "compare")
        outputs = output or [Path("compare.png")]
        render.check_outputs(outputs)
        allowed = tuple(allow_path or ())
        loaded = load_inputs(list(specs or []), list(run or []), steps, sweep, allow_import,
                             allowed, from_, Options(tag, step_column, lr_column, allowed))
        chosen = True if log_y else False if linear_y else None
        if chosen is not None:  # the command line decides over every spec's plot.log_y
            from dataclasses import replace

            loaded = [item if isinstance(item, LoggedCurve)
                      else replace(item, plot=replace(item.plot, log_y=chosen))
                      for item in loaded]
        for spec in loaded:
            for note in spec.notes if not isinstance(spec, LoggedCurve) else ():
                _say("note", f"{spec.name}: {note}")
        traces = run_inputs(loaded, jobs, before_running=_lean_torch)
        summaries = [summarize_run(t) if isinstance(t, LoggedCurve) else summarize(t)
                     for t in traces]
        _print_summary(summaries)
        for path in write_comparison(traces, summaries, outputs, layout, title, chosen):
            typer.echo(str(path))


def _print_summary(summaries: Sequence[Summary | RunSummary]) -> None:
    from rich.console import Console

    from lrviz.compare import SUMMARY_HEADER
    from lrviz.render.escape import terminal
    from lrviz.render.table import print_rows

    # a run's name and tag come from a path and a log: shown escaped on a terminal
    rows = [[terminal(cell) for cell in s.row()] for s in summaries]
    print_rows(SUMMARY_HEADER, rows, Console(highlight=False), left={"name", "scheduler"})


@app.command(cls=Command, context_settings=HELP)
@with_training_flags
def verify(
    spec: Annotated[str, typer.Argument(help="The spec the run was meant to follow.",
                                        show_default=False, metavar="SPEC")],
    runs: Annotated[list[str], typer.Argument(
        help="Logs of runs: trainer_state.json, metrics.csv, event files, mlflow.db, "
        "mlruns/, scalars.json, a CSV/JSONL table, or the folder holding one.",
        show_default=False, metavar="RUN")],
    output: Annotated[list[Path] | None, typer.Option(
        "-o", "--output", metavar="FILE", help="File to write, by suffix: .png .svg .pdf "
        "(plan, logs and their difference), .csv .json (both lr side by side); repeatable.",
        show_default=False)] = None,
    tag: Tag = None,
    step_column: StepColumn = None,
    lr_column: LrColumn = None,
    from_: FromFormat = None,
    allow_import: AllowImport = False,
    allow_path: AllowPath = None,
    jobs: Jobs = None,
    debug: Debug = False,
    training: dict[str, Any] | None = None,
) -> None:
    """Did a run follow the plan? Hold the lr it logged against the simulation.

    One line per run: it follows, or the diagnosis (shifted by one step, runs N times fast,
    restarts at step K, scaled by a constant, differs from step K) with the first step that
    differs. Exit 0 when every run follows, 1 when one does not, 2 when an input cannot be read.
    """
    with _boundary(debug):
        from lrviz.api import load_spec
        from lrviz.render import overlay
        from lrviz.render.escape import terminal
        from lrviz.runs import Options
        from lrviz.verify import verify_paths

        outputs = output or []
        overlay.check_outputs(outputs)
        plan = load_spec(spec, {"training": training} if training else None, from_=from_,
                         allow_import=allow_import, allow_paths=tuple(allow_path or ()),
                         locations=training_locations(training))
        for note in plan.notes:
            _say("note", note)
        options = Options(tag, step_column, lr_column, tuple(allow_path or ()))
        comparisons = verify_paths(plan, runs, options, jobs, before_running=_lean_torch)
        for comparison in comparisons:
            typer.echo(terminal(comparison.line()))
        for path in overlay.write_outputs(comparisons, outputs):
            typer.echo(str(path))
        if not all(c.follows for c in comparisons):
            raise typer.Exit(1)


@app.command(cls=Command, context_settings=HELP)
@with_training_flags
def check(
    specs: Annotated[list[str], typer.Argument(help="YAML spec files.", show_default=False,
                                                metavar="SPEC.yaml")],
    format: Annotated[str, typer.Option(
        "--format", metavar="text|json",
        help="text (for people) or json (for machines).")] = "text",
    from_: FromFormat = None,
    allow_import: AllowImport = False,
    allow_path: AllowPath = None,
    resume_at: Annotated[str | None, typer.Option(
        "--resume-at", metavar="K|auto", show_default=False,
        help="Resume each run at optimizer step K in a fresh process and report every "
             "restore mode that does not continue it exactly; auto: at a quarter, half "
             "and three quarters of the run.")] = None,
    jobs: Jobs = None,
    debug: Debug = False,
    training: dict[str, Any] | None = None,
) -> None:
    """Lint specs for what would crash or misbehave in training.

    A dry run of each spec. Exit 1 when any finding is an error, 2 when a spec is invalid, else 0.
    """
    with _boundary(debug):
        from rich.console import Console

        from lrviz import readers
        from lrviz.api import check_files
        from lrviz.check import exit_code
        from lrviz.render.report import render_reports

        if format not in ("text", "json"):
            raise SpecError(f"expected text or json, got {format!r}", "--format")
        if from_ is not None:
            readers.find(from_)  # refused once, not once per spec
        training = dict(training or {})  # the training flags given (with_training_flags)
        flags = training_locations(training)
        sample = resume_at is not None and resume_at.strip().lower() == "auto"
        if resume_at is not None and not sample:  # validated as training.resume.at is
            if not resume_at.strip().lstrip("+-").isdigit():
                raise SpecError(f"expected a step (an integer >= 1) or auto, got "
                                f"{resume_at!r}", "--resume-at")
            training["resume"] = {"at": resume_at}
            flags["training.resume.at"] = "--resume-at"
        overrides = {"training": training} if training else None
        checked = check_files(specs, overrides, jobs=jobs, resume_sample=sample, from_=from_,
                              allow_import=allow_import, allow_paths=tuple(allow_path or ()),
                              locations=flags)
        reports, invalid = [], False
        for path, (spec, result) in zip(specs, checked, strict=True):
            for note in spec.notes if spec is not None else ():
                if note.startswith("assumed "):  # what a config left out and lrviz assumed
                    _say("note", f"{path}: {note}" if len(specs) > 1 else note)
            if isinstance(result, SpecError):
                # a flag that fits one spec and not another: say which
                said = str(result)
                _say("error", f"{path}: {said}" if len(specs) > 1 and said.startswith("--")
                     else said)
                invalid = True
            else:
                reports.append(result)
        render_reports(reports, format, Console(highlight=False, soft_wrap=True))
        code = 2 if invalid else exit_code(reports)
        if code:
            raise typer.Exit(code)


@app.command(cls=FreeCommand, context_settings=FREE_ARGS, add_help_option=False)
def code(ctx: typer.Context) -> None:
    """Print Python that builds the same optimizer and scheduler.

    lrviz code SCHEDULER|SPEC.yaml [--param VALUE]...
    """
    with _boundary(debug="--debug" in ctx.args):
        inv = _parse(ctx, "code", about="Print the Python that builds this optimizer and "
                     "scheduler, with the stepping loop as a comment.")
        if inv is None:
            return
        from lrviz.code import python_code
        from lrviz.render import files

        files.check_outputs(inv.outputs, (".py",))
        spec = inv.spec()
        for note in spec.notes:  # what a config left out and lrviz assumed
            if note.startswith("assumed "):
                _say("note", note)
        source = python_code(spec)
        if not inv.outputs:
            sys.stdout.write(source)
            return
        written = files.write_files([(p, files.bytes_writer(source.encode()))
                                     for p in inv.outputs])
        for path in written:
            typer.echo(str(path))


@app.command("spec", cls=Command, context_settings=HELP)
def spec_(
    path: Annotated[Path, typer.Argument(help="A config file (any format lrviz reads).",
                                         metavar="FILE", show_default=False)],
    from_: FromFormat = None,
    allow_path: AllowPath = None,
    debug: Debug = False,
) -> None:
    """Print the lrviz spec read from a config, each value with where it came from.

    Plotting the printed spec equals plotting the file; what the file leaves out is said
    on stderr.
    """
    with _boundary(debug):
        from lrviz import readers
        from lrviz.readers.common import assumptions
        from lrviz.readers.show import to_yaml

        raw, locations = readers.read(path, from_=from_,
                                      allow_paths=tuple(allow_path or ()))
        for note in assumptions(locations, raw):
            _say("note", f"assumed {note}")
        sys.stdout.write(to_yaml(raw, locations))


@app.command(cls=Command, context_settings=HELP)
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of the spec format."""
    import json

    from lrviz.schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command(cls=Command, context_settings=HELP)
def gallery(
    folder: Annotated[Path, typer.Argument(help="Folder of YAML specs.",
                                           metavar="DIR")] = Path("configs"),
    output: Annotated[Path, typer.Option("-o", "--output", metavar="OUTDIR",
                                         help="Folder to write the gallery into.")
                      ] = Path("gallery"),
    svg: Annotated[bool, typer.Option("--svg", help="Write an SVG beside each PNG.")] = False,
    check_only: Annotated[bool, typer.Option(
        "--check", help="Write nothing; exit 1 naming every spec whose values changed or "
        "whose image is missing or stale.")] = False,
    from_: FromFormat = None,
    allow_import: AllowImport = False,
    allow_path: AllowPath = None,
    jobs: Jobs = None,
    debug: Debug = False,
) -> None:
    """Render a folder of specs into a gallery.

    One image per spec, an index page and a manifest of value fingerprints.
    """
    with _boundary(debug):
        from lrviz import gallery as galleries

        svg = svg or (check_only and any(output.glob("*.svg")))
        entries = galleries.build(folder, svg=svg, before_running=_lean_torch,
                                  allow_import=allow_import,
                                  allow_paths=tuple(allow_path or ()), from_=from_,
                                  jobs=jobs)
        for entry in entries:
            if entry.error is not None:
                _say("error", str(entry.error))
        failed = any(e.error is not None for e in entries)
        if check_only:
            found = galleries.problems(entries, output)
            for problem in found:
                _say("stale", problem)
            if found or failed:
                raise typer.Exit(1)
            typer.echo(f"{output}: current ({len(entries)} specs)")
            return
        if failed:  # a gallery is written whole or not at all
            invalid = any(isinstance(e.error, SpecError) for e in entries)
            _say("error", f"{output}: not written, fix the specs above first")
            raise typer.Exit(2 if invalid else 1)
        written = galleries.write(entries, folder, output)
        typer.echo(f"{output}: {len(written)} files for {len(entries)} specs")


@app.command("list", cls=Command, context_settings=HELP)
def list_(
    name: Annotated[str | None, typer.Argument(
        help="Show one scheduler's parameters in full.", show_default=False, metavar="NAME",
        autocompletion=_complete_scheduler)] = None,
) -> None:
    """Every scheduler, its aliases and torch's defaults."""
    from lrviz.render.help import print_catalog, print_plot_help

    with _boundary(debug=False):
        if name is None:
            print_catalog()
        else:
            print_plot_help(catalog.lookup(name, name), name)


def _completion_request_ok() -> bool:
    """Whether the shell's completion request is one Typer can answer."""
    words = os.environ.get("COMP_WORDS", "")
    try:
        cword = int(os.environ.get("COMP_CWORD", "0"))
    except ValueError:
        return False
    return 0 <= cword <= len(words.split()) and len(words) <= 100_000


def main() -> None:
    """Entry point of the ``lrviz`` console script.

    Usage errors Typer reports itself (an unknown command, a missing argument) are
    reduced to one line too, as every other error is.
    """
    try:  # recent typer carries its own click
        from typer._click.exceptions import UsageError
    except ImportError:
        from click.exceptions import UsageError  # type: ignore[assignment]
    if os.environ.get("_LRVIZ_COMPLETE") and not _completion_request_ok():
        sys.exit(0)  # a shell asking nonsense gets no completions, not a traceback
    raise_on_sigterm()  # so that an interrupted write cleans up after itself
    try:
        code = app(standalone_mode=False)
    except UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `lrviz`: the help, as asked
            sys.stdout.write(exc.format_message() + "\n")
            sys.exit(0)
        _say("error", exc.format_message().replace("\n", " "))
        sys.exit(exc.exit_code)
    _leave(code if isinstance(code, int) else 0)


def _leave(code: int) -> NoReturn:
    """Exit without tearing the interpreter down.

    By now every output is renamed into place and closed, and every temporary file is
    gone; what remains is freeing torch's and matplotlib's modules object by object,
    about 0.3 s of a short run for nothing. Only the standard streams need flushing.
    """
    for stream in (sys.stdout, sys.stderr):
        with suppress(BrokenPipeError, ValueError):  # `lrviz list | head` closed the pipe
            stream.flush()
    os._exit(code)
