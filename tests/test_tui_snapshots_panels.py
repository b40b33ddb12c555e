"""Snapshots of the main screen with the analysis dock open on each of issue 16a's panels
(text by unit, units for a pattern, sort units) and with the tape coloured by a unit, at
120x40 and 80x24. Regenerate with `--snapshot-update` and look at the SVGs before committing."""

from __future__ import annotations

import pytest
from tui_support import make_checkpoint, settle

from inspector.tui.app import InspectorApp

SIZES = [(120, 40), (80, 24)]
TEXT = "aabbccddeeffgghh"


@pytest.fixture
def demo_app(tmp_path):
    path = make_checkpoint(tmp_path / "demo-lstm.safetensors", task="doubled", seed=1)
    return InspectorApp(str(path))


SETTLE = "settle"  # wait for the app (a panel's worker) before the next keys


def keys(*presses: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press(*TEXT)
        await settle(pilot)
        for press in presses:
            if press == SETTLE:
                await settle(pilot)
            else:
                await pilot.press(press)
        await settle(pilot)

    return run_before


PANELS = {
    "text": ("down", "down", "ctrl+d"),
    # ctrl+↓ selects the panel's first unit: only once the panel has ranked them
    "units": ("shift+left", "ctrl+d", "ctrl+n", SETTLE, "ctrl+down"),
    "sort": ("ctrl+d", "ctrl+n", "ctrl+n", "ctrl+right"),
    "tape": ("tab", "ctrl+u"),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("panel", list(PANELS))
def test_panel(snap_compare, demo_app, panel, size):
    assert snap_compare(demo_app, terminal_size=size, run_before=keys(*PANELS[panel]))
