"""What a new user trips over in the first hour (issue 13), figure and table side: several
param groups, the automatic log axis, labels and footers that collide, the last row, the
CyclicLR peak labels and the floats in tables. Through matplotlib objects, never pixels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import lrviz
from lrviz.cli import app
from lrviz.compare import summarize
from lrviz.events import events
from lrviz.render import compare as compare_render
from lrviz.render.figure import figure, flattened_share
from lrviz.render.table import short_cells

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
THREE_GROUPS: dict[str, Any] = {
    "steps": 1000,
    "optimizer": {"type": "AdamW", "param_groups": [{"lr": 1e-5}, {"lr": 3e-5}, {"lr": 1e-4}]},
    "warmup": {"steps": 100, "start_factor": 0.01},
    "scheduler": {"type": "cosine"},
}


def _curves(ax):  # type: ignore[no-untyped-def]
    """The drawn schedules: solid or dashed lines (event lines are dotted)."""
    return [line for line in ax.get_lines() if line.get_linestyle() in ("-", "--")]


def _drawn(fig):  # type: ignore[no-untyped-def]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


# --------------------------------------------------------------- 3: several param groups


def test_legend_and_subtitle_name_groups_by_their_configured_lr() -> None:
    trace = lrviz.simulate(THREE_GROUPS)
    ax = figure(trace).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    # row 0 is the warmup's start (1e-07, ...): not what a group is configured with
    assert labels == ["group 0 (lr 1e-05)", "group 1 (lr 3e-05)", "group 2 (lr 0.0001)"]
    subtitle = ax.get_title(loc="right")
    assert "peak 0.0001 at step 100 (group 2)" in subtitle
    assert "1e-05" not in subtitle.split("·")[1]  # the peak is not group 0's


def test_compare_summary_covers_every_group() -> None:
    summary = summarize(lrviz.simulate(THREE_GROUPS))
    assert summary.lr == (1e-5, 3e-5, 1e-4)
    assert (summary.peak, summary.peak_step, summary.peak_group) == (1e-4, 100, 2)
    row = summary.row()
    assert row[3] == "1e-05 / 3e-05 / 0.0001"
    assert row[5] == "0.0001 (step 100, group 2)"
    assert row[7].count(" / ") == 2  # a final lr per group
    assert summary.to_dict()["lr"] == [1e-5, 3e-5, 1e-4]


def test_compare_prints_every_group(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "groups.yaml"
    spec.write_text(json.dumps({"name": "groups", **THREE_GROUPS}))
    result = runner.invoke(app, ["compare", str(spec), "-o", str(tmp_path / "c.md")])
    assert result.exit_code == 0, result.output
    assert "0.0001 (step 100, group 2)" in result.stdout
    assert "1e-05 / 3e-05 / 0.0001" in (tmp_path / "c.md").read_text()


def test_a_scheduler_that_sets_the_lr_is_named_by_its_peak() -> None:
    spec = {"steps": 400, "optimizer": {"param_groups": [{"lr": 0.1}, {"lr": 0.1}]},
            "scheduler": {"type": "cyclic", "base_lr": [1e-4, 1e-5], "max_lr": [1e-2, 1e-3],
                          "step_size_up": 100}}
    trace = lrviz.simulate(spec)
    labels = [t.get_text() for t in figure(trace).axes[0].get_legend().get_texts()]
    assert labels == ["group 0 (peak 0.01)", "group 1 (peak 0.001)"]
    assert summarize(trace).row()[3] == "set by CyclicLR"


def test_hf_schedule_groups_are_not_lr_0() -> None:
    pytest.importorskip("transformers")
    spec = {"steps": 100, "optimizer": {"param_groups": [{"lr": 2e-5}, {"lr": 1e-4}]},
            "scheduler": {"type": "hf:linear", "num_warmup_steps": 10}}
    trace = lrviz.simulate(spec)
    assert trace.lrs[0, 0] == 0
    labels = [t.get_text() for t in figure(trace).axes[0].get_legend().get_texts()]
    assert labels == ["group 0 (lr 2e-05)", "group 1 (lr 0.0001)"]


# ------------------------------------------------------------------ 4: the automatic log axis

LINEAR = [
    {"steps": 100, "scheduler": {"type": "cosine"}},
    {"steps": 1000, "scheduler": {"type": "cosine"}},  # 6 decades in the last rows' tail
    {"steps": 1000, "scheduler": {"type": "onecycle", "max_lr": 0.1}},
    {"steps": 1000, "warmup": {"steps": 100}, "scheduler": {"type": "cosine"}},
    {"steps": 44, "scheduler": {"type": "exponential", "gamma": 0.9}},  # falls 100-fold
]
LOG = [
    {"steps": 200, "scheduler": {"type": "exponential", "gamma": 0.9}},
    {"steps": 60, "scheduler": {"type": "step", "step_size": 10, "gamma": 0.1}},  # 5 drops
]


@pytest.mark.parametrize("spec", LINEAR)
def test_common_schedules_stay_linear(spec: dict[str, Any]) -> None:
    trace = lrviz.simulate(spec)
    assert figure(trace).axes[0].get_yscale() == "linear"
    assert compare_render.figure([trace]).axes[0].get_yscale() == "linear"


@pytest.mark.parametrize("spec", LOG)
def test_decay_over_many_decades_goes_log(spec: dict[str, Any]) -> None:
    trace = lrviz.simulate(spec)
    assert flattened_share(trace.lrs) > 0.5
    assert figure(trace).axes[0].get_yscale() == "log"
    assert compare_render.figure([trace]).axes[0].get_yscale() == "log"


def test_a_group_flattened_by_another_goes_log() -> None:
    spec = {"steps": 100, "optimizer": {"param_groups": [{"lr": 1e-6}, {"lr": 1e-2}]},
            "scheduler": {"type": "cosine", "eta_min": 0}}
    assert figure(lrviz.simulate(spec)).axes[0].get_yscale() == "log"


def test_the_note_follows_the_same_rule(runner: CliRunner, tmp_path: Path) -> None:
    cosine = runner.invoke(app, ["plot", "cosine", "--steps", "1000", "-o",
                                 str(tmp_path / "c.png")])
    assert cosine.exit_code == 0 and "log axis" not in cosine.stderr
    decay = runner.invoke(app, ["plot", "exponential", "--gamma", "0.9", "--steps", "200",
                                "-o", str(tmp_path / "e.png")])
    assert decay.exit_code == 0
    assert "note: a linear axis would flatten 8" in decay.stderr
    assert "log axis (--linear-y to keep it linear)" in decay.stderr


@pytest.mark.parametrize("command", [
    ["plot", "cosine", "--steps", "10"],
    ["compare", str(CONFIGS / "cosine.yaml")],
])
def test_every_figure_command_refuses_both_scales(runner: CliRunner, tmp_path: Path,
                                                  command: list[str]) -> None:
    out = tmp_path / "x.png"
    result = runner.invoke(app, [*command, "--log-y", "--linear-y", "-o", str(out)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--log-y" in lines[0] and "--linear-y" in lines[0]
    assert lines[0].startswith("error: ")
    assert not out.exists()


@pytest.mark.parametrize(("flag", "log"), [("--log-y", True), ("--linear-y", False)])
def test_compare_takes_either_scale(runner: CliRunner, tmp_path: Path, flag: str,
                                    log: bool) -> None:
    out = tmp_path / "c.json"
    spec = CONFIGS / ("exponential.yaml" if log else "cosine.yaml")
    result = runner.invoke(app, ["compare", str(spec), "--steps", "300", flag, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["meta"]["specs"][0]["plot"] == {"log_y": log}


def test_compare_linear_y_overrides_the_automatic_log() -> None:
    trace = lrviz.simulate({**LOG[0], "plot": {"log_y": False}})
    assert compare_render.figure([trace]).axes[0].get_yscale() == "linear"


# ------------------------------------------------------------ 7: labels and footers collide

LABELLED = [CONFIGS / "cosine_warm_restarts.yaml", CONFIGS / "plateau.yaml",
            CONFIGS / "multistep.yaml", CONFIGS / "cyclic_triangular2.yaml"]


def _trace(path: Path, size: str | None) -> lrviz.Trace:
    spec = lrviz.as_spec(str(path))
    if size is not None:
        from dataclasses import replace

        w, h = (float(v) for v in size.split("x"))
        spec = replace(spec, plot=replace(spec.plot, size=(w, h)))
    return lrviz.simulate(spec)


@pytest.mark.parametrize("size", [None, "5x2.5"])
@pytest.mark.parametrize("path", LABELLED, ids=lambda p: p.stem)
def test_event_labels_cover_no_data_and_stay_inside(path: Path, size: str | None) -> None:
    fig = figure(_trace(path, size))
    renderer = _drawn(fig)
    ax = fig.axes[0]
    assert ax.texts, "the events are labelled"
    page = fig.bbox
    ticks = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
    for text in ax.texts:
        assert text.get_bbox_patch() is None  # no opaque box over anything
        box = text.get_window_extent(renderer)
        assert page.x0 <= box.x0 and box.x1 <= page.x1, text.get_text()  # not cut
        assert not any(box.overlaps(tick) for tick in ticks), text.get_text()
        for line in _curves(ax):
            points = line.get_transform().transform(line.get_xydata())
            inside = ((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
                      & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1))
            assert not inside.any(), f"{text.get_text()!r} covers the curve"


def test_labels_near_the_right_edge_turn_left() -> None:
    spec = {"steps": 100, "scheduler": {"type": "multistep", "milestones": [95], "gamma": 0.5}}
    fig = figure(lrviz.simulate(spec))
    renderer = _drawn(fig)
    [text] = fig.axes[0].texts
    assert text.get_ha() == "right"
    assert text.get_window_extent(renderer).x1 <= fig.axes[0].get_window_extent(renderer).x1


@pytest.mark.parametrize("size", [(8.0, 3.2), (5.0, 2.5)])
def test_warning_footer_is_whole_and_clear_of_the_version(size: tuple[float, float]) -> None:
    from dataclasses import replace

    spec = lrviz.as_spec({"steps": 150, "scheduler": {"type": "cosine", "T_max": 100,
                                                      "eta_min": 0.001}})
    trace = lrviz.simulate(replace(spec, plot=replace(spec.plot, size=size)))
    fig = figure(trace)
    renderer = _drawn(fig)
    footer = fig.legends[0]
    version = next(t for t in fig.texts if t.get_text().startswith("lrviz "))
    assert not footer.get_window_extent(renderer).overlaps(version.get_window_extent(renderer))
    for text in footer.get_texts():
        box = text.get_window_extent(renderer)
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1
    assert "".join(t.get_text() for t in footer.get_texts()).replace("\n", " ").startswith(
        "warning at step 101: CosineAnnealingLR")


def test_momentum_axis_has_no_offset() -> None:
    spec = {"steps": 400, "scheduler": {"type": "cyclic", "base_lr": 1e-4, "max_lr": 1e-2,
                                        "step_size_up": 100, "base_momentum": 0.94999,
                                        "max_momentum": 0.95}}
    fig = figure(lrviz.simulate(spec))
    _drawn(fig)
    for ax in fig.axes[:2]:
        assert ax.yaxis.get_major_formatter().get_offset() == ""


@pytest.mark.parametrize("layout", ["overlay", "grid"])
def test_compare_axis_labels_are_not_smaller_than_ticks(layout: str) -> None:
    traces = [lrviz.simulate(str(CONFIGS / n)) for n in ("cosine.yaml", "step.yaml")]
    fig = compare_render.figure(traces, layout)
    _drawn(fig)
    for ax in fig.axes:
        ticks = [t.get_fontsize() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        for label in (ax.xaxis.label, ax.yaxis.label):
            if label.get_text():
                assert label.get_fontsize() >= max(ticks)


def test_grid_labels_only_outer_panels_and_uses_titles() -> None:
    names = ("cosine.yaml", "step.yaml", "onecycle.yaml")
    traces = [lrviz.simulate(str(CONFIGS / n)) for n in names]
    fig = compare_render.figure(traces, "grid")
    renderer = _drawn(fig)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_ylabel() for ax in visible] == ["learning rate", "", "learning rate"]
    # the lowest panel of each column names the x axis and shows its ticks
    assert [ax.get_xlabel() for ax in visible] == ["", "step", "step"]
    right = visible[1]
    assert any(t.get_text() for t in right.get_xticklabels() if t.get_visible()
               and t.get_window_extent(renderer).height)
    assert [ax.get_title(loc="left") for ax in visible] == [t.spec.title for t in traces]


# ------------------------------------------------------------------------- 8: the last row


def test_last_row_is_drawn_through_to_the_end() -> None:
    trace = lrviz.simulate({"steps": 11, "scheduler": {"type": "cosine", "T_max": 10}})
    ax = figure(trace).axes[0]
    assert ax.get_xlim() == (0, 11)
    [line] = _curves(ax)
    x, y = line.get_xdata(), line.get_ydata()
    assert (x[-2], x[-1]) == (10, 11) and y[-1] == y[-2] == trace.lrs[0, -1] == 0
    assert "final 0" in ax.get_title(loc="right")


def test_a_last_row_after_a_drop_is_no_hairline() -> None:
    trace = lrviz.simulate({"steps": 11, "scheduler": {"type": "step", "step_size": 10}})
    ax = figure(trace).axes[0]
    [line] = _curves(ax)
    x, y = line.get_xdata(), line.get_ydata()
    # row 10 (after the drop) spans all of step 10, up to the axis' end at 11
    assert list(x[-2:]) == [10, 11] and list(y[-2:]) == [trace.lrs[0, 10]] * 2
    assert ax.get_xlim() == (0, 11)


def test_compare_lines_end_at_their_own_length() -> None:
    short = lrviz.simulate({"steps": 11, "scheduler": {"type": "step", "step_size": 10}})
    long = lrviz.simulate({"steps": 30, "scheduler": {"type": "cosine"}})
    ax = compare_render.figure([short, long]).axes[0]
    assert ax.get_xlim() == (0, 30)
    assert [line.get_xdata()[-1] for line in _curves(ax)] == [11, 30]


# --------------------------------------------------------------- 9: CyclicLR peak labels


@pytest.mark.parametrize(("extra", "truthful"), [
    ({"mode": "triangular"}, True),
    ({"mode": "exp_range", "gamma": 0.999}, False),
    ({"mode": "exp_range"}, True),  # gamma 1: the peaks do reach max_lr
    ({"mode": "triangular2"}, None),  # the first reaches it, the later ones do not
])
def test_cyclic_peaks_are_labelled_truthfully(extra: dict[str, Any],
                                              truthful: bool | None) -> None:
    spec = {"steps": 800, "scheduler": {"type": "cyclic", "base_lr": 1e-4, "max_lr": 1e-2,
                                        "step_size_up": 100, **extra}}
    trace = lrviz.simulate(spec)
    peaks = [e for e in events(trace.spec) if "peak" in e.label]
    assert len(peaks) == 4
    for event in peaks:
        at_max = trace.lrs[0, event.step] == pytest.approx(1e-2)
        assert ("at max_lr" in event.label) == at_max, (event, trace.lrs[0, event.step])
    if truthful is not None:
        assert all(("at max_lr" in e.label) == truthful for e in peaks)


# -------------------------------------------------------------------- 11: floats in tables


def test_tables_show_short_values_and_files_keep_exact_ones(runner: CliRunner,
                                                            tmp_path: Path) -> None:
    md, csv = tmp_path / "t.md", tmp_path / "t.csv"
    result = runner.invoke(app, ["table", "multistep", "--milestones", "3,6", "--steps", "10",
                                 "-o", str(md), "-o", str(csv)])
    assert result.exit_code == 0, result.output
    assert "0.010000000000000002" not in result.stdout
    rows = [ln.split() for ln in result.stdout.splitlines() if ln[:4].strip().isdigit()]
    assert [row[1] for row in rows] == ["0.1", "0.01", "0.001", "0.001"]
    assert "| 3 | 0.01 | MultiStepLR milestone 3: lr x 0.1 |" in md.read_text()
    assert "0.010000000000000002" in csv.read_text()  # data files: exact floats


def test_short_values_never_merge_two_different_values() -> None:
    values = np.array([0.85, 0.8500000000000001, 0.123456789, 0.1234567891, np.nan, 1e-7])
    texts = short_cells(values)
    assert texts == ["0.85", "0.8500000000000001", "0.123456789", "0.1234567891", "", "1e-07"]
    assert short_cells(np.array([0.010000000000000002, 0.5])) == ["0.01", "0.5"]


@pytest.mark.parametrize("size", [(5.0, 2.5), (4.0, 2.5)])
def test_title_and_summary_are_not_cut_on_small_figures(size: tuple[float, float]) -> None:
    from dataclasses import replace

    spec = lrviz.as_spec({**THREE_GROUPS, "title": "A rather long title that a user might "
                          "well write for a run of several param groups"})
    fig = figure(lrviz.simulate(replace(spec, plot=replace(spec.plot, size=size))))
    renderer = _drawn(fig)
    for text in (fig.axes[0]._right_title, fig._suptitle):
        assert text is not None and text.get_text()
        box = text.get_window_extent(renderer)
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1, text.get_text()


def test_terminal_axis_ends_at_steps_like_the_figure() -> None:
    from rich.console import Console

    from lrviz.render.terminal import render

    console = Console(width=80, record=True, color_system=None)
    render(lrviz.simulate({"steps": 11, "scheduler": {"type": "step", "step_size": 10}}),
           console)
    axis = console.export_text().splitlines()[-1]
    assert axis.split() == ["0", "5", "11"]


def test_small_lrs_are_in_units_the_label_names_not_a_floating_multiplier() -> None:
    fig = figure(lrviz.simulate(str(CONFIGS / "onecycle_finetune.yaml")))  # peak 5e-05
    _drawn(fig)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "learning rate (x1e-5)"
    assert ax.yaxis.get_offset_text().get_text() == ""  # would sit on the epoch axis
    assert "5" in [t.get_text() for t in ax.get_yticklabels()]


@pytest.mark.parametrize("size", [(3.0, 2.0), (5.0, 2.5), (8.0, 3.2)])
def test_version_note_has_the_bottom_to_itself(size: tuple[float, float]) -> None:
    from dataclasses import replace

    spec = lrviz.as_spec({"steps": 60, "scheduler": {"type": "step", "step_size": 10}})
    fig = figure(lrviz.simulate(replace(spec, plot=replace(spec.plot, size=size))))
    renderer = _drawn(fig)
    version = next(t for t in fig.texts if t.get_text().startswith("lrviz "))
    note = version.get_window_extent(renderer)
    for ax in fig.axes:
        assert not note.overlaps(ax.get_tightbbox(renderer)), ax.get_xlabel()
