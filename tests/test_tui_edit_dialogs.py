"""F5 and the handoff dialog name the real problem with a target and show examples the model
open accepts; branches can be renamed and deleted from the F7 picker after F6 forked them."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Label, OptionList
from tui_support import make_checkpoint, settle, status, tape_lines

from inspector.tui.app import InspectorApp
from inspector.tui.edits import (
    EditError,
    StateShape,
    handoff_help,
    intervention_help,
    parse_handoff_edit,
    parse_intervention,
)
from inspector.tui.screens.branches import BranchPicker, RenameBranch
from inspector.tui.screens.confirm import Confirm
from inspector.tui.screens.edit_prompt import EditPrompt

GRU_1 = StateShape(layers=1, hidden=16, has_cell=False, cell="gru")
LSTM_2 = StateShape(layers=2, hidden=64, has_cell=True, cell="lstm")


def refusal(line: str, shape: StateShape) -> str:
    with pytest.raises(EditError) as caught:
        parse_intervention(line, "l0.h", 0, shape=shape)
    return str(caught.value)


def test_a_gate_as_target_is_named_a_gate():
    for line in ("set l0.gate.z[3] 1", "clamp l0.z 0.5", "zero l0.r[2]"):
        message = refusal(line, GRU_1)
        assert "is a gate" in message and "l0.h" in message and "l0.c" not in message, message
    assert "l1.h or l1.c" in refusal("set l1.gate.f[0] 1", LSTM_2)


def test_layers_units_and_cell_state_out_of_range_are_named():
    assert refusal("set l1.h[3] 1", GRU_1) == (
        "l1.h: there is no layer 1; this model has 1 layer: l0")
    assert refusal("set l0.h[16] 1", GRU_1) == (
        "l0.h[16]: there is no unit 16; l0.h has units 0..15")
    assert refusal("clamp l0.c[5] 0.5", GRU_1) == (
        "l0.c: this GRU keeps no cell state c, only h (l0.h)")
    assert refusal("set l2.c 1", LSTM_2) == (
        "l2.c: there is no layer 2; this model has 2 layers: l0, l1")
    assert "needs its layer, e.g. l0.h[3]" in refusal("set h[3] 1", GRU_1)
    assert "not a target" in refusal("set l0.x[3] 1", GRU_1)
    # what is valid still parses, a number is never taken for a target
    iv = parse_intervention("clamp l1.c[63] -1e3", "l0.h", 0, shape=LSTM_2)
    assert (iv.kind, iv.target, iv.unit, iv.value) == ("clamp", "l1.c", 63, -1000.0)
    assert parse_intervention("set 1e-3", "l0.h", 15, shape=GRU_1).value == 0.001


@pytest.mark.parametrize("shape", [GRU_1, LSTM_2, StateShape(3, 4, False, "rnn")])
def test_the_dialogs_examples_are_valid_for_the_model_open(shape):
    example = intervention_help(shape).rsplit("e.g. ", 1)[1]
    parse_intervention(example, "l0.h", 0, shape=shape)  # raises if the example is wrong
    assert "l1.c" not in intervention_help(GRU_1) and "l0.h[5]" in intervention_help(GRU_1)
    set_line = handoff_help(shape).splitlines()[1].split(" · ")[0].replace("VALUE", "0.5")
    parse_handoff_edit(set_line, shape)
    assert parse_handoff_edit("swap l0.world", shape).source == "l0.world"  # a source, not a target


def test_the_handoff_grammar_checks_the_decoders_shape():
    with pytest.raises(EditError, match="no cell state"):
        parse_handoff_edit("zero l0.c", GRU_1)
    with pytest.raises(EditError, match="is a gate"):
        parse_handoff_edit("scale l0.gate.z 2", GRU_1)
    with pytest.raises(EditError, match="no unit 99"):
        parse_handoff_edit("set l0.h[99] 1", GRU_1)


async def test_f5_on_a_one_layer_gru_shows_its_examples_and_keeps_the_line_on_an_error(tmp_path):
    gru = make_checkpoint(tmp_path / "gru.safetensors", cell="gru", layers=1, hidden=16)
    app = InspectorApp(str(gru))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "f5")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EditPrompt)
        hint = str(dialog.query_one("#prompt-hint", Label).render())
        assert "l0.h[5]" in hint and "l1." not in hint and ".c[" not in hint
        for line, words in (("set l0.gate.z[3] 1", "is a gate"),
                            ("clamp l0.c[5] 0.5", "keeps no cell state"),
                            ("set l2.h[1] 1", "there is no layer 2"),
                            ("set l0.h[40] 1", "there is no unit 40")):
            dialog.query_one(Input).value = ""
            await pilot.press(*line, "enter")
            await pilot.pause()
            assert app.screen is dialog  # still open, with what was typed
            assert dialog.query_one(Input).value == line
            assert words in str(dialog.query_one("#prompt-error", Label).render())
        assert tape_lines(app)[0] == "x a"  # nothing typed in the dialog reached the model


def branch_rows(app) -> list[str]:
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_branches_are_renamed_and_deleted_from_the_picker(tmp_path):
    lstm = make_checkpoint(tmp_path / "one.safetensors", layers=1, hidden=16)
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"abc", "f6")  # F6 still forks with one key
        await settle(pilot)
        await pilot.press(*"xy", "f6", "z")
        await settle(pilot)
        assert "branch b2 (forked at t=5) of 3" in status(app)
        await pilot.press("f7")
        await pilot.pause()
        assert isinstance(app.screen, BranchPicker)
        await pilot.press("up", "r")  # rename b1
        await pilot.pause()
        assert isinstance(app.screen, RenameBranch)
        assert app.screen.query_one(Input).value == "b1"
        app.screen.query_one(Input).value = ""
        await pilot.press(*"main", "enter")  # taken: said in the dialog, which stays open
        await pilot.pause()
        assert isinstance(app.screen, RenameBranch)
        assert "exists already" in str(app.screen.query_one("#prompt-error", Label).render())
        app.screen.query_one(Input).value = ""
        await pilot.press(*"with xy", "enter")
        await pilot.pause()
        assert isinstance(app.screen, BranchPicker)
        assert branch_rows(app)[1].startswith("with xy  5 steps · forked at t=3")
        await pilot.press("down", "r")  # rename the branch on screen: the status line follows
        await pilot.pause()
        app.screen.query_one(Input).value = ""
        await pilot.press(*"xyz", "enter")
        await pilot.pause()
        assert "branch xyz (forked at t=5) of 3" in status(app)
        await pilot.press("d")  # the branch on screen cannot go
        await pilot.pause()
        assert isinstance(app.screen, BranchPicker)
        assert "on screen" in str(app.screen.query_one("#prompt-error", Label).render())
        await pilot.press("up", "d")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")  # no: nothing deleted
        await pilot.pause()
        assert len(branch_rows(app)) == 3
        await pilot.press("d", "y")
        await pilot.pause()
        assert [row.split()[0] for row in branch_rows(app)] == ["main", "xyz"]
        await pilot.press("up", "enter")  # switch to main
        await settle(pilot)
        assert tape_lines(app)[0] == "x a b c"
        assert "branch main of 2" in status(app)


def test_f10_never_replaces_a_session_file_without_saying_which(tmp_path):
    from inspector.tui.screens.path_prompt import SessionPath

    validator = SessionPath()
    assert validator.validate(str(tmp_path / "new.json")).is_valid
    existing = tmp_path / "old.json"
    existing.write_text("{}")
    (said,) = validator.validate(str(existing)).failure_descriptions
    assert said == f"{existing.resolve()} exists: Enter again replaces it"
    assert validator.validate(str(existing)).is_valid  # asked once, then replaced


async def test_a_saved_sessions_other_branch_can_be_switched_to_renamed_and_deleted(tmp_path):
    from test_tui_sessions import answer

    lstm = make_checkpoint(tmp_path / "one.safetensors", layers=1, hidden=8)
    path = tmp_path / "room.json"
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"ab", "f6", *"cd")
        await settle(pilot)
        await pilot.press("f10")
        await answer(pilot, str(path))
        await pilot.press("ctrl+l")
        await answer(pilot, str(path))
        assert tape_lines(app)[0] == "x a b c d" and "branch b1" in status(app)
        await pilot.press("f7")
        await pilot.pause()
        await pilot.press("up", "enter")  # main: a branch this screen never showed
        await settle(pilot)
        assert tape_lines(app)[0] == "x a b" and "branch main" in status(app)
        await pilot.press("f7")
        await pilot.pause()
        await pilot.press("down", "r")
        await pilot.pause()
        app.screen.query_one(Input).value = "cd"
        await pilot.press("enter")
        await pilot.pause()
        assert [row.split()[0] for row in branch_rows(app)] == ["main", "cd"]
        await pilot.press("enter")
        await settle(pilot)
        assert tape_lines(app)[0] == "x a b c d" and "branch cd (forked at t=2) of 2" in status(app)
