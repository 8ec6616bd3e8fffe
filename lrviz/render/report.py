"""``lrviz check``'s reports on a terminal: a line per finding, or JSON for machines."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from lrviz.schedulers.base import ERROR, INFO, SEVERITIES, WARNING

if TYPE_CHECKING:
    from rich.console import Console

    from lrviz.check import Report



def render_reports(reports: list[Report], fmt: str, console: Console) -> None:
    """Print ``reports``: ``"text"`` one line per finding, ``"json"`` a list of report dicts.

    JSON goes to ``console.file`` unwrapped and unstyled, so it parses as written.
    """
    if fmt == "json":
        console.file.write(json.dumps([r.to_dict() for r in reports], indent=2) + "\n")
        console.file.flush()
        return
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r}; expected 'text' or 'json'")
    from rich.markup import escape

    styles = {ERROR: "bold red", WARNING: "yellow", INFO: "cyan"}
    for report in reports:
        name = escape(report.name)
        if not report.findings:
            console.print(f"[green]ok     [/] {name}: no problems found",
                          soft_wrap=True, highlight=False)
        for f in report.findings:
            where = f" step {f.step}" if f.step is not None else ""
            param = f" {escape(f.param)}:" if f.param else ""
            fix = f" [dim]fix: {escape(f.fix)}[/]" if f.fix else ""
            console.print(
                f"[{styles[f.severity]}]{f.severity:<7}[/] {name}{where}{param} "
                f"{escape(f.message)}{fix}",
                soft_wrap=True,
                highlight=False,
            )
    if not reports:  # every spec was refused, each with its own error line
        return
    totals = [sum(r.count(s) for r in reports) for s in SEVERITIES]
    parts = [f"{n} {s}{'' if n == 1 else 's'}" for n, s in zip(totals, SEVERITIES, strict=True)]
    specs = f"{len(reports)} spec{'' if len(reports) == 1 else 's'}"
    console.print(f"checked {specs}: {', '.join(parts)}", soft_wrap=True, highlight=False)
