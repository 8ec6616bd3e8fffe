"""Random specs, valid and broken, never end in a traceback: only exit codes 0, 1 or 2."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lrviz.catalog import SCHEDULERS_TABLE
from lrviz.cli import app

NAMES = [s.name for s in SCHEDULERS_TABLE] + [a for s in SCHEDULERS_TABLE for a in s.aliases]
KEYS = sorted({p.name for s in SCHEDULERS_TABLE for p in s.params} | {"typo", "interval"})
VALUES = st.one_of(
    st.integers(-5, 300), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1e-4", "triangular2", "cos", "min", "max", "epoch", "0.9 ** epoch",
                     "x", "nan", "", "__import__('os')", "9 ** 9 ** 9 ** 9", "true"]),
    st.booleans(), st.none(),
    st.lists(st.integers(-2, 50), max_size=4),
    st.lists(st.fixed_dictionaries({"type": st.sampled_from(NAMES)}), max_size=3),
)
SPECS = st.fixed_dictionaries(
    {"scheduler": st.fixed_dictionaries(
        {"type": st.sampled_from([*NAMES, "nope", 3])},
        optional={k: VALUES for k in KEYS})},
    optional={"steps": st.one_of(st.integers(-3, 400), st.just("12")),
              "steps_per_epoch": st.integers(-1, 7),
              "optimizer": st.fixed_dictionaries(
                  {}, optional={"type": st.sampled_from(["SGD", "Adam", "adamw", "Nope"]),
                                "lr": VALUES, "momentum": VALUES}),
              "metric": st.fixed_dictionaries(
                  {}, optional={"values": st.lists(st.floats(-2, 2), max_size=40),
                                "generator": st.sampled_from(["plateau-loss", "x"]),
                                "seed": st.integers(-1, 3)}),
              "warmup": st.fixed_dictionaries({"steps": st.integers(-1, 20)})},
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=SPECS)
def test_random_specs_exit_cleanly(spec: dict[str, object], tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    folder: Path = tmp_path_factory.mktemp("spec")
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(app, ["plot", str(path), "-o", str(folder / "x.csv")])
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output, result.output
    if result.exit_code:
        assert not (folder / "x.csv").exists()
