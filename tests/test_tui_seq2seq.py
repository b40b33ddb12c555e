"""Pilot tests of the seq2seq screen: source, encoder steps, handoff panel, decoder output and
steps, stepping, handoff edits; asserted on what the widgets show."""

from __future__ import annotations

import json

import pytest
from experiment_support import help_text, make_seq2seq, open_seq2seq
from textual.widgets import Input, Label
from tui_support import make_checkpoint, settle, status

from inspector.engine import HandoffEdit, Seq2SeqSession, inspectable
from inspector.loading import open_model
from inspector.tui.app import InspectorApp
from inspector.tui.commands import InspectorCommands
from inspector.tui.screens.edit_prompt import EditPrompt
from inspector.tui.screens.help import HelpScreen
from inspector.tui.widgets.lines import LinesWidget
from inspector.tui.widgets.step_log import StepLog
from inspector.tui.widgets.tape import Tape
from inspector.tui.widgets.top_k import TopK


def shown(app: InspectorApp, widget_id: str) -> str:
    return app.seq2seq.query_one(f"#{widget_id}", LinesWidget).text()


def decoder_log(app: InspectorApp) -> list[str]:
    return app.seq2seq.query_one("#decoder-log", StepLog).texts


def decoder_tape(app: InspectorApp) -> list[str]:
    tape = app.seq2seq.query_one("#decoder-tape", Tape)
    return [tape.line_text(y) for y in range(3)]



async def edit(pilot, line: str) -> None:
    await pilot.press("f5")
    await pilot.pause()
    assert isinstance(pilot.app.screen, EditPrompt)
    pilot.app.screen.query_one(Input).value = line  # typing in the dialog: see the test below
    await pilot.press("enter")
    await pilot.pause()
    await pilot.pause()


async def test_reverse_seq2seq_encodes_hands_over_and_decodes_olleh():
    app = InspectorApp("reverse-seq2seq")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        assert "Enter hands over" in shown(app, "output")
        await pilot.press(*"hello")
        await pilot.pause()
        assert shown(app, "source").startswith("source hello")
        encoder = app.seq2seq.query_one("#encoder-log", StepLog).texts
        assert encoder[-1].startswith("t=4  x='o'  l1.h[0:8]=[")  # the state after the step
        norms = shown(app, "handoff-norms").splitlines()
        assert [line.split()[0] for line in norms] == ["l0", "l1"]
        assert "‖h‖" in norms[0] and "‖c‖" in norms[0]
        await pilot.press("enter")
        await pilot.pause()
        assert shown(app, "output") == "output olleh  6 steps"
        log = decoder_log(app)
        assert len(log) == 6
        assert log[0].startswith("t=0  x=<s>  → y='o'")
        assert log[-1].startswith("t=5  x='h'  → y=</s>")
        assert decoder_tape(app)[:2] == ["x ⟨ o l l e h", "y o l l e h ⟩"]
        assert "✗" not in decoder_tape(app)[2]


async def test_the_decoder_steps_one_token_per_key():
    app = InspectorApp("reverse-seq2seq")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        await pilot.press(*"abc", "f6", "f6")
        await pilot.pause()
        assert shown(app, "output") == "output cb …  2 steps"
        assert len(decoder_log(app)) == 2
        await pilot.press("f6", "f6", "f6")
        await pilot.pause()
        assert shown(app, "output") == "output cba  4 steps"
        assert decoder_log(app)[-1].endswith("…]") and "y=</s>" in decoder_log(app)[-1]
        await pilot.press("backspace")  # a new source: the decode is gone
        await pilot.pause()
        assert shown(app, "source").startswith("source ab")
        assert "Enter hands over" in shown(app, "output")


async def test_handoff_edits_rerun_the_decode_live():
    app = InspectorApp("reverse-seq2seq")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        await pilot.press(*"hello", "enter")
        await pilot.pause()
        assert shown(app, "handoff-edits") == "no edits (F5 edits the handoff)"
        await edit(pilot, "swap world")
        assert shown(app, "handoff-edits") == "◆ swap all with handoff of 'world'"
        assert shown(app, "output") == "output dlrow  6 steps"
        assert "✗" in decoder_tape(app)[2]  # misses against the reverse of the typed source
        await edit(pilot, "clear")
        assert shown(app, "output") == "output olleh  6 steps"
        norms_before = shown(app, "handoff-norms")
        await edit(pilot, "scale 0 l1.c")
        assert shown(app, "handoff-edits") == "◆ scale l1.c × 0"
        assert "‖c‖ 0.00" in shown(app, "handoff-norms").splitlines()[1]
        assert shown(app, "handoff-norms") != norms_before
        await edit(pilot, "set l0.h[3] 1")
        assert shown(app, "handoff-edits").splitlines()[-1] == "◆ set l0.h[3] = 1"
        await edit(pilot, "zero")
        assert "‖h‖ 0.00  ‖c‖ 0.00" in shown(app, "handoff-norms")
        assert shown(app, "output") != "output olleh  6 steps"
        await edit(pilot, "set l0.h[999] 1")  # out of range: said in the dialog, which stays
        assert isinstance(app.screen, EditPrompt)
        said = str(app.screen.query_one("#prompt-error", Label).render())
        assert said == "l0.h[999]: there is no unit 999; l0.h has units 0..127", said
        assert app.screen.query_one(Input).value == "set l0.h[999] 1"
        await pilot.press("escape")
        await pilot.pause()
        assert len(shown(app, "handoff-edits").splitlines()) == 3
        await pilot.press("f7")
        await pilot.pause()
        assert shown(app, "output") == "output olleh  6 steps"


async def test_bad_edit_lines_are_explained_in_the_dialog(tmp_path):
    app = InspectorApp(str(make_seq2seq(tmp_path / "tiny-s2s.safetensors")))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_seq2seq(pilot)
        await pilot.press("f5", *"set 1", "enter")
        await pilot.pause()
        assert "set needs a unit" in str(app.screen.query_one("#prompt-error").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.seq2seq


async def test_seq2seq_keys_are_in_footer_help_and_palette(tmp_path):
    app = InspectorApp(str(make_seq2seq(tmp_path / "tiny-s2s.safetensors")))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        footer = " ".join(str(w.render()) for w in app.seq2seq.query("FooterKey"))
        for word in ("Hand over", "Step decoder", "Edit handoff"):
            assert word in footer
        titles = [title for title, _, _ in InspectorCommands(app.seq2seq).commands()]
        for wanted in ("Hand the encoder's state over and decode to </s>",
                       "Decode one more step (the first press hands over)",
                       "Drop every handoff edit"):
            assert wanted in titles
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = help_text(app.screen)
        assert "Edit the handoff" in keys and "Intervene" not in keys
        assert "Enter hands its state over" in str(app.screen.query_one("#help-typing").render())


async def test_keys_queued_while_loading_start_the_source_and_opening_a_char_model_leaves(tmp_path):
    app = InspectorApp(str(make_seq2seq(tmp_path / "tiny-s2s.safetensors")))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"abc")
        await open_seq2seq(pilot)
        assert shown(app, "source").startswith("source abc")
        char_model = make_checkpoint(tmp_path / "tiny-lstm.safetensors")
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one(Input).value = str(char_model)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is app.main and app.seq2seq is None
        assert status(app).startswith("tiny-lstm")
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one(Input).value = "reverse-seq2seq"
        await pilot.press("enter")
        await open_seq2seq(pilot)
        assert shown(app, "status").startswith("reverse-seq2seq │ seq2seq lstm 2×128")
        assert app.screen_stack[-2:] == [app.main, app.seq2seq]


def test_restart_decode_steps_again_from_the_handoff(tmp_path):
    session = Seq2SeqSession(inspectable(open_model(str(make_seq2seq(tmp_path / "s.safetensors")))))
    session.feed_source("abc")
    first = [session.decode_step() for _ in range(3)]
    session.restart_decode()
    again = session.decode_step()
    assert len(session.stepped) == 1
    assert again.prediction == first[0].prediction
    session.edit_handoff(HandoffEdit("zero"))
    assert session.stepped == ()


@pytest.mark.parametrize("key", ["f6", "enter"])
async def test_an_empty_source_still_decodes(tmp_path, key):
    app = InspectorApp(str(make_seq2seq(tmp_path / "tiny-s2s.safetensors")))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_seq2seq(pilot)
        await pilot.press(key)
        await pilot.pause()
        assert shown(app, "output").startswith("output ")
        assert decoder_log(app)


async def test_export_writes_the_seq2seq_trace_of_the_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = InspectorApp("reverse-seq2seq")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        await pilot.press(*"hello", "ctrl+e")
        await pilot.pause()
        assert app.screen.query_one(Input).value == "reverse-seq2seq-trace.json"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        exported = json.loads((tmp_path / "reverse-seq2seq-trace.json").read_text())
        assert exported["output"] == "olleh" and len(exported["encoder"]["steps"]) == 5


async def test_arrows_move_through_the_decoder_steps_with_their_top_k():
    app = InspectorApp("reverse-seq2seq")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        await pilot.press(*"hello", "enter")
        await pilot.pause()
        top = app.seq2seq.query_one("#decoder-top", TopK)
        assert top.line_text(0).startswith("</s> ")  # the newest step ends the output
        await pilot.press("left", "left")
        await pilot.pause()
        assert decoder_log(app)[-1].startswith("t=3  x='l'  → y='e'")
        assert top.line_text(0).startswith("e ") and top.line_text(5).startswith("entropy")
        await edit(pilot, "swap world")  # the same step, after the edit
        assert decoder_log(app)[-1].startswith("t=3  x='r'  → y='o'")
        await pilot.press("right", "right", "right")
        await pilot.pause()
        assert decoder_log(app)[-1].startswith("t=5  x='w'  → y=</s>")


async def test_below_the_minimum_size_the_seq2seq_screen_says_so(tmp_path):
    app = InspectorApp(str(make_seq2seq(tmp_path / "tiny-s2s.safetensors")))
    async with app.run_test(size=(70, 20)) as pilot:
        await open_seq2seq(pilot)
        note = app.seq2seq.query_one("#too-small")
        assert note.display and "too small" in str(note.render())
        assert not app.seq2seq.query_one("#decoder").display
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert not note.display and app.seq2seq.query_one("#decoder").display


async def test_both_logs_show_the_state_after_the_step_of_the_layer_chosen():
    from inspector.tui.text import vector_summary

    session = Seq2SeqSession(inspectable(open_model("reverse-seq2seq")))
    session.feed_source("hello")
    encoder_records = session.encoder.records(0, 5)
    decoded = session.decode().records
    app = InspectorApp("reverse-seq2seq")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        await pilot.press(*"hello", "enter")
        await pilot.pause()
        encoder = app.seq2seq.query_one("#encoder-log", StepLog).texts
        top = len(encoder_records[0].layers) - 1
        last = encoder_records[-1].layers
        assert encoder[-1].endswith(f"l{top}.h[0:8]={vector_summary(last[top].h)}")
        for line, record in zip(decoder_log(app), decoded, strict=True):  # after, like the encoder
            assert line.endswith(f"dec.l{top}.h[0:8]={vector_summary(record.layers[top].h)}")
        await pilot.press("tab")  # both logs follow the layer chosen
        await pilot.pause()
        assert top == 1 and "logs: l0.h" in shown(app, "status")
        encoder = app.seq2seq.query_one("#encoder-log", StepLog).texts
        assert encoder[-1].endswith(f"l0.h[0:8]={vector_summary(encoder_records[-1].layers[0].h)}")
        assert decoder_log(app)[-1].endswith(
            f"dec.l0.h[0:8]={vector_summary(decoded[-1].layers[0].h)}")
