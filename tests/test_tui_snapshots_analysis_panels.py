"""Snapshots of the probe, trajectory, saliency and counterfactual panels, each in the analysis
dock at its own height, at 120x40 and 80x24.

These use zoo models (trained: the pictures are of what the panels are for — a probe at 100%,
the flip-flop's stable fixed points); a retrained zoo changes them. Regenerate with
`pytest tests/test_tui_snapshots_analysis_panels.py --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

import pytest
from analysis_panel_support import Host, Timeline, settle

from inspector.engine import inspectable
from inspector.engine.records import Intervention
from inspector.loading import ModelSource, open_model
from inspector.tui.panels.counterfactual import CounterfactualPanel
from inspector.tui.panels.probe import ProbePanel
from inspector.tui.panels.saliency import SaliencyPanel
from inspector.tui.panels.trajectory import TrajectoryPanel
from models import tasks

SIZES = [(120, 40), (80, 24)]


def zoo(name: str):
    return inspectable(open_model(ModelSource(name)))


def probe_input():
    return Timeline(zoo("doubled-lstm"), task="doubled").feed(
        tasks.doubled_source(0, 26) * 2).input()


def trajectory_input():
    text = tasks.sample_text("flipflop")[:300]
    t = max(i for i, char in enumerate(text) if char == ".")
    return Timeline(zoo("flipflop-rnn"), task="flipflop").feed(text).input(t=t)


def saliency_input():
    return Timeline(zoo("doubled-lstm"), task="doubled").feed("aabbccddeeffgghh").input(t=12)


def diff_input():
    timeline = Timeline(zoo("doubled-lstm"), task="doubled").feed("aabbcc")
    timeline.session.intervene(Intervention("set", "l1.h", None, 3.0))
    return timeline.feed("ddeeff").input()


PANELS = {"probe": (ProbePanel, probe_input), "trajectory": (TrajectoryPanel, trajectory_input),
          "saliency": (SaliencyPanel, saliency_input), "diff": (CounterfactualPanel, diff_input)}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("panel", list(PANELS))
def test_panel(snap_compare, panel, size):
    make, data = PANELS[panel]
    frame = data()

    async def run_before(pilot) -> None:
        pilot.app.dock.update_input(frame)
        await settle(pilot)

    assert snap_compare(Host(make, panel), terminal_size=size, run_before=run_before)
