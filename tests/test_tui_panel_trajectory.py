"""The trajectory panel's fixed points: searched in a worker for the demo (the full search) and
for states too large for it (a bounded search, said on the panel), equal to what
`rnn-inspect fixed-points MODEL --hold X --input TEXT --starts N --iterations M` finds; the
search says it is running, and is cancelled when the input on view moves on."""

from __future__ import annotations

import dataclasses
import json
import re
import threading

import numpy as np
import pytest
from analysis_panel_support import Host, Timeline, settle

from inspector.cli import main
from inspector.engine import inspectable
from inspector.loading import ModelSource, open_model
from inspector.tui.panels import trajectory as panel_module
from inspector.tui.panels.base import ArrayActivations, ModelInfo, PanelInput
from inspector.tui.panels.trajectory import TrajectoryPanel
from models import tasks

DOUBLED = tasks.doubled_source(0, 26)[:16]  # aabbcc…hh: 16 starts, one a step


def command_line(capsys, model: str, hold: str, text: str, starts: int, iterations: int,
                 settle: int) -> dict:
    assert main(["fixed-points", model, "--hold", hold, "--input", text, "--starts", str(starts),
                 "--iterations", str(iterations), "--settle", str(settle), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def assert_same_points(shown, expected: dict) -> None:
    """The panel's result (FixedPointResult) is the command line's JSON, number for number."""
    assert shown.starts == expected["starts"] and shown.hold == expected["hold"]
    assert len(shown.points) == len(expected["points"]) >= 1
    for ours, theirs in zip(shown.points, expected["points"], strict=True):
        assert ours.stable == theirs["stable"] and ours.output == theirs["output"]
        assert ours.max_abs_eig == pytest.approx(theirs["max_abs_eig"], abs=1e-12)
        for name, values in theirs["state"].items():
            assert np.abs(ours.state[name] - np.array(values)).max() < 1e-12


def header_and_eigen_line(panel) -> tuple[str, str]:
    lines = panel.plot.text().splitlines()
    return lines[0], lines[-2]


def expected_eigen_line(points: list[dict]) -> str:
    return "max|λ| " + " ".join(f"{'●' if p['stable'] else '○'}→{p['output']} "
                                f"{p['max_abs_eig']:.3f}" for p in points)


def test_the_full_search_is_the_analysis_packages_defaults():
    from inspector.analysis.fixed_points import ITERATIONS, SETTLE
    from inspector.analysis.trajectory import FIXED_POINT_STARTS

    assert (panel_module.FULL_STARTS, panel_module.FULL_ITERATIONS, panel_module.FULL_SETTLE) \
        == (FIXED_POINT_STARTS, ITERATIONS, SETTLE)


async def test_the_demo_gets_the_full_search_of_the_command_line(capsys):
    model = inspectable(open_model(ModelSource("doubled-lstm")))  # [h; c] x 2 layers = 256
    timeline = Timeline(model, task="doubled").feed(DOUBLED)
    t, hold = 3, "b"  # the b of "bb": the search finds its stable point
    expected = command_line(capsys, "doubled-lstm", hold, DOUBLED, 48, 200, 300)
    app = Host(TrajectoryPanel)
    async with app.run_test(size=(120, 20)) as pilot:
        app.dock.update_input(timeline.input(t=t))
        await settle(pilot)
        assert_same_points(app.panel.fixed[(timeline.info, hold)], expected)
        header, eigen = header_and_eigen_line(app.panel)
        stable = sum(p["stable"] for p in expected["points"])
        outputs = ",".join(sorted({p["output"] for p in expected["points"] if p["stable"]}))
        assert header.endswith(f"hold {hold}: ● {stable} stable (→{outputs}) ○ "
                               f"{len(expected['points']) - stable} unstable · 16 starts")
        assert eigen == expected_eigen_line(expected["points"])
        assert "●" in "\n".join(app.panel.plot.text().splitlines()[1:-2])


@pytest.fixture(scope="module")
def large_lstm(tmp_path_factory):
    """A 2x130 LSTM: 520 numbers of state, more than the full search is run for."""
    import torch

    from models.char_rnn import CharRNN, CharRNNConfig
    from models.checkpoint import save_checkpoint
    from models.vocab import CharVocab

    torch.manual_seed(0)
    module = CharRNN(CharRNNConfig(27, "lstm", 2, 130, 8))
    path = save_checkpoint(tmp_path_factory.mktemp("m") / "lstm-2x130.safetensors", "char",
                           module, CharVocab.letters())
    return str(path), inspectable(open_model(ModelSource(str(path))))


async def test_a_large_state_gets_a_bounded_search_and_says_so(capsys, large_lstm):
    path, model = large_lstm
    assert panel_module.FULL_SEARCH < 520 <= panel_module.LARGEST_SEARCH
    text = "abcabcabdd" * 2  # 20 steps: 12 evenly spaced starts of them
    timeline = Timeline(model).feed(text)
    expected = command_line(capsys, path, "d", text, panel_module.BOUNDED_STARTS,
                            panel_module.BOUNDED_ITERATIONS, panel_module.BOUNDED_SETTLE)
    app = Host(TrajectoryPanel)
    async with app.run_test(size=(120, 16)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        assert_same_points(app.panel.fixed[(timeline.info, "d")], expected)
        header, eigen = header_and_eigen_line(app.panel)
        assert header.endswith(f"unstable · {panel_module.BOUNDED_STARTS} starts, "
                               f"{panel_module.BOUNDED_ITERATIONS} iterations, settle "
                               f"{panel_module.BOUNDED_SETTLE} (bounded)")
        assert eigen == expected_eigen_line(expected["points"])


async def test_the_search_says_how_far_it_is_and_stops_when_the_input_moves_on(monkeypatch,
                                                                              large_lstm):
    """While a search runs the panel says so, with its progress; moving to a step with another
    input cancels it, and only the new input's points are kept and marked."""
    import inspector.analysis.trajectory as analysis_trajectory

    _, model = large_lstm
    text = "abcabcabdd"
    timeline = Timeline(model).feed(text)
    monkeypatch.setattr(panel_module, "PROGRESS_EVERY", 0.0)
    real = analysis_trajectory.visited_fixed_points
    refining = threading.Event()
    release = threading.Event()

    def held(model, hold, arrays, starts, iterations, progress, settle):
        def paused(stage, done, total):
            progress(stage, done, total)
            if stage == "newton" and hold == "d":  # the first search waits half way
                refining.set()
                release.wait(30)
        return real(model, hold, arrays, starts, iterations, paused, settle)

    monkeypatch.setattr(analysis_trajectory, "visited_fixed_points", held)
    app = Host(TrajectoryPanel)
    async with app.run_test(size=(120, 16)) as pilot:
        app.dock.update_input(timeline.input())  # t = 9, hold d
        for _ in range(200):
            await pilot.pause(0.05)
            if refining.is_set() and "refining" in app.panel.plot.text().splitlines()[0]:
                break
        header = app.panel.plot.text().splitlines()[0]
        assert re.search(r" · fixed points of d: refining \d+/20 · \d+ s · 10 starts, 100 "
                         r"iterations, settle 100 \(bounded\)$", header), header
        assert app.panel.searching
        app.dock.update_input(timeline.input(t=7))  # hold b: the search for d is not wanted
        for _ in range(100):
            await pilot.pause(0.05)
            if app.panel.search_key == (timeline.info, "b"):
                break
        release.set()
        await settle(pilot)
        assert app.panel.cancelled == 1
        assert list(app.panel.fixed) == [(timeline.info, "b")]
        assert "hold b: ●" in app.panel.plot.text().splitlines()[0]
        assert not app.panel.searching


async def test_hiding_the_panel_stops_its_search(monkeypatch, large_lstm):
    import inspector.analysis.trajectory as analysis_trajectory

    _, model = large_lstm
    timeline = Timeline(model).feed("abcab")
    real = analysis_trajectory.visited_fixed_points
    started, release = threading.Event(), threading.Event()

    def held(model, hold, arrays, starts, iterations, progress, settle):
        def paused(stage, done, total):
            started.set()
            release.wait(30)
            progress(stage, done, total)
        return real(model, hold, arrays, starts, iterations, paused, settle)

    monkeypatch.setattr(analysis_trajectory, "visited_fixed_points", held)
    app = Host(TrajectoryPanel)
    async with app.run_test(size=(120, 16)) as pilot:
        app.dock.update_input(timeline.input())
        for _ in range(200):
            await pilot.pause(0.05)
            if started.is_set():
                break
        app.panel.activate(False)
        release.set()
        for _ in range(200):  # the worker stops at its next progress call
            await pilot.pause(0.05)
            if not any(w.is_running for w in app.workers):
                break
        assert app.panel.cancelled == 1 and not app.panel.fixed and not app.panel.searching


async def test_a_state_beyond_the_largest_search_is_left_to_the_command_line():
    info = ModelInfo("huge", "lstm", 3, 700, ("i", "f", "g", "o"), tuple("abc"))
    rows = np.random.default_rng(0).normal(size=(5, 700)).astype(np.float32)

    def never(job):
        raise AssertionError("no search is started")

    data = PanelInput(1, info, tuple("abcab"), 4, None,
                      ArrayActivations({"l0.h": rows}), never)
    app = Host(TrajectoryPanel)
    async with app.run_test(size=(120, 16)) as pilot:
        app.dock.update_input(dataclasses.replace(data))
        await settle(pilot)
        assert ("fixed points: a state of 4200 numbers is too large to search here; run "
                "rnn-inspect fixed-points") in app.panel.plot.text().splitlines()[0]
        assert not app.panel.searching and not app.panel.fixed


async def test_the_doubled_lstms_pairs_show_as_short_then_long_moves(monkeypatch):
    """The two-step rhythm of the doubled task on the panel: the move into a pair's second
    letter is shorter than the move into the next pair — in the full state at every pair (the
    ‖Δh‖ strip under the plot), and in the PC1×PC2 plane the panel draws at most pairs.

    Measured on the zoo's doubled-lstm, l0.h, 208 steps: full state 104 of 104 pairs; in the
    plane ~73% of pairs (mean move 0.84 into a second letter, 1.11 into a new pair). The plane
    does not split first from second letters: the best line through it separates them at ~56%
    (chance is 50%), so the rhythm is in the moves' lengths, not in where the points lie."""
    monkeypatch.setattr(panel_module, "LARGEST_SEARCH", 0)  # the path only: no search
    model = inspectable(open_model(ModelSource("doubled-lstm")))
    text = tasks.doubled_source(0, 26) * 4
    timeline = Timeline(model, task="doubled").feed(text)
    app = Host(TrajectoryPanel)
    async with app.run_test(size=(120, 20)) as pilot:
        app.dock.update_input(timeline.input(unit=None))
        await settle(pilot)
        view = app.panel.view
        assert view.trajectory.name == "l0.h" and len(view.trajectory.path) == len(text)
        moves = np.linalg.norm(np.diff(view.trajectory.path, axis=0), axis=1)  # into step i+1
        into_second, into_next = moves[0::2][:103], moves[1::2][:103]
        assert np.mean(into_second < into_next) >= 0.65
        assert into_second.mean() < 0.85 * into_next.mean()
        hops = view.hops[1:]  # the strip's full-state ‖Δh‖ (hops[0] is from the zero state)
        assert np.all(hops[0::2][:103] < hops[1::2][:103])


async def test_a_grown_session_is_searched_again_from_more_states():
    model = inspectable(open_model(ModelSource("doubled-lstm")))
    timeline = Timeline(model, task="doubled").feed("aabb")
    app = Host(TrajectoryPanel)
    async with app.run_test(size=(120, 20)) as pilot:
        app.dock.update_input(timeline.input())
        await settle(pilot)
        key = (timeline.info, "b")
        assert app.panel.fixed[key].starts == 4
        assert app.panel.plot.text().splitlines()[0].endswith("· 4 starts")
        timeline.feed("aabb")  # the same input on view, twice the states to start from
        app.dock.update_input(timeline.input())
        await settle(pilot)
        assert app.panel.fixed[key].starts == 8
        assert app.panel.plot.text().splitlines()[0].endswith("· 8 starts")
        app.dock.update_input(timeline.input(t=3))  # back to t=3: 8 starts is enough
        await settle(pilot)
        assert app.panel.fixed[key].starts == 8 and not app.panel.searching
