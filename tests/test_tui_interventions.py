"""Pilot tests of interventions and branches on the main screen: what tape, log, unit panel,
status and dialogs show after real key presses."""

from __future__ import annotations

import pytest
from experiment_support import help_text
from textual.widgets import Label, OptionList
from tui_support import log_lines, make_checkpoint, settle, status, tape_lines

from inspector.tui.app import InspectorApp
from inspector.tui.edits import EditError, parse_handoff_edit, parse_intervention
from inspector.tui.screens.branches import BranchPicker
from inspector.tui.screens.edit_prompt import EditPrompt
from inspector.tui.screens.help import HelpScreen
from inspector.tui.widgets.unit_detail import UnitDetail


@pytest.fixture
def one_layer(tmp_path):
    """One layer, so the log's h summary is the layer the interventions edit."""
    return make_checkpoint(tmp_path / "one-lstm.safetensors", layers=1, hidden=16)


async def intervene(pilot, line: str) -> None:
    await pilot.press("f5")
    await pilot.pause()
    assert isinstance(pilot.app.screen, EditPrompt)
    await pilot.press(*line, "enter")
    await settle(pilot)


def unit_h(app) -> str:
    return app.main.query_one(UnitDetail).line_text(1)


def test_the_edit_lines_parse_into_engine_edits():
    iv = parse_intervention("set 0.5", "l0.h", 3)
    assert (iv.kind, iv.target, iv.unit, iv.value) == ("set", "l0.h", 3, 0.5)
    iv = parse_intervention("clamp l1.c[2] -1", "l0.h", 3)
    assert (iv.kind, iv.target, iv.unit, iv.value) == ("clamp", "l1.c", 2, -1.0)
    assert parse_intervention("zero", "l0.h", 3).value is None
    edit = parse_handoff_edit("swap world l0.h")
    assert (edit.kind, edit.target, edit.source) == ("swap", "l0.h", "world")
    assert parse_handoff_edit("scale 0.5").target is None
    assert parse_handoff_edit("set l1.c[4] 2").unit == 4
    assert parse_handoff_edit("clear") is None
    for bad in ("", "frob", "set", "set x", "zero 1"):
        with pytest.raises(EditError):
            parse_intervention(bad, "l0.h", 0)
    for bad in ("set 1", "swap", "scale"):
        with pytest.raises(EditError):
            parse_handoff_edit(bad)


async def test_set_marks_the_next_step_and_backspace_past_it_undoes_it(one_layer):
    app = InspectorApp(str(one_layer))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"ab")
        await settle(pilot)
        await intervene(pilot, "set 0.9")
        assert "next step: set l0.h[0] = 0.9" in status(app)
        await pilot.press("c")
        await settle(pilot)
        tape = tape_lines(app)
        assert tape[2].index("◆") == tape[0].index("c")  # the step that read the edited state
        assert "◆ set l0.h[0] = 0.9  l0.h[0:8]=[" in log_lines(app)[-1]
        assert "◆" not in "".join(log_lines(app)[:-1])
        await pilot.press("backspace", "backspace")  # the step, then the intervention
        await settle(pilot)
        assert "next step" not in status(app)
        await pilot.press("c")
        await settle(pilot)
        assert "◆" not in tape_lines(app)[2]
        assert "◆" not in log_lines(app)[-1]


async def test_clamp_holds_the_unit_on_every_later_step_until_released(one_layer):
    app = InspectorApp(str(one_layer))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await intervene(pilot, "clamp 0.5")
        assert "clamped l0.h[0]=0.5" in status(app)
        for key in "abc":
            await pilot.press(key)
            await settle(pilot)
            assert unit_h(app).startswith("h +0.50")
        assert "◆ clamp l0.h[0] = 0.5  l0.h[0:8]=[0.50 " in log_lines(app)[0]
        assert all("◆ held l0.h[0] = 0.5  l0.h[0:8]=[0.50 " in line
                   for line in log_lines(app)[1:])
        assert tape_lines(app)[2] == "  ◆ ◆ ◆"
        await intervene(pilot, "release")
        assert "clamped" not in status(app)
        await pilot.press("d")
        await settle(pilot)
        assert not unit_h(app).startswith("h +0.50")


async def test_zero_on_another_target_and_a_bad_line_explains_itself(one_layer):
    app = InspectorApp(str(one_layer))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"ab")
        await settle(pilot)
        await pilot.press("f5", *"frob", "enter")
        await pilot.pause()
        error = app.screen.query_one("#prompt-error", Label)
        assert "start with zero, set, clamp" in str(error.render())
        await pilot.press("escape")
        await intervene(pilot, "zero")
        await pilot.press("c")
        await settle(pilot)
        assert "◆ zero l0.h[0]  l0.h[0:8]=[" in log_lines(app)[-1]


async def test_fork_switch_and_see_where_branches_diverge(one_layer):
    app = InspectorApp(str(one_layer))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"abc", "f6")
        await settle(pilot)
        assert "branch b1 (forked at t=3) of 2" in status(app)
        await pilot.press(*"xy")
        await settle(pilot)
        assert tape_lines(app)[0] == "x a b c x y"
        await pilot.press("f7")
        await pilot.pause()
        assert isinstance(app.screen, BranchPicker)
        options = app.screen.query_one(OptionList)
        rows = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert rows == ["main  3 steps · the first branch · diverges at t=3",
                        "b1  5 steps · forked at t=3 · on screen"]
        await pilot.press("up", "enter")
        await settle(pilot)
        assert tape_lines(app)[0] == "x a b c"
        assert "branch main of 2" in status(app)
        # fork in the past: the step on view is the fork point, main keeps all its steps
        await pilot.press("left", "left", "f6")
        await settle(pilot)
        assert tape_lines(app)[0] == "x a"
        assert "branch b2 (forked at t=1) of 3" in status(app)
        await pilot.press("f7")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        assert str(options.get_option_at_index(0).prompt).startswith("main  3 steps")


async def test_the_new_keys_are_in_footer_help_and_palette(one_layer):
    app = InspectorApp(str(one_layer))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        footer = " ".join(str(w.render()) for w in app.main.query("FooterKey"))
        for word in ("Intervene", "Fork", "Branches"):
            assert word in footer
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = help_text(app.screen)
        for key in ("f5", "f6", "f7"):
            assert key in keys.lower()
        assert "Intervene on the selected unit" in keys
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        await pilot.press(*"Fork a branch")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert "branch b1" in status(app)


def test_records_name_the_clamps_holding_their_state(one_layer):
    from inspector.engine import Intervention, Session, inspectable
    from inspector.loading import open_model

    session = Session(inspectable(open_model(str(one_layer))))
    session.feed("a")
    clamp = Intervention("clamp", "l0.h", 2, 0.25)
    session.intervene(clamp)
    records = session.feed("bc")
    assert [r.clamps for r in records] == [(clamp,), (clamp,)]
    assert records[0].interventions == (clamp,) and records[1].interventions == ()
    session.intervene(Intervention("release", "l0.h", 2))
    assert session.feed("d")[0].clamps == ()
    assert session.records(0, 1)[0].clamps == ()


async def test_export_writes_the_timeline_on_view_with_its_interventions(one_layer, tmp_path,
                                                                         monkeypatch):
    """ctrl+e writes what the screen shows: the intervention made at t=2 is in the file, and the
    steps equal a headless Session given the same events; a clean trace differs from t=2 on."""
    import json

    import numpy as np
    from textual.widgets import Input

    from inspector.engine import Intervention, Session, inspectable
    from inspector.loading.native import load_checkpoint
    from inspector.tui.screens.path_prompt import PathPrompt

    monkeypatch.chdir(tmp_path)
    app = InspectorApp(str(one_layer))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"ab")
        await settle(pilot)
        await intervene(pilot, "set l0.h[3] 2.5")
        await pilot.press(*"cd")
        await settle(pilot)
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert isinstance(app.screen, PathPrompt)
        app.screen.query_one(Input).value = str(tmp_path / "run.json")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await settle(pilot)
    exported = json.loads((tmp_path / "run.json").read_text())
    assert [iv["kind"] for iv in exported["interventions"]] == ["set"]
    assert exported["interventions"][0]["t"] == 2 and exported["interventions"][0]["unit"] == 3
    model = inspectable(load_checkpoint(one_layer))
    headless = Session(model)
    headless.feed("ab")
    headless.intervene(Intervention("set", "l0.h", 3, 2.5))
    records = headless.feed("cd")
    steps = exported["steps"]
    assert [s["input"] for s in steps] == list("abcd")
    for step, record in zip(steps[2:], records):
        assert np.array_equal(np.float32(step["layers"][0]["h"]), record.activation("l0.h"))
    clean = Session(model).feed("abcd")
    assert np.allclose(steps[1]["layers"][0]["h"], clean[1].activation("l0.h"), atol=1e-5)
    assert not np.allclose(steps[2]["layers"][0]["h"], clean[2].activation("l0.h"), atol=1e-3)
