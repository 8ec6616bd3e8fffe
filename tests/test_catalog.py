"""The catalog is data; these tests hold it against the installed torch."""

from __future__ import annotations

import importlib
import inspect

import pytest
import torch.optim.lr_scheduler as lr_scheduler

from lrviz import catalog

# Deliberately not in the catalog: a simulation always starts from step 0.
LEFT_OUT = {"self", "optimizer", "last_epoch"}


def _torch_params(sched: catalog.Scheduler) -> dict[str, inspect.Parameter]:
    cls = getattr(importlib.import_module(sched.module), sched.name)
    params = inspect.signature(cls.__init__).parameters
    return {name: p for name, p in params.items() if name not in LEFT_OUT}


def test_every_public_torch_scheduler_is_in_the_catalog() -> None:
    public = {
        name for name in lr_scheduler.__all__
        if inspect.isclass(getattr(lr_scheduler, name)) and name != "LRScheduler"
    }
    assert public | {"SWALR"} == {s.name for s in catalog.SCHEDULERS_TABLE}


@pytest.mark.parametrize("sched", catalog.SCHEDULERS_TABLE, ids=lambda s: s.name)
def test_parameters_match_torch_signature(sched: catalog.Scheduler) -> None:
    torch_params = _torch_params(sched)
    assert list(sched.param_names) == list(torch_params)
    for param in sched.params:
        theirs = torch_params[param.name]
        if theirs.default is inspect.Parameter.empty:
            assert param.required, param.name
        else:
            assert not param.required, param.name
            assert param.default == theirs.default, param.name


def test_aliases_are_unique_and_resolve() -> None:
    seen: set[str] = set()
    for sched in catalog.SCHEDULERS_TABLE:
        for name in (sched.name, *sched.aliases):
            assert name.lower() not in seen
            seen.add(name.lower())
            assert catalog.find(name) is sched
            assert catalog.find(name.upper()) is sched


@pytest.mark.parametrize("alias", ["step", "multistep", "exponential", "plateau", "cyclic",
                                   "cosine", "cosine-restarts", "warm-restarts", "onecycle",
                                   "linear", "constant", "polynomial", "lambda",
                                   "multiplicative", "sequential", "chained", "swa"])
def test_spec_aliases_exist(alias: str) -> None:
    assert catalog.find(alias) is not None


def test_unknown_name_suggests_the_nearest() -> None:
    with pytest.raises(catalog.SpecError, match="did you mean 'cyclic'"):
        catalog.lookup("cyclc")


def test_flags_are_kebab_case_of_torch_names() -> None:
    cosine = catalog.find("cosine")
    assert cosine is not None
    assert cosine.param("T_max").flag == "--t-max"
    assert catalog.find("cyclic").param("step_size_up").flag == "--step-size-up"  # type: ignore[union-attr]
