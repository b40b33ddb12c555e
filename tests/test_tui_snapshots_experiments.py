"""Snapshots of the compare and seq2seq screens at 120x40 and 80x24 (pytest-textual-snapshot).

Seeded, untrained checkpoints built per test keep the pictures independent of the zoo. Regenerate
with `pytest tests/test_tui_snapshots_experiments.py --snapshot-update` and look at the SVGs
before committing them.
"""

from __future__ import annotations

import pytest
from experiment_support import compare_ready, make_seq2seq, open_seq2seq
from tui_support import make_checkpoint, settle

from inspector.tui.app import InspectorApp

SIZES = [(120, 40), (80, 24), (200, 60)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_screen(snap_compare, tmp_path, size):
    first = make_checkpoint(tmp_path / "demo-lstm.safetensors", task="doubled", seed=1)
    second = make_checkpoint(tmp_path / "demo-gru.safetensors", cell="gru", layers=1, hidden=32,
                             task="doubled", seed=2)

    async def run_before(pilot) -> None:
        await compare_ready(pilot)
        await pilot.press(*"aabbcc")
        await settle(pilot)

    assert snap_compare(InspectorApp(str(first), compare=str(second)), terminal_size=size,
                        run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_seq2seq_screen(snap_compare, tmp_path, size):
    path = make_seq2seq(tmp_path / "demo-s2s.safetensors", hidden=32, seed=1)

    async def run_before(pilot) -> None:
        await open_seq2seq(pilot)
        await pilot.press(*"hello", "enter")
        await pilot.pause()
        await pilot.press("f5", *"scale 0.5 l1.c", "enter")
        await pilot.pause()
        await pilot.press("home", "down", "down")  # the first decoder step, unit 2 selected
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(InspectorApp(str(path)), terminal_size=size, run_before=run_before)
