"""Help and listings generated from the catalog: ``lrviz plot X --help`` and ``lrviz list``."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from lrviz import catalog
from lrviz.flags import OUTPUT_FLAGS, RUN_FLAGS, RunFlag, command_flags, scheduler_flags


def default_text(param: catalog.Param) -> str:
    """A parameter's default as a user would write it."""
    if param.required:
        return "required"
    value: Any = param.default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return "1/3" if value == 1 / 3 else f"{value:.6g}"
    return str(value)


def _console() -> Console:
    return Console(highlight=False, markup=False)


def _two_columns(title: str | None = None, width: int | None = None) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", box=None,
                  show_header=False, pad_edge=False, padding=(0, 2, 0, 2))
    table.add_column(no_wrap=True, min_width=width)
    table.add_column(ratio=1)
    return table


def param_line(param: catalog.Param, length: bool = False) -> str:
    """The help of one parameter, its default and what it takes.

    ``length``: the parameter takes the run's length when not given.
    """
    extra = ""
    if param.kind == catalog.EXPR:
        extra = f"; an expression in {param.variable}"
        if param.per_group:
            extra += ", repeat the flag for one per param group"
    elif param.per_group:
        extra = "; a comma list gives one per param group"
    if length and param.default in (catalog.REQUIRED, None):
        return param.help  # which says what it defaults to
    return f"{param.help} [{default_text(param)}{extra}]"


def print_plot_help(
    sched: catalog.Scheduler | None,
    target: str | None,
    command: str = "plot",
    extra: tuple[RunFlag, ...] = (),
    about: str = "Simulate the real torch scheduler and write plots and data.",
) -> None:
    """Usage of ``plot`` (or ``table``, ``code``): for one scheduler, or in general.

    Only the options ``command`` takes are listed: the run flags every scheduler shares,
    then the command's own (``plot``'s figure options, ``table``'s rows, each ``-o``).
    """
    out = _console()
    output = OUTPUT_FLAGS.get(command, OUTPUT_FLAGS["plot"])
    usage_o = f"[-o {output.metavar}]" + ("" if command == "code" else "...")
    if sched is None:
        out.print(f"Usage: lrviz {command} SCHEDULER|SPEC.yaml [OPTIONS] {usage_o}\n")
        out.print(f"{about} SCHEDULER is a "
                  "name or alias below; options after it set its constructor parameters "
                  f"(`lrviz {command} cyclic --help` lists them). Options given beside a YAML "
                  "spec override the file.\n")
        table = _two_columns("Schedulers")
        for s in catalog.SCHEDULERS_TABLE:
            table.add_row(", ".join(s.aliases), f"{s.name}: {s.help}")
        out.print(table)
        out.print(f"  And {', '.join(s.name for s in catalog.HF_SCHEDULERS)} "
                  "(with lrviz[hf]; `lrviz list`), or package.module:ClassName with "
                  "--allow-import.\n")
    else:
        known = target is None or catalog.find(target) is not None
        what = (sched.aliases[0] if sched.aliases else sched.name) if known else target
        out.print(f"Usage: lrviz {command} {what} [OPTIONS] {usage_o}\n")
        about_class = _class_help(sched).rstrip(".")
        out.print(f"{sched.origin}: {about_class}." if about_class else f"{sched.origin}")
        if sched.composite:
            out.print("Its nested schedulers are written as a `schedulers:` list in a YAML spec.")
        out.print("")
        whose = "torch's default" if sched.library == "torch" else "default"
        table = _two_columns(f"{sched.name} parameters [{whose}]")
        seen: set[str] = set()
        for flag, param in scheduler_flags(sched).items():
            if param.name not in seen:
                seen.add(param.name)
                table.add_row(f"{flag} {param.metavar}",
                              param_line(param, param.name == sched.length_param))
        out.print(table)
        if sched.params:
            out.print(f"  The constructor's own spelling works too: --{sched.params[0].name}.")
        out.print("")
    mine = (*extra, *command_flags(command))
    width = max(len(_spelled(f)) for f in (*RUN_FLAGS, *mine))  # both tables aligned
    run = _two_columns("Run options (every scheduler)", width)
    for f in RUN_FLAGS:
        run.add_row(_spelled(f), f.help)
    out.print(run)
    own = _two_columns(f"{command} options", width)
    for f in mine:
        own.add_row(_spelled(f), f.help)
    out.print(own)


def _class_help(sched: catalog.Scheduler) -> str:
    """The scheduler's one-line help; for a class of the user's own, the first line of its
    own docstring or nothing (never the torch base class's, which it would inherit)."""
    if catalog.find(sched.name) is not None:
        return sched.help
    import sys

    cls = getattr(sys.modules.get(sched.module), sched.attr, None)  # imported by lookup
    doc = cls.__dict__.get("__doc__") if isinstance(cls, type) else None
    if not isinstance(doc, str) or not doc.strip():
        return ""
    return doc.strip().splitlines()[0].strip()


def _spelled(flag: RunFlag) -> str:
    spelled = f"{flag.short}, {flag.flag}" if flag.short else f"    {flag.flag}"
    return f"{spelled} {flag.metavar}".rstrip()


def print_catalog() -> None:
    """``lrviz list``: every scheduler with its aliases and parameters."""
    out = _console()
    for title, schedulers in (
        ("torch", catalog.SCHEDULERS_TABLE),
        ("Hugging Face transformers, with the extra: pip install 'lrviz[hf]'",
         catalog.HF_SCHEDULERS),
    ):
        table = Table(title=title, title_justify="left", title_style="bold",
                      box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("scheduler", no_wrap=True)
        table.add_column("alias: parameters [default]", ratio=1)
        for s in schedulers:
            params = ", ".join(
                p.name if p.required or p.kind == catalog.SCHEDULERS
                else f"{p.name}={default_text(p)}"
                for p in s.params
            )
            aliases = f"{', '.join(s.aliases)}: " if s.aliases else ""
            table.add_row(s.name, f"{aliases}{params or '(none)'}")
        out.print(table)
        out.print("")
    out.print("A scheduler class of your own: package.module:ClassName, with --allow-import.")
    out.print("\n`lrviz plot NAME --help` explains each parameter of one scheduler.")
