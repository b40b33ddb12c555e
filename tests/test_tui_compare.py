"""Pilot tests of compare mode: two models fed the same keys side by side, each with its own
tape, maps and predictions, and the agreement line; asserted on what the widgets show."""

from __future__ import annotations

import time

from experiment_support import compare_ready, make_seq2seq
from textual.widgets import Input
from tui_support import make_checkpoint, settle, status

from inspector.tui.app import InspectorApp
from inspector.tui.controller import common_prefix
from inspector.tui.screens.compare import CompareScreen
from inspector.tui.widgets.agreement import Agreement
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.model_view import ModelView
from inspector.tui.widgets.step_log import StepLog
from inspector.tui.widgets.tape import Tape
from inspector.tui.widgets.unit_detail import UnitDetail


def tapes(app: InspectorApp) -> dict[str, list[str]]:
    """Each view's tape, by the model name in its border."""
    return {view.border_title: [view.query_one(Tape).line_text(y) for y in range(3)]
            for view in app.main.query(ModelView)}


def logs(app: InspectorApp) -> dict[str, list[str]]:
    return {view.border_title: view.query_one(StepLog).texts for view in app.main.query(ModelView)}


def agreement(app: InspectorApp) -> str:
    return app.main.query_one(Agreement).text()


def toasts(app: InspectorApp) -> str:
    return " ".join(n.message for n in app._notifications)  # as test_tui_app reads them



def test_common_prefix():
    assert common_prefix("abc", "abcd") == 3
    assert common_prefix("abcd", "ab") == 2
    assert common_prefix("abxd", "abyd") == 2
    assert common_prefix("", "a") == 0


async def test_doubled_lstm_and_mlp_side_by_side_show_the_mlps_misses():
    app = InspectorApp("doubled-lstm", compare="doubled-mlp")
    async with app.run_test(size=(120, 40)) as pilot:
        await compare_ready(pilot)
        assert isinstance(app.main, CompareScreen)
        assert "both models read every key" in agreement(app)
        await pilot.press(*"aabbcc")
        await settle(pilot)
        shown = tapes(app)
        assert list(shown) == ["doubled-lstm", "doubled-mlp"]
        assert shown["doubled-lstm"][:2] == ["x a a b b c c", "y a b c d e f"]
        assert "✗" not in shown["doubled-lstm"][2]
        assert shown["doubled-mlp"][0] == "x a a b b c c"
        assert "✗" in shown["doubled-mlp"][2]
        first, second = agreement(app).splitlines()
        mlp_misses = shown["doubled-mlp"][2].count("✗")
        assert first.startswith(f"outputs agree on {6 - mlp_misses} of 6 steps · differ at t=")
        assert second == f"misses: doubled-lstm 0 · doubled-mlp {mlp_misses}"
        for lines in logs(app).values():
            assert [line.split()[0] for line in lines] == [f"t={t}" for t in range(6)]


async def test_backspace_arrows_and_reset_reach_both_models(tmp_path):
    first = make_checkpoint(tmp_path / "one-lstm.safetensors", task="doubled")
    second = make_checkpoint(tmp_path / "two-gru.safetensors", cell="gru", layers=1, hidden=32,
                             task="doubled", seed=3)
    app = InspectorApp(str(first), compare=str(second))
    async with app.run_test(size=(80, 24)) as pilot:
        await compare_ready(pilot)
        await pilot.press(*"abcd", "backspace", "x")
        await settle(pilot)
        assert [lines[0] for lines in tapes(app).values()] == ["x a b c x", "x a b c x"]
        await pilot.press("left", "left")
        await pilot.pause()
        assert [lines[-1].split()[0] for lines in logs(app).values()] == ["t=1", "t=1"]
        await pilot.press("ctrl+r", "y")
        await settle(pilot)
        assert [lines[0] for lines in tapes(app).values()] == ["x", "x"]
        assert "both models read every key" in agreement(app)


async def test_a_long_paste_and_a_model_switch_keep_both_in_step(tmp_path):
    first = make_checkpoint(tmp_path / "one-lstm.safetensors")
    second = make_checkpoint(tmp_path / "two-rnn.safetensors", cell="rnn", layers=1, hidden=32)
    third = make_checkpoint(tmp_path / "three-gru.safetensors", cell="gru", layers=1, hidden=16)
    app = InspectorApp(str(first), compare=str(second))
    async with app.run_test(size=(120, 40)) as pilot:
        await compare_ready(pilot)
        app.main.queue_text("abcdefghij" * 100)
        await settle(pilot)
        started = time.perf_counter()
        await pilot.press(*"hello")
        await settle(pilot)
        assert (time.perf_counter() - started) / 5 < 0.25
        assert "outputs agree on" in agreement(app) and "of 1005 steps" in agreement(app)
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one(Input).value = str(third)
        await pilot.press("enter")
        await compare_ready(pilot)
        assert status(app).startswith("three-gru")
        shown = tapes(app)
        assert list(shown) == ["three-gru", "two-rnn"]
        assert {lines[0][-9:] for lines in shown.values()} == {"h e l l o"}


async def test_a_partner_that_cannot_be_compared_is_reported(tmp_path):
    first = make_checkpoint(tmp_path / "one-lstm.safetensors")
    app = InspectorApp(str(first), compare=str(make_seq2seq(tmp_path / "s2s.safetensors")))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in range(100):
            if "cannot compare" in toasts(app):
                break
            await pilot.pause(0.05)
        assert "seq2seq models have their own screen" in toasts(app)
        await pilot.press(*"ab")
        await settle(pilot)
        assert len(app.main.query(ModelView)) == 1
        assert app.main.query_one(Tape).line_text(0) == "x a b"


async def test_clicking_a_partner_unit_beyond_the_first_models_range_is_safe(tmp_path):
    first = make_checkpoint(tmp_path / "small-lstm.safetensors", layers=1, hidden=8)
    second = make_checkpoint(tmp_path / "big-gru.safetensors", cell="gru", layers=2, hidden=64)
    app = InspectorApp(str(first), compare=str(second))
    async with app.run_test(size=(120, 40)) as pilot:
        await compare_ready(pilot)
        await pilot.press(*"ab")
        await settle(pilot)
        partner_map = app.main.query_one("#partner").query(Heatmap).last()
        await pilot.click(partner_map, offset=(0, 3))  # unit 28 of a 7-wide map
        await settle(pilot)
        assert "l0 unit 7" in status(app)
        assert app.main.query_one("#primary").query_one(UnitDetail).line_text(0).startswith(
            "l0 unit 7")


async def test_the_partner_is_mounted_once_when_both_models_arrive_together():
    """The first model reaches the screen through the app's task, the partner through the
    screen's: both ask for the partner view, and there must be one."""
    import asyncio

    app = InspectorApp("doubled-lstm", compare="doubled-gru")
    async with app.run_test(size=(120, 40)) as pilot:
        await compare_ready(pilot)
        await app.main.query_one("#content").remove_children()  # as a model switch does
        app.main.view = None
        app.main.view = ModelView(app.main.controller.layout, id="primary")
        await app.main.query_one("#content").mount(app.main.view)
        await asyncio.gather(app.main.mount_partner(), app.main.mount_partner())
        await settle(pilot)
        assert [view.id for view in app.main.query(ModelView)] == ["primary", "partner"]
        await pilot.press(*"aabb")
        await settle(pilot)
        assert tapes(app)["doubled-gru"][:2] == ["x a a b b", "y a b c d"]
