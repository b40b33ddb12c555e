"""Units for a pattern (LSTMVis's select-and-match): the ranking shown is the analysis package's
ranking of the same steps; selecting a row selects its unit."""

from __future__ import annotations

import numpy as np
import torch
from panel_support import PanelHost, settle

from inspector.analysis import feature, rank_units
from inspector.engine import Intervention, NativeModel, inspectable
from inspector.loading import ModelSource, open_model
from inspector.tui.numbers import number
from inspector.tui.panels.units import SPEC
from models import tasks
from models.char_rnn import CharRNN, CharRNNConfig
from models.vocab import CharVocab

DOUBLED = tasks.doubled_source(0, 26) * 2


def planted() -> NativeModel:
    """Unit 3 of l0.h is on exactly at `e` (as in the analysis tests)."""
    torch.manual_seed(0)
    module = CharRNN(CharRNNConfig(27, "rnn", 1, 6, 0))
    vocab = CharVocab.letters()
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(0.3)
        module.rnn.weight_hh_l0[3].zero_()
        module.rnn.weight_ih_l0[3].fill_(-3.0)
        module.rnn.weight_ih_l0[3, vocab.id("e")] = 3.0
        module.rnn.bias_ih_l0[3] = module.rnn.bias_hh_l0[3] = 0.0
    return NativeModel(module.eval(), vocab, "planted")


def rows(panel) -> list[str]:
    return [panel.rows.line_text(y) for y in range(len(panel.rows.lines))]


async def test_the_ranking_shown_is_the_analysis_packages_for_a_named_feature():
    model = inspectable(open_model(ModelSource("doubled-lstm")))
    app = PanelHost([SPEC], model, task="doubled")
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.dock.panels["units"]
        app.session.feed(DOUBLED)
        app.frame(feature="pair-position")
        await settle(pilot)
        expected = rank_units(model, DOUBLED, feature("pair-position", DOUBLED), top=64)
        shown = rows(panel)
        assert len(shown) == panel.capacity
        for line, score in zip(shown, expected.units, strict=False):
            name, r = line.split()[1], float(line.split()[3])
            assert name == score.name and abs(r - score.r) <= 0.005, line
            assert f"r {number(score.r)}" in line
            assert f"J {score.jaccard:.2f}" in line
        got = panel.matches.ranking.units
        for a, b in zip(got, expected.units, strict=True):
            assert a.name == b.name
            assert abs(a.r - b.r) <= 1e-5 and abs(a.jaccard - b.jaccard) <= 1e-5
        assert "pair-position" in panel.title.text() and "by |r|" in panel.title.text()


async def test_a_span_of_the_tape_finds_the_planted_unit_and_selecting_it_selects_the_unit():
    model = planted()
    app = PanelHost([SPEC], model)
    text = "the quick brown fox jumps over the lazy dog"
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.dock.panels["units"]
        app.session.feed(text)
        await settle(pilot)
        app.frame(span=(2, 3))  # the `e` of "the"
        await settle(pilot)
        assert "the span t=2..2" in panel.title.text()
        expected = rank_units(model, text, feature("span:2-3", text), top=64)
        assert [u.name for u in panel.matches.ranking.units] == [u.name for u in expected.units]
        assert rows(panel)[0].split()[1] == expected.units[0].name
        panel.cursor(1)  # the first press selects the row under the cursor
        await settle(pilot)
        assert app.unit == expected.units[0].name
        panel.cursor(1)
        await settle(pilot)
        assert app.unit == expected.units[1].name
        assert rows(panel)[1].startswith("  2")
        panel.option(1)  # by Jaccard
        await settle(pilot)
        by_j = rank_units(model, text, feature("span:2-3", text), top=64, by="jaccard")
        assert [u.name for u in panel.matches.ranking.units] == [u.name for u in by_j.units]
        assert "by Jaccard" in panel.title.text()


async def test_the_ranking_reads_the_timeline_with_its_interventions():
    model = planted()
    app = PanelHost([SPEC], model)
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.dock.panels["units"]
        app.session.feed("hello there")
        app.session.intervene(Intervention("clamp", "l0.h", 1, 0.9))
        app.session.feed(" everyone here")
        app.frame(feature="char=e")
        await settle(pilot)
        records = app.session.records(0, app.session.cursor)
        text = app.session.text
        y = feature("char=e", text).values
        for score in panel.matches.ranking.units[:6]:
            name, unit = score.name.split("[")
            x = np.array([r.activation(name)[int(unit[:-1])] for r in records], dtype=np.float64)
            r = 0.0 if x.std() == 0 else np.corrcoef(x, y)[0, 1]
            assert abs(score.r - r) <= 1e-5, score.name


async def test_without_a_pattern_the_panel_says_how_to_give_one():
    app = PanelHost([SPEC], planted())
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.dock.panels["units"]
        app.session.feed("abc")
        app.frame()
        await settle(pilot)
        assert "select a span of the tape" in panel.note.text()
        app.frame(feature="bits")
        await settle(pilot)
        assert "classes" in panel.note.text() and panel.rows.lines == []
