"""Where a resumed run leaves the schedule (README "Resume").

A run saved at row ``at`` and resumed with only part of its state (the scheduler's
state_dict, the optimizer's, or neither: the scheduler rebuilt) is simulated by the engine
(:mod:`lrviz.engine`) and held to the uninterrupted run, row by row. One finding per
resume point names every restore mode that does not continue the schedule: the first row
where it leaves the plan, the jump there, how many later rows differ. ``check`` runs
these for ``training.resume`` and, with ``--resume-at auto``, at :func:`resume_points`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lrviz.errors import RunError
from lrviz.schedulers.base import WARNING
from lrviz.spans import _num
from lrviz.spec import Spec
from lrviz.trace import Finding

if TYPE_CHECKING:
    from lrviz.trace import Trace


# ``check --resume-at auto``: the resume points tried, as shares of the run's rows (a
# quarter, half and three quarters in; never row 0, which is no resume at all).
RESUME_SAMPLE = (0.25, 0.5, 0.75)


def resume_points(steps: int) -> list[int]:
    """The rows ``check --resume-at auto`` resumes at in a run of ``steps`` rows."""
    if steps < 2:
        return []
    return sorted({min(steps - 1, max(1, round(steps * share))) for share in RESUME_SAMPLE})


def resume_findings(spec: Spec, trace: Trace | None) -> Iterator[Finding]:
    """With ``training.resume``, every restore mode that would not continue the schedule."""
    if spec.resume is None or trace is None:
        return
    found = resume_finding(spec, trace, spec.resume.at)
    if found is not None:
        yield found


def sampled_resume_findings(spec: Spec, trace: Trace) -> Iterator[Finding]:
    """``check --resume-at auto``: a finding for each of :func:`resume_points` that
    breaks (the spec's own ``training.resume`` point is said once, by the check)."""
    for at in resume_points(trace.steps):
        if spec.resume is None or at != spec.resume.at:
            found = resume_finding(spec, trace, at)
            if found is not None:
                yield found


def resume_finding(spec: Spec, trace: Trace, at: int) -> Finding | None:
    """Every restore mode that would not continue the schedule when resumed at row ``at``,
    in one finding: per mode the first row where the resumed lr leaves the planned one
    (``trace.lrs``, the uninterrupted run), and the jump there. None when all continue."""
    from lrviz.engine import simulate
    from lrviz.spec import ResumeSpec

    said, first = [], trace.steps
    for mode in ("scheduler", "optimizer", "rebuild"):
        try:
            other = simulate(dataclasses.replace(spec, resume=ResumeSpec(at, mode)))
        except RunError as exc:
            said.append(f"{mode} fails ({exc.message})")
            first = min(first, at)
            continue
        assert other.lrs_resumed is not None
        differs = (other.lrs_resumed != trace.lrs).any(axis=0)
        if differs.any():
            row = int(differs.argmax())
            first = min(first, row)
            said.append(f"{mode} from step {row} ({_num(float(trace.lrs[0, row]))} -> "
                        f"{_num(float(other.lrs_resumed[0, row]))}, "
                        f"{int(differs[row:].sum())} of {trace.steps - row} steps differ)")
    if not said:
        return None
    return Finding(WARNING, "resume-breaks", f"resumed at step {at}, restore: "
                   + "; ".join(said), first, "training.resume",
                   "restore: full (load both the optimizer's and the scheduler's "
                   "state_dict)")
