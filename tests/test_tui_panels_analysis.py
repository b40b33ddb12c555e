"""The probe, trajectory, saliency and counterfactual panels in a small host app: each computes
in a worker, and the numbers it shows are the analysis package's for the same timeline."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest
from analysis_panel_support import Host, Timeline, settle

from inspector.analysis import feature, probe, saliency
from inspector.analysis.counterfactual import (
    SAME_DISTANCE,
    SAME_KL,
    branch_diff,
    intervention_diff,
)
from inspector.analysis.trajectory import trajectory, visited_fixed_points
from inspector.engine import inspectable, trace
from inspector.engine.records import Intervention
from inspector.loading import ModelSource, open_model
from inspector.tui.panels.counterfactual import CounterfactualPanel, number
from inspector.tui.panels.probe import ProbePanel, score_text
from inspector.tui.panels.saliency import BARS, SaliencyPanel, level_of
from inspector.tui.panels.trajectory import TrajectoryPanel
from models import tasks

DOUBLED = tasks.doubled_source(0, 26) * 4  # 208 steps: every letter in both pair positions


@pytest.fixture(scope="module")
def zoo():
    return {name: inspectable(open_model(ModelSource(name)))
            for name in ("doubled-lstm", "doubled-mlp", "flipflop-rnn")}


def table_rows(widget) -> dict[str, str]:
    """Lines of a panel's table by their first word (a layer name, a step number)."""
    out = {}
    for line in widget.text().splitlines():
        words = line.split()
        if words:
            out.setdefault(words[0], line)
    return out


# ---- probe ------------------------------------------------------------------------------------

async def test_the_probe_panel_shows_the_probe_of_the_analysis_package(zoo):
    model = zoo["doubled-lstm"]
    timeline = Timeline(model, task="doubled").feed(DOUBLED)
    app = Host(ProbePanel)
    async with app.run_test(size=(120, 20)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        panel = app.panel
        assert threading.current_thread() is threading.main_thread()
        expected = probe(model, DOUBLED, feature("pair-position", DOUBLED))
        text = panel.table.text()
        assert text.startswith("probe pair-position (the task's; name another in Units)")
        assert f"{len(DOUBLED)} steps: {expected.train_steps} fit, " \
               f"{expected.test_steps} held out" in text
        rows = table_rows(panel.table)
        for layer in expected.layers:
            row = rows[layer.name]
            shown = re.findall(r"[\d.]+%", row)
            assert shown == [score_text("accuracy", layer.accuracy).strip(),
                             score_text("accuracy", layer.baseline).strip()]
            assert f"{layer.top_units[0][0]} {layer.top_units[0][1]:+.2f}" in row
        assert max(layer.accuracy for layer in expected.layers) >= 0.99

        timeline.feed("aabb")  # the session grows: the probe is refitted on every step
        app.dock.update_input(timeline.input())
        await settle(pilot)
        grown = DOUBLED + "aabb"
        again = probe(model, grown, feature("pair-position", grown))
        assert f"{len(grown)} steps" in panel.table.text()
        assert score_text("accuracy", again.layers[0].accuracy).strip() in \
            table_rows(panel.table)[again.layers[0].name]


async def test_the_mlp_probe_stays_at_its_baseline_and_a_chosen_feature_is_used(zoo):
    model = zoo["doubled-mlp"]
    timeline = Timeline(model, task="doubled").feed(DOUBLED)
    app = Host(ProbePanel)
    async with app.run_test(size=(120, 20)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        expected = probe(model, DOUBLED, feature("pair-position", DOUBLED)).layers[0]
        row = table_rows(app.panel.table)["l0.h"]
        assert score_text("accuracy", expected.accuracy).strip() in row
        assert abs(expected.accuracy - expected.baseline) < 0.1  # no memory: nothing to read
        app.dock.update_input(timeline.input(feature="char=a"))
        await settle(pilot)
        assert app.panel.table.text().startswith("probe char=a ·")


async def test_too_few_steps_say_how_many_more(zoo):
    timeline = Timeline(zoo["doubled-lstm"], task="doubled").feed("aab")
    app = Host(ProbePanel)
    async with app.run_test(size=(100, 16)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        assert app.panel.note.text() == ("probe pair-position: type 5 more step(s) to fit one "
                                         "part and score the rest")


# ---- trajectory -------------------------------------------------------------------------------

async def test_the_trajectory_marks_the_fixed_points_of_the_input_on_view(zoo):
    model = zoo["flipflop-rnn"]
    text = tasks.sample_text("flipflop")[:300]
    t = max(i for i, char in enumerate(text) if char == ".")
    timeline = Timeline(model, task="flipflop").feed(text)
    app = Host(TrajectoryPanel)
    async with app.run_test(size=(120, 20)) as pilot:
        app.dock.update_input(timeline.input(t=t, unit="l0.h[3]"))
        await settle(pilot)
        arrays = trace(model, text).arrays
        fixed = visited_fixed_points(model, ".", arrays)
        expected = trajectory(np.asarray(arrays["l0.h"], dtype=np.float64), "l0.h", 0, fixed)
        lines = app.panel.plot.text().splitlines()
        stable = sum(p.stable for p in fixed.points)
        unstable = len(fixed.points) - stable
        outputs = ",".join(sorted({p.output for p in fixed.points if p.stable}))
        pcs = " × ".join(f"PC{i + 1} ({share:.0%})" for i, share in
                         enumerate(expected.explained))
        assert lines[0] == (f"l0.h in {pcs} · ◆ t={t} x=. · hold .: ● {stable} stable "
                            f"(→{outputs}) ○ {unstable} unstable · 48 starts")
        assert stable >= 4
        assert lines[-2] == "max|λ| " + " ".join(
            f"{'●' if p.stable else '○'}→{p.output} {p.max_abs_eig:.3f}" for p in fixed.points)
        plot = "\n".join(lines[1:-2])
        assert plot.count("◆") == 1 and 1 <= plot.count("●") <= stable
        assert len(lines) - 2 == app.panel.size.height - 3  # the plot fills the panel

        app.dock.update_input(timeline.input(t=t - 1 if text[t - 1] != "." else 0))
        await settle(pilot)
        assert "◆ t=" in app.panel.plot.text()


async def test_the_doubled_lstm_hops_show_the_pairs(zoo):
    model = zoo["doubled-lstm"]
    text = tasks.doubled_source(0, 30)
    timeline = Timeline(model, task="doubled").feed(text)
    app = Host(TrajectoryPanel)
    async with app.run_test(size=(120, 20)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        hop = app.panel.plot.text().splitlines()[-1]
        assert hop.startswith("‖Δh‖ ")
        bars = hop[len("‖Δh‖ "):].split()
        shown_first = len(text) - len(bars)
        levels = ["▁▂▃▄▅▆▇█".index(b) for b in bars]
        # bar i is the hop into step shown_first + i: into a second letter short, into a new
        # pair long; no pair's hop out is lower than its hop in (eight levels: some tie), and
        # on average it is more than a level higher
        pairs = [(levels[i], levels[i + 1]) for i in range(len(levels) - 1)
                 if (shown_first + i) % 2 == 1]
        assert len(pairs) >= 20 and all(inside <= across for inside, across in pairs)
        assert np.mean([across - inside for inside, across in pairs]) > 1.0
        assert f" · hold {text[-1]}: ● " in app.panel.plot.text().splitlines()[0]


async def test_the_mlp_trajectory_says_it_has_no_fixed_points(zoo):
    timeline = Timeline(zoo["doubled-mlp"], task="doubled").feed("aabbccdd")
    app = Host(TrajectoryPanel)
    async with app.run_test(size=(80, 16)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        assert "an MLP has no state: no fixed points" in app.panel.plot.text().splitlines()[0]


# ---- saliency ---------------------------------------------------------------------------------

async def test_the_saliency_strip_is_the_analysis_packages_saliency(zoo):
    model = zoo["doubled-lstm"]
    text = "aabbccddeeff"
    timeline = Timeline(model, task="doubled").feed(text)
    app = Host(SaliencyPanel)
    async with app.run_test(size=(120, 16)) as pilot:
        for t in (len(text) - 1, 6):
            app.dock.update_input(timeline.input(t=t))
            await settle(pilot)
            expected = saliency(model, text, t)
            lines = app.panel.strip.text().splitlines()
            total = sum(expected.scores)
            ranked = sorted(range(t + 1), key=lambda s: -expected.scores[s])[:3]
            best = " · ".join(f"t={s} {text[s]} {expected.scores[s] / total:.0%}" for s in ranked)
            assert lines[0] == (f"saliency of {expected.prediction} predicted at t={t} "
                                f"(x={text[t]}): ‖∂logit/∂x‖² of each step's input")
            assert lines[3] == f"largest shares of the sum: {best}"
            assert lines[1].rstrip() == "x " + " ".join(text[:t + 1])
            top = max(expected.scores)
            bars = [lines[2][2 + 2 * s] for s in range(t + 1)]
            assert bars == [BARS[level_of(score, top)] for score in expected.scores]


async def test_the_saliency_says_what_it_cannot_explain(zoo):
    timeline = Timeline(zoo["doubled-lstm"], task="doubled")
    app = Host(SaliencyPanel)
    async with app.run_test(size=(100, 16)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        assert app.panel.note.text() == "saliency: type a character to explain its prediction"
        timeline.feed("ab")
        timeline.session.intervene(Intervention("set", "l0.h", 1, 2.0))
        timeline.feed("b")
        app.dock.update_input(timeline.input())
        await settle(pilot)
        assert "interventions are not in it" in app.panel.strip.text()


# ---- counterfactual ---------------------------------------------------------------------------

def diff_row(line: str) -> list[str]:
    return line.replace("◆", " ").split()


async def test_the_diff_after_an_intervention_is_the_analysis_packages(zoo):
    model = zoo["doubled-lstm"]
    timeline = Timeline(model, task="doubled").feed("aabbcc")
    timeline.session.intervene(Intervention("set", "l1.h", None, 3.0))
    timeline.feed("ddeeff")
    app = Host(CounterfactualPanel)
    async with app.run_test(size=(120, 24)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        expected = intervention_diff(timeline.session.clone())
        lines = app.panel.table.text().splitlines()
        assert lines[0] == ("vs the same keys without its 1 intervention "
                            "(ctrl+→ or a click: another)")
        assert lines[1].startswith(f"first difference t={expected.first_difference} · "
                                   f"{expected.flips} of 6 predictions from t=6 flipped")
        assert expected.first_difference == 6 and expected.flips > 0
        rows = {diff_row(line)[0]: diff_row(line) for line in lines[3:]}
        assert set(rows) == {str(t) for t in range(6, 12)}  # before t=6: the same run
        assert all(d == 0 for step in expected.steps[:6] for d in step.distances)
        for step in expected.steps[6:]:
            row = rows[str(step.t)]
            assert row[1] == step.typed_b
            for shown, value in zip(row[2:6], step.distances, strict=True):
                if shown == "≈0":  # float32 rounding between two paths, not a difference
                    assert 0 < value <= SAME_DISTANCE
                else:
                    assert float(shown) == pytest.approx(value, rel=5e-3, abs=1e-6)
            assert row[6] == number(step.kl, SAME_KL)
            assert row[7] == f"{step.prediction_a}→{step.prediction_b}"
            assert ("flipped" in row) == step.flipped
        assert "◆" in [line for line in lines if diff_row(line)[:1] == ["6"]][0]
        assert_columns_line_up(lines[2], lines[3:])


def assert_columns_line_up(header: str, rows: list[str]) -> None:
    """Every value ends where its column's name ends, for one- and two-digit t alike."""
    names = ["t", *(name for name in header.split() if name.startswith("‖")), "bits"]
    ends = [header.index(name) + len(name) for name in names]
    assert {len(diff_row(row)[0]) for row in rows} == {1, 2}  # t=6..11
    for row in rows:
        words = diff_row(row)
        for name, end, value in zip(names, ends, [words[0], *words[2:7]], strict=True):
            assert row[:end].rstrip().endswith(value) and row[end:end + 1] in ("", " ", "◆"), (
                f"{value} is not under {name}:\n{header}\n{row}")
        assert row.index(words[1], len(words[0])) == header.index(" x ") + 1  # the character


async def test_the_diff_between_two_branches(zoo):
    model = zoo["doubled-lstm"]
    timeline = Timeline(model, task="doubled").feed("aabbcc")
    timeline.session.fork("b1", at=4)  # b1 holds aabb, then goes on differently
    timeline.feed("ddee")
    timeline.session.switch("main")
    timeline.feed("dd")
    app = Host(CounterfactualPanel)
    async with app.run_test(size=(120, 24)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        expected = branch_diff(timeline.session.clone(), "b1")
        lines = app.panel.table.text().splitlines()
        assert lines[0] == "vs branch b1 (ctrl+→ or a click: another)"
        assert lines[1].startswith("first difference t=4 ·")
        assert expected.first_difference == 4
        rows = {diff_row(line)[0]: diff_row(line) for line in lines[3:]}
        assert "7" in rows and len(rows) >= 5  # the newest steps that fit, up to the one on view
        for step in expected.steps:
            if str(step.t) in rows:
                assert rows[str(step.t)][6] == number(step.kl, SAME_KL)
                assert rows[str(step.t)][7] == f"{step.prediction_a}→{step.prediction_b}"
                assert rows[str(step.t)][2] == number(step.distances[0], SAME_DISTANCE)


async def test_nothing_to_compare_says_how_to_make_something(zoo):
    timeline = Timeline(zoo["doubled-lstm"], task="doubled").feed("aabb")
    app = Host(CounterfactualPanel)
    async with app.run_test(size=(120, 16)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        assert app.panel.note.text().startswith("counterfactual: nothing to compare yet")


async def test_a_click_compares_with_the_next_reference(zoo):
    model = zoo["doubled-lstm"]
    timeline = Timeline(model, task="doubled").feed("aabb")
    timeline.session.fork("b1")
    timeline.feed("cc")
    timeline.session.switch("main")
    timeline.session.intervene(Intervention("zero", "l0.c"))
    timeline.feed("cc")
    app = Host(CounterfactualPanel)
    async with app.run_test(size=(120, 24)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        assert app.panel.table.text().splitlines()[0].startswith("vs the same keys without")
        await pilot.click(app.panel.table)
        await settle(pilot)
        lines = app.panel.table.text().splitlines()
        assert lines[0] == "vs branch b1 (ctrl+→ or a click: another)"
        expected = branch_diff(timeline.session.clone(), "b1")
        assert lines[1].startswith(f"first difference t={expected.first_difference} ·")
        await pilot.click(app.panel.table)
        await settle(pilot)
        assert app.panel.table.text().splitlines()[0].startswith("vs the same keys without")


def test_the_four_panels_are_registered_in_dock_order():
    from inspector.tui.panels import panel_specs

    ids = [spec.id for spec in panel_specs()]
    mine = [i for i in ids if i in ("probe", "trajectory", "saliency", "diff")]
    assert mine == ["probe", "trajectory", "saliency", "diff"]


def test_importing_the_panels_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys\n"
            "import inspector.tui.panels.probe, inspector.tui.panels.trajectory\n"
            "import inspector.tui.panels.saliency, inspector.tui.panels.counterfactual\n"
            "from inspector.tui.panels import panel_specs\n"
            "panel_specs()\n"
            "print('torch' in sys.modules, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


async def test_a_quiet_panel_computes_once_the_frames_pause():
    from textual.app import App, ComposeResult

    from inspector.tui.panels.base import ArrayActivations, ModelInfo, PanelInput, PanelSpec
    from inspector.tui.panels.dock import AnalysisDock
    from inspector.tui.panels.quiet import QuietPanel

    class Counting(QuietPanel):
        def __init__(self) -> None:
            super().__init__()
            self.computed: list[int] = []

        def compute(self, data):
            self.computed.append(data.generation)
            return data.generation

        def draw(self, result) -> None:
            self.shown = result

    class One(App):
        def compose(self) -> ComposeResult:
            yield AnalysisDock([PanelSpec("c", "C", Counting)])

    info = ModelInfo("m", "rnn", 1, 1, (), ("a",))
    app = One()
    async with app.run_test() as pilot:
        dock = app.query_one(AnalysisDock)
        panel = dock.panel
        for generation in range(1, 6):  # five frames, faster than the quiet time
            dock.update_input(PanelInput(generation, info, ("a",) * generation, None, None,
                                         ArrayActivations({}), run=lambda job: job(None)))
            await pilot.pause(0.02)
        assert panel.computed == [] and panel.waiting_for_quiet
        await pilot.pause(panel.quiet + 0.1)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert panel.computed == [5] and panel.shown == 5


async def test_the_saliency_colours_the_screens_tape_while_on_view(zoo):
    from inspector.tui.panels.base import AnalysisPanel

    model = zoo["doubled-lstm"]
    text = "aabbccdd"
    timeline = Timeline(model, task="doubled").feed(text)
    asked = []

    class Screen(Host):
        def on_analysis_panel_colour_tape(self, message: AnalysisPanel.ColourTape) -> None:
            asked.append((message.values, message.label, message.generation))

    app = Screen(SaliencyPanel)
    async with app.run_test(size=(100, 16)) as pilot:
        app.dock.update_input(timeline.input(t=5))
        await settle(pilot)
        expected = saliency(model, text, 5)
        values, label, generation = asked[-1]
        # the worker thread may sum in another order than this one (torch's thread count):
        # equal to float32 rounding, and the steps after the one on view are exactly none
        assert values[-2:] == (0.0, 0.0)
        assert values[:-2] == pytest.approx(expected.scores, rel=1e-5, abs=1e-9)
        assert label == f"saliency of {expected.prediction} at t=5"
        assert generation == timeline.generation
        app.panel.activate(False)
        await pilot.pause()
        assert asked[-1][0] is None  # off view: the tape goes back to its own colours


async def test_ctrl_right_takes_the_next_reference_like_a_click(zoo):
    timeline = Timeline(zoo["doubled-lstm"], task="doubled").feed("aabb")
    timeline.session.fork("b1")
    timeline.feed("cc")
    timeline.session.switch("main")
    timeline.session.intervene(Intervention("zero", "l0.c"))
    timeline.feed("cc")
    app = Host(CounterfactualPanel)
    async with app.run_test(size=(120, 24)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        app.panel.option(1)
        await settle(pilot)
        assert app.panel.table.text().startswith("vs branch b1")
        app.panel.option(-1)
        await settle(pilot)
        assert app.panel.table.text().startswith("vs the same keys without")
