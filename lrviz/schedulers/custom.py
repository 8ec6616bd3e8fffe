"""A scheduler class of the user's own (``package.module:ClassName``), read from its
signature when ``--allow-import`` lets lrviz import it.

lrviz knows nothing of its behaviour, so its record answers every hook with the
defaults of :class:`~lrviz.schedulers.base.Scheduler`: no events, no relations, no
pitfalls of its own (the checks that read the trace still apply).
"""

from __future__ import annotations

from lrviz.errors import SpecError
from lrviz.schedulers.base import ANY, BOOL, FLOAT, INT, REQUIRED, Param, Scheduler

# Constructor arguments of a custom class that lrviz does not pass.
_NOT_PASSED = ("optimizer", "last_epoch", "verbose")


def imported(target: str, where: str | None = None) -> Scheduler:
    """The catalog entry of a custom scheduler class, read from its signature.

    Imports the module (from the installed packages or the current folder) and torch.
    Parameters take the kind of their default; those without one take any plain value.
    """
    import importlib
    import inspect
    import os
    import sys

    from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

    module_name, _, attr = target.partition(":")
    here = os.getcwd()
    added = here not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SpecError(f"cannot import {module_name!r}: {exc}", where) from None
    except Exception as exc:  # the module's own code failed
        raise SpecError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}",
                        where) from None
    finally:
        if added:
            sys.path.remove(here)
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, (LRScheduler, ReduceLROnPlateau))):
        what = "does not exist" if cls is None else f"is an object of type {type(cls).__name__}"
        raise SpecError(f"{target!r} {what}; expected a subclass of torch's LRScheduler",
                        where)
    params = []
    for p in list(inspect.signature(cls).parameters.values())[1:]:
        if p.name in _NOT_PASSED or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = p.default if p.default is not p.empty else REQUIRED
        kind = {bool: BOOL, int: INT, float: FLOAT}.get(type(default), ANY)
        params.append(Param(p.name, kind, f"{p.name} of {attr}", default,
                            nullable=default is None))
    doc = (inspect.getdoc(cls) or f"{attr} from {module_name}").splitlines()[0]
    metric = issubclass(cls, ReduceLROnPlateau)
    return Scheduler(target, (), doc, tuple(params), module=module_name, attr=attr,
                     takes_metric=metric)
