"""The seq2seq screen on par with the main screen: the decoder's state at the step on view as
heatmaps with a selected unit (↑/↓, Tab, a click), its detail and formulas with the records'
numbers, Home/End through the decode, the output coloured against the task's answer, and
ctrl+r asking before it clears."""

from __future__ import annotations

import numpy as np
from experiment_support import open_seq2seq, seq2seq_settled
from textual.widgets import Input

from inspector.engine import Seq2SeqSession
from inspector.tui.app import InspectorApp
from inspector.tui.explain import formula_value
from inspector.tui.screens.confirm import Confirm
from inspector.tui.screens.edit_prompt import EditPrompt
from inspector.tui.screens.seq2seq import RIGHT, WRONG
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.lines import LinesWidget
from inspector.tui.widgets.unit_detail import UnitDetail


def decoder_maps(app) -> dict[str, Heatmap]:
    return {h.activation: h for h in app.seq2seq.query(Heatmap)
            if h.activation.startswith("dec.")}


def headless_decode(app, source: str):
    session = Seq2SeqSession(app.seq2seq.controller.loaded.model)
    session.feed_source(source)
    return session, session.decode().records


async def test_decoder_maps_follow_the_step_on_view_and_mark_the_selected_unit():
    app = InspectorApp("reverse-seq2seq")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        assert not app.seq2seq.query_one("#decoder-maps").display  # nothing decoded yet
        await pilot.press(*"hello", "enter")
        await pilot.pause()
        session, records = headless_decode(app, "hello")
        maps = decoder_maps(app)
        assert sorted(maps) == ["dec.l0.c", "dec.l0.h", "dec.l1.c", "dec.l1.h"]
        newest = len(records) - 1
        for name, heatmap in maps.items():
            np.testing.assert_allclose(heatmap.values, records[newest].activation(name[4:]),
                                       atol=1e-6)
        assert maps["dec.l1.h"].selected == 0 and maps["dec.l0.h"].selected is None
        await pilot.press("down", "down", "down", "home")  # unit 3, the first step
        await pilot.pause()
        np.testing.assert_allclose(maps["dec.l1.h"].values, records[0].layers[1].h, atol=1e-6)
        assert maps["dec.l1.h"].selected == 3 and maps["dec.l1.c"].selected == 3
        assert maps["dec.l1.h"].hover_text(3).startswith("dec.l1.h[3] = ")
        assert maps["dec.l1.h"].hover_text(3).endswith("(t=0)")
        handoff = [h for h in app.seq2seq.handoff.heatmaps if h.activation == "l1.h"][0]
        assert handoff.selected == 3  # the decoder's first state: the same unit marked
        detail = app.seq2seq.query_one("#decoder-unit", UnitDetail)
        assert detail.line_text(0).startswith("dec.l1 unit 3")
        h0 = float(records[0].layers[1].h[3])
        assert f"h {h0:+.2f}" in detail.line_text(1)
        formulas = {f.name: f for f in app.seq2seq.controller.frame().decoder_formulas}
        assert abs(formula_value(formulas["h"]) - h0) <= 0.005
        assert abs(formula_value(formulas["f"]) - records[0].layers[1].gates["f"][3]) <= 0.005
        assert "h = " in detail.text() and "σ(" in detail.text()
        await pilot.press("end", "tab")  # newest step, layer 0 (Tab cycles the layers)
        await pilot.pause()
        np.testing.assert_allclose(maps["dec.l0.h"].values, records[newest].layers[0].h,
                                   atol=1e-6)
        assert maps["dec.l0.h"].selected == 3 and maps["dec.l1.h"].selected is None
        assert detail.line_text(0).startswith("dec.l0 unit 3")
        await pilot.click(maps["dec.l1.c"], offset=(5, 2))  # a click selects the unit under it
        await pilot.pause()
        clicked = maps["dec.l1.c"].selected
        assert clicked is not None and detail.line_text(0) == f"dec.l1 unit {clicked} of 128"


async def test_the_output_is_green_where_it_is_the_answer_and_red_where_not():
    app = InspectorApp("reverse-seq2seq")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        await pilot.press(*"hello", "enter")
        await pilot.pause()
        output = app.seq2seq.query_one("#output", LinesWidget)
        styles = [s.style for s in output.lines[0] if s.text in "olleh" and len(s.text) == 1]
        assert styles == [RIGHT] * 5
        await pilot.press("f5")
        await pilot.pause()
        assert isinstance(app.screen, EditPrompt)
        app.screen.query_one(Input).value = "swap world"  # decodes dlrow: wrong for hello
        await pilot.press("enter")
        await pilot.pause()
        letters = [s for s in output.lines[0] if len(s.text) == 1 and s.style in (RIGHT, WRONG)]
        assert "".join(s.text for s in letters) == "dlrow"
        assert [s.style for s in letters] == [WRONG, RIGHT, WRONG, WRONG, WRONG]  # olleh: l right


async def test_ctrl_r_asks_before_clearing_the_source():
    app = InspectorApp("reverse-seq2seq")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        await pilot.press(*"abc", "ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        await pilot.pause()
        assert app.seq2seq.controller.session.source == "abc"
        await pilot.press("ctrl+r", "y")
        await pilot.pause()
        assert app.seq2seq.controller.session.source == ""


async def test_an_attention_decoder_shows_its_weights_over_the_source(tmp_path):
    import json

    from userland import any_models as am

    from inspector.loading import ModelSource
    from inspector.tui.widgets.attention import AttentionRow

    source, target = tmp_path / "src.json", tmp_path / "trg.json"
    source.write_text(json.dumps(am.SOURCE))
    target.write_text(json.dumps(am.TARGET))
    app = InspectorApp(ModelSource(None, vocab=str(source), target_vocab=str(target), bos="SOS",
                                   eos="EOS", source_eos=True,
                                   factory="userland.any_models:build_attention"))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        row = app.seq2seq.query_one(AttentionRow)
        assert not row.display  # nothing decoded yet
        await pilot.press(*"badge", "enter")
        await seq2seq_settled(pilot)  # a user's forward: stepped in the screen's worker
        session = app.seq2seq.controller.session
        records = session.decoded
        await pilot.press("home")
        await seq2seq_settled(pilot)
        weights = records[0].attention
        assert row.display and weights.shape == (6,)
        cells = row.line_text(0).split()
        assert cells == ["attention", "t=0", "b", "a", "d", "g", "e", "EOS"]
        best = int(np.argmax(weights))
        most = row.line_text(1)
        tokens = [*"badge", "EOS"]
        assert most.startswith(f"most: {tokens[best]} {weights[best]:.2f}")
        await pilot.press("right")
        await seq2seq_settled(pilot)
        assert row.line_text(0).startswith("attention t=1 ")
        best = int(np.argmax(records[1].attention))
        assert row.line_text(1).startswith(f"most: {tokens[best]} {records[1].attention[best]:.2f}")
