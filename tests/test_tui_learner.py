"""Issue 12, the remaining items checked on the app as a learner meets them: what each widget
shows, read back from the screen (compare's misses line, a GRU's formulas against torch, NO_COLOR
glyph levels, ←/→ on a focused map, the palette's screenshot without ~/Downloads, export's absolute
path, the open dialog with --vocab, sampled writing)."""

from __future__ import annotations

import json
import re

import numpy as np
import torch
from experiment_support import compare_ready
from textual.geometry import Region
from textual.widgets import Input, Label
from tui_support import headless, settle, status, tape_lines

from inspector.tui.app import InspectorApp
from inspector.tui.colours import level_glyph
from inspector.tui.screens.goto_unit import GotoUnit
from inspector.tui.screens.path_prompt import PathPrompt
from inspector.tui.widgets.agreement import Agreement
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.unit_detail import UnitDetail
from models.zoo import zoo_names

NUMBER = r"[-+]?\d+\.\d+"


def heatmap(app, activation: str) -> Heatmap:
    return next(h for h in app.main.query(Heatmap) if h.activation == activation)


def notices(app) -> str:
    return " ".join(n.message for n in app._notifications)


async def test_compare_names_each_model_beside_its_own_misses():
    app = InspectorApp("doubled-lstm", compare="doubled-mlp")
    async with app.run_test(size=(80, 24)) as pilot:
        await compare_ready(pilot)
        await pilot.press(*"aabbcc")
        await settle(pilot)
        agreement = app.main.query_one(Agreement)
        misses = agreement.line_text(1)
        assert misses == "misses: doubled-lstm 0 · doubled-mlp 3"  # the MLP misses aa→b, bb→d…
        assert len(misses) <= agreement.content_region.width  # whole, even at 80 columns


def gru_step_by_hand(module, ids: list[int]):
    """r, z, n and h of a one-layer nn.GRU's last step, redone from its weights with torch."""
    rnn = module.rnn
    x = module.input_vectors(torch.tensor([ids]))[0]
    h = torch.zeros(rnn.hidden_size)
    with torch.no_grad():
        for x_t in x:
            h_prev = h
            gi = rnn.weight_ih_l0 @ x_t + rnn.bias_ih_l0
            gh = rnn.weight_hh_l0 @ h_prev + rnn.bias_hh_l0
            (gi_r, gi_z, gi_n), (gh_r, gh_z, gh_n) = gi.chunk(3), gh.chunk(3)
            r, z = torch.sigmoid(gi_r + gh_r), torch.sigmoid(gi_z + gh_z)
            n = torch.tanh(gi_n + r * gh_n)
            h = (1 - z) * n + z * h_prev
        full, _ = rnn(x[None])
    assert torch.allclose(h, full[0, -1], atol=1e-6)  # the hand step is nn.GRU's
    parts = {"r": (gi_r, gh_r), "z": (gi_z, gh_z), "n": (gi_n, r * gh_n)}
    return {k: v.numpy() for k, v in {"r": r, "z": z, "n": n, "h": h, "h_prev": h_prev}.items()}, \
        {k: (a.numpy(), b.numpy()) for k, (a, b) in parts.items()}


async def test_a_grus_formula_lines_show_the_numbers_torch_computes():
    from inspector.loading import ModelSource, open_model

    checkpoint = open_model(ModelSource("doubled-gru"))
    ids = [checkpoint.vocab.tokens.index(ch) for ch in "abc"]
    truth, parts = gru_step_by_hand(checkpoint.module, ids)
    record = headless("doubled-gru", "abc").last.layers[0]
    for gate in "rzn":  # the engine's records are torch's numbers
        assert np.abs(record.gates[gate] - truth[gate]).max() <= 1e-5
        assert np.abs(record.input_part[gate] - parts[gate][0]).max() <= 1e-5
        assert np.abs(record.memory_part[gate] - parts[gate][1]).max() <= 1e-5
    assert np.abs(record.h - truth["h"]).max() <= 1e-5
    app = InspectorApp("doubled-gru")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"abc", "ctrl+g", *"7", "enter")
        await settle(pilot)
        lines = {line.split(" = ")[0]: line
                 for line in app.main.query_one(UnitDetail).text().splitlines() if " = " in line}
        for gate, squash in (("r", "σ"), ("z", "σ"), ("n", "tanh")):
            shown = [float(x) for x in re.findall(NUMBER, lines[gate].rpartition(squash)[2])]
            expected = [parts[gate][0][7], parts[gate][1][7], truth[gate][7]]
            assert np.allclose(shown, expected, atol=0.005 + 1e-6), (lines[gate], expected)
        one_minus_z, n, z, h_prev, h = [float(x) for x in re.findall(NUMBER, lines["h"])]
        assert np.allclose([one_minus_z, n, z, h_prev, h],
                           [1 - truth["z"][7], truth["n"][7], truth["z"][7], truth["h_prev"][7],
                            truth["h"][7]], atol=0.005 + 1e-6), lines["h"]


async def test_without_colour_every_unit_shows_its_level_as_a_glyph(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "b")
        await settle(pilot)
        h_map = heatmap(app, "l0.h")
        assert h_map.glyphs
        values = headless("doubled-lstm", "ab").last.layers[0].h
        levels = h_map.scale.quantise(values)
        per_row = h_map.units_per_row()
        drawn = "".join(h_map.render_line(1 + y).text[:per_row]
                        for y in range(-(-len(values) // per_row)))[:len(values)]
        assert drawn == "".join(level_glyph(h_map.scale.ramp, int(v)) for v in levels)
        assert len(set(drawn)) > 2  # levels told apart without colour, not one glyph for all


async def test_left_and_right_move_within_a_focused_maps_row_and_escape_gives_them_back():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "a")
        await settle(pilot)
        h_map = heatmap(app, "l0.h")
        await pilot.click(h_map, offset=(2, 1))
        assert "l0 unit 2" in status(app)
        await pilot.press("right", "right")
        assert "l0 unit 4" in status(app)
        await pilot.press("left")
        assert "l0 unit 3" in status(app) and "t=1 of 2 steps" in status(app)
        await pilot.press("up")  # the top row: nowhere to go, the selection stays
        assert "l0 unit 3" in status(app)
        await pilot.press("escape", "left")
        await settle(pilot)
        assert "t=0 of 2 steps" in status(app) and "l0 unit 3" in status(app)


async def test_ctrl_g_takes_a_bare_number_and_the_palette_opens_the_same_dialog():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "tab", "ctrl+g", *"40", "enter")  # tab: layer 1
        await settle(pilot)
        assert "l1 unit 40" in status(app) and "t=0 of 1 steps" in status(app)
        await pilot.press("ctrl+p", *"go to a unit")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, GotoUnit)


async def test_the_palettes_screenshot_works_where_there_is_no_downloads_folder(tmp_path,
                                                                               monkeypatch):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "ctrl+p", *"svg screenshot")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        (shot,) = work.glob("*.svg")
        assert shot.read_text().lstrip().startswith("<svg")
        assert f"screenshot saved to {shot}" in notices(app)
    assert not (home / "Downloads").exists()


async def test_export_names_the_absolute_path_and_asks_before_replacing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "b", "ctrl+e")
        assert isinstance(app.screen, PathPrompt)
        app.screen.query_one(Input).value = "out.json"  # relative, as a person types it
        await pilot.press("enter")
        await settle(pilot)
        written = tmp_path / "out.json"
        assert f"trace written to {written}" in notices(app)
        assert len(json.loads(written.read_text())["steps"]) == 2
        await pilot.press("c", "ctrl+e")
        app.screen.query_one(Input).value = "out.json"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PathPrompt)  # not replaced yet: it says so and waits
        said = str(app.screen.query_one("#prompt-error", Label).render())
        assert "exists: Enter again replaces it" in said
        assert len(json.loads(written.read_text())["steps"]) == 2
        await pilot.press("enter")
        await settle(pilot)
        assert len(json.loads(written.read_text())["steps"]) == 3


async def test_the_open_dialog_opens_a_foreign_state_dict_with_its_vocab(tmp_path):
    torch.manual_seed(3)
    rnn = torch.nn.RNN(6, 5, batch_first=True)
    state = {f"rnn.{k}": v for k, v in rnn.state_dict().items()}
    state |= {"emb.weight": torch.randn(3, 6), "out.weight": torch.randn(3, 5),
              "out.bias": torch.zeros(3)}
    torch.save(state, tmp_path / "plain.pt")
    (tmp_path / "abc.json").write_text(json.dumps(["a", "b", "c"]))
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(80, 24)) as pilot:  # the narrowest: the list still whole
        await settle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        hint = app.screen.query_one("#prompt-hint", Label)
        prompt = app.screen.query_one("#prompt")
        assert prompt.region.contains_region(hint.region)  # wrapped inside the dialog
        shown = " ".join(strip.text for strip in hint.render_lines(Region(0, 0, *hint.size)))
        assert all(name in shown.split() or f"{name}," in shown.split() for name in zoo_names())
        assert "--vocab" in shown
        typed = f"{tmp_path / 'plain.pt'} --vocab {tmp_path / 'abc.json'}"
        app.screen.query_one(Input).value = typed
        await pilot.press("enter")
        for _ in range(3):
            await settle(pilot)
        assert "plain" in status(app) and "rnn 1×5" in status(app)
        await pilot.press("c", "a")
        await settle(pilot)
        assert tape_lines(app)[0] == "x c a"


async def test_shift_f8_samples_ten_steps_marked_as_the_models_and_backspace_undoes_them():
    app = InspectorApp("text-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"def ", "shift+f8")
        await settle(pilot)
        assert "t=13 of 14 steps" in status(app)
        tape = tape_lines(app)
        assert tape[0].startswith("x d e f ␣") or tape[0].startswith("x … d e f ␣")
        assert tape[2].replace(" ", "").endswith("✎" * 10) and tape[2].count("✎") == 10
        await pilot.press(*["backspace"] * 10)
        await settle(pilot)
        assert "t=3 of 4 steps" in status(app) and "✎" not in "".join(tape_lines(app))


async def test_the_unit_detail_and_legend_lines_fit_the_side_panel_at_every_size():
    from rich.cells import cell_len

    from inspector.tui.widgets.legend import Legend

    for size in ((80, 24), (120, 40), (200, 60)):
        app = InspectorApp("doubled-lstm")
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.press("a", "a", "down")
            if size == (80, 24):
                await pilot.press("f4")  # the side panel is collapsed there until F4
            await settle(pilot)
            detail = app.main.query_one(UnitDetail)
            lines = detail.text().splitlines()
            assert lines[0] == "l0 unit 1 of 64"
            too_long = [line for line in lines if cell_len(line) > detail.size.width]
            assert not too_long, (size, detail.size.width, too_long)
            assert "(− left, + right)" in " ".join(lines)  # the bars' key, never cut
            legend = app.main.query_one(Legend)
            shown = legend.render().plain.splitlines()
            assert all(cell_len(line) <= legend.size.width for line in shown), (size, shown)


def inside(inner, outer) -> bool:
    return (inner.x >= outer.x and inner.y >= outer.y and inner.right <= outer.right
            and inner.bottom <= outer.bottom)


async def test_the_seq2seq_maps_grow_into_their_panels_and_stay_inside_them(tmp_path):
    from experiment_support import make_seq2seq, open_seq2seq

    from inspector.tui.screens.seq2seq import Seq2SeqScreen

    path = make_seq2seq(tmp_path / "s2s.safetensors", hidden=32, seed=1)
    zooms = {}
    for size in ((120, 40), (200, 60)):
        app = InspectorApp(str(path))
        async with app.run_test(size=size) as pilot:
            await open_seq2seq(pilot)
            await pilot.press(*"hello", "enter")
            await pilot.pause()
            await pilot.press("f5", *"scale 0.5 l1.c", "enter")
            await pilot.pause()
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, Seq2SeqScreen)
            panels = {"#encoder-maps": screen.encoder_maps, "#handoff": screen.handoff.heatmaps,
                      "#decoder-steps": screen.decoder_maps}
            for panel, maps in panels.items():
                region = screen.query_one(panel).region
                assert all(inside(h.region, region) for h in maps), (size, panel)
                assert len({h.units_per_row() for h in maps}) == 1  # one grid, one shape
            edits = screen.handoff.edits
            assert edits.line_text(0) == "◆ scale l1.c × 0.5"
            assert inside(edits.region, screen.query_one("#handoff").region)
            assert screen.decoder_log.region.height >= 4  # the decoder's log keeps its lines
            zooms[size] = [h.zoom for h in (*screen.encoder_maps, *screen.handoff.heatmaps,
                                            *screen.decoder_maps)]
    # 32 units a map: strips one or two lines high before; now grown, more at 200x60
    assert all(zoom != (1, 1) for zoom in zooms[(200, 60)])
    assert all(a[0] * a[1] <= b[0] * b[1] for a, b in zip(zooms[(120, 40)], zooms[(200, 60)],
                                                          strict=True))


async def test_the_mlps_unit_detail_says_it_has_no_memory():
    app = InspectorApp("doubled-mlp")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "a")
        await settle(pilot)
        lines = app.main.query_one(UnitDetail).text().splitlines()
        act = headless("doubled-mlp", "aa").last.layers[0].h[0]
        assert lines[1] == f"act {act:+.2f}"
        (header,) = [line for line in lines if "input" in line and "█" not in line]
        assert header.split() == ["input", "no", "memory"]
        (bar,) = [line for line in lines if line.startswith("act ") and "│" in line]
        assert bar.startswith(f"act {act:+.2f} ")  # the value, a space, then the bars
