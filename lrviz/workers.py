"""Specs spread over the cores: the same results, in order, from several processes.

A gallery, a comparison or a check of many files runs one spec after another; each spec
is independent, so ``run`` hands them to worker processes and gives the results back in
the order of the inputs, exactly as the loop in this process would have made them. The
workers only compute (simulate, render into bytes): every file is still written by the
parent, through :func:`lrviz.render.files.write_files`, all or nothing.

Workers are forked from multiprocessing's *forkserver*: a fresh interpreter, started
for the run, that imports torch, matplotlib and lrviz's modules once (it runs nothing:
no torch operation, no thread of torch's) and then forks one worker per core. A worker
so starts with the imports done, for a few milliseconds of CPU instead of the seconds a
spawned interpreter spends importing torch again. A caller can split the work:
``prepare`` runs in the parent and ``fn`` in the workers, with their own ``preload`` (the
gallery simulates in the parent, importing torch while the forkserver imports matplotlib,
and its workers only draw, never importing torch). Workers are never forked from the
parent itself, which may hold matplotlib's state and torch's threads. Each worker sets
itself up as the CLI's own process is set up, so outputs are byte-identical to a
one-worker run. The forkserver is stopped at the end of the run (so the next run starts
from the current folder and environment); where there is no forkserver (Windows), workers
are spawned.

Interrupts: workers ignore SIGINT (a Ctrl-C reaches the whole process group; the
parent alone decides), and whatever ends the parent early (an exception, SIGINT,
SIGTERM turned into an exception by the CLI) terminates the workers before it goes on.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from lrviz.errors import SpecError

if TYPE_CHECKING:
    from lrviz.check import Report
    from lrviz.spec import Spec
    from lrviz.trace import Trace

T = TypeVar("T")
U = TypeVar("U")
R = TypeVar("R")


def available_cores() -> int:
    """The cores this process may run on (its affinity where the OS tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def jobs_for(requested: int | None, items: int, flag: str = "--jobs") -> int:
    """How many workers to use: ``requested``, or every core, never more than ``items``."""
    if requested is not None and requested < 1:
        raise SpecError(f"expected an integer >= 1, got {requested}", flag)
    wanted = requested if requested is not None else available_cores()
    return max(1, min(wanted, items))


def run(fn: Callable[[U], R], items: Sequence[T], jobs: int,
        prepare: Callable[[T], U] | None = None, preload: Sequence[str] | None = None,
        starting: Callable[[], object] | None = None) -> list[R]:
    """``[fn(prepare(item)) for item in items]``, ``fn`` on ``jobs`` worker processes when
    ``jobs > 1``; ``prepare`` (none: the item itself) always runs in this process.

    ``fn`` and what it is given must pickle (a module-level function; specs do,
    expressions included). ``preload``: the modules the forkserver imports for the
    workers (default: torch, matplotlib and lrviz's, for workers that simulate).
    ``starting`` is called once in this process before the first item, while the
    forkserver imports (so both cores work). An exception ``fn`` raises in a worker is
    raised here, as it would have been by the loop; an exception here ends every worker
    first.
    """
    if jobs <= 1 or len(items) <= 1:
        if starting is not None:
            starting()
        if prepare is None:
            return [fn(item) for item in items]  # type: ignore[arg-type]
        return [fn(prepare(item)) for item in items]
    import multiprocessing

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    # A signal while the server or the pool starts would leave nothing to stop: hold
    # SIGINT and SIGTERM back meanwhile (they are then raised in the try below). The
    # workers inherit the mask and lift it in _start_worker, once SIGINT is ignored there.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        if method == "forkserver":
            from multiprocessing import forkserver

            context.set_forkserver_preload(list(_PRELOAD if preload is None else preload))
            forkserver.ensure_running()  # it imports the preload while `starting` runs
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    try:
        if starting is not None:
            starting()
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            pool = context.Pool(min(jobs, len(items)), initializer=_start_worker)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        try:
            if prepare is None:
                # one item at a time: specs differ a lot in cost, so a worker takes the
                # next one when it is free; imap keeps the order of the inputs
                results = list(pool.imap(fn, items, chunksize=1))  # type: ignore[arg-type]
            else:
                # each item handed over as soon as it is prepared, to whichever worker
                # is free; the list keeps the order of the inputs
                pending = [pool.apply_async(fn, (prepare(item),)) for item in items]
                results = [p.get() for p in pending]
        except BaseException:
            pool.terminate()
            pool.join()
            raise
        pool.close()
        pool.join()
    finally:  # after the workers: the server reaps them
        if method == "forkserver":
            _stop_forkserver()
    return results


# What every worker needs, imported once by the forkserver before it forks them.
_PRELOAD = ("torch", "matplotlib.figure", "matplotlib.backends.backend_agg",
            "matplotlib.backends.backend_svg", "lrviz.api", "lrviz.engine", "lrviz.check",
            "lrviz.gallery", "lrviz.render.figure", "lrviz.workers")


def _stop_forkserver() -> None:
    """End the forkserver once its workers are done (they are its children: it reaps
    them, and its own exit returns their CPU time to this process's account)."""
    from multiprocessing import forkserver

    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if stop is not None:  # a private method; without it the server ends with this process
        stop()


_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _start_worker() -> None:
    """A worker's setup: what the CLI's process does before it runs a spec."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)  # held back by run()
    # The CLI's error boundary reports what a spec does to numpy or matplotlib in its own
    # words, never as library warnings; the workers' stderr stays as quiet.
    warnings.filterwarnings("ignore", module=r"(matplotlib|numpy)(\.|$)")
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    # One thread per worker: the workers already fill the cores, and torch's own pool
    # (one thread per core, spinning between operations) would make them fight over them.
    # A schedule's tensors hold one value, so no result depends on it.
    os.environ["OMP_NUM_THREADS"] = "1"
    if "torch" not in sys.modules:  # a worker that only draws never imports it
        return
    import torch

    torch.set_num_threads(1)
    from lrviz.engine import skip_dynamo_import

    skip_dynamo_import()


def simulate_one(spec: Spec) -> Trace:
    """The engine's trace of one spec (``lrviz compare``'s unit of work)."""
    from lrviz.engine import simulate

    return simulate(spec)


def check_one(spec: Spec, resume_sample: bool = False
              ) -> tuple[Report | None, SpecError | None]:
    """``lrviz check``'s unit of work: the report, or the SpecError that refused the spec
    (returned, not raised, so that the other specs are still checked)."""
    from lrviz.check import check_spec

    try:
        report = check_spec(spec, resume_sample)
    except SpecError as exc:
        return None, exc
    return report, None
