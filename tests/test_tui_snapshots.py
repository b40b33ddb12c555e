"""Snapshots of the main screen (120x40, 80x24, 200x60) and the help screen.

The model is a seeded, untrained checkpoint built per test, so the pictures do not change when
the zoo is retrained. Regenerate with `pytest tests/test_tui_snapshots.py --snapshot-update` and
look at the SVGs before committing them.
"""

from __future__ import annotations

import pytest
from tui_support import make_checkpoint, settle

from inspector.tui.app import InspectorApp

SIZES = [(120, 40), (80, 24)]
MAIN_SIZES = [*SIZES, (200, 60)]  # the help screen's picture does not change past 120x40


@pytest.fixture
def demo_app(tmp_path):
    path = make_checkpoint(tmp_path / "demo-lstm.safetensors", task="doubled", seed=1)
    return InspectorApp(str(path))


def typed(keys: str, *then: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)
        if then:
            await pilot.press(*then)
            await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", MAIN_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare, demo_app, size):
    assert snap_compare(demo_app, terminal_size=size, run_before=typed("aabbcc"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_screen(snap_compare, demo_app, size):
    assert snap_compare(demo_app, terminal_size=size, run_before=typed("ab", "f1"))
