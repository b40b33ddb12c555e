"""The panel contract: computes in a worker, coalesces inputs, drops stale results, shows errors."""

from __future__ import annotations

import threading

import numpy as np
from textual.app import App, ComposeResult

from inspector.tui.panels.base import (
    AnalysisPanel,
    ArrayActivations,
    ModelInfo,
    PanelError,
    PanelInput,
    PanelSpec,
    split_unit,
)
from inspector.tui.panels.dock import AnalysisDock
from inspector.tui.widgets.lines import LinesWidget

INFO = ModelInfo("test", "lstm", 1, 4, ("i", "f", "g", "o"), ("a", "b"))


def panel_input(generation: int, rows: int, unit: str | None = "l0.h[1]") -> PanelInput:
    values = np.arange(rows * 4, dtype=np.float32).reshape(rows, 4)
    return PanelInput(generation, INFO, tuple("ab"[i % 2] for i in range(rows)),
                      rows - 1 if rows else None, unit, ArrayActivations({"l0.h": values}),
                      run=lambda job: job(None))


class SumPanel(AnalysisPanel):
    """Shows the sum of the selected unit's history; records the thread each compute ran on."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.gate = gate
        self.threads: list[str] = []
        self.computed: list[int] = []
        self.body = LinesWidget()

    def compose_body(self) -> ComposeResult:
        yield self.body

    def compute(self, data: PanelInput):
        self.threads.append(threading.current_thread().name)
        self.computed.append(data.generation)
        if self.gate is not None:
            self.gate.wait(5)
        if not data.steps:
            raise PanelError("no steps yet: type")
        name, unit = data.selected()
        return float(data.activations.get(name)[:, unit].sum())

    def draw(self, result) -> None:
        from rich.segment import Segment
        self.body.set_lines([[Segment(f"sum {result:g}")]])


class Host(App):
    def __init__(self, panels) -> None:
        super().__init__()
        self.specs = [PanelSpec(f"p{k}", f"Panel {k}", make, order=k)
                      for k, make in enumerate(panels)]

    def compose(self) -> ComposeResult:
        yield AnalysisDock(self.specs, id="dock")


async def wait_idle(pilot, panel: AnalysisPanel) -> None:
    for _ in range(100):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not panel.computing:
            return


def test_split_unit():
    assert split_unit("l1.gate.f[12]") == ("l1.gate.f", 12)


async def test_panel_computes_in_a_worker_and_draws_the_result():
    panel = SumPanel()
    async with Host([lambda: panel]).run_test() as pilot:
        dock = pilot.app.query_one(AnalysisDock)
        dock.update_input(panel_input(1, 3))
        await wait_idle(pilot, panel)
        assert panel.body.text() == f"sum {1 + 5 + 9:g}"
        assert panel.threads and threading.main_thread().name not in panel.threads


async def test_inputs_arriving_while_computing_are_coalesced_and_stale_results_dropped():
    gate = threading.Event()
    panel = SumPanel(gate)
    async with Host([lambda: panel]).run_test() as pilot:
        dock = pilot.app.query_one(AnalysisDock)
        dock.update_input(panel_input(1, 2))
        await pilot.pause()
        for generation in range(2, 6):  # four frames while the first computes
            dock.update_input(panel_input(generation, generation + 1))
        gate.set()
        await wait_idle(pilot, panel)
        assert panel.computed == [1, 5]  # the first, then only the newest
        assert panel.body.text() == f"sum {sum(1 + 4 * r for r in range(6)):g}"


async def test_a_panel_error_is_one_line_and_a_hidden_panel_computes_nothing():
    shown, hidden = SumPanel(), SumPanel()
    async with Host([lambda: shown, lambda: hidden]).run_test() as pilot:
        dock = pilot.app.query_one(AnalysisDock)
        dock.update_input(panel_input(1, 0, unit=None))
        await wait_idle(pilot, shown)
        assert shown.note.text() == "no steps yet: type"
        assert hidden.computed == []
        dock.next_panel()
        await wait_idle(pilot, hidden)
        assert hidden.note.text() == "no steps yet: type"
        assert "Panel 1" in dock.titles.text()
        dock.set_shown(False)
        dock.update_input(panel_input(2, 3))
        await wait_idle(pilot, hidden)
        assert hidden.computed == [1]


def test_importing_the_panels_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys, inspector.tui.panels, inspector.tui.panels.base, "
            "inspector.tui.panels.dock, inspector.tui.panels.source, inspector.tui.panels.inputs, "
            "inspector.tui.panels.text_colour, inspector.tui.panels.units, "
            "inspector.tui.panels.sort_units; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_registered_panel_has_a_spec_in_dock_order():
    from inspector.tui.panels import panel_specs

    specs = panel_specs()
    assert [s.id for s in specs][:3] == ["text", "units", "sort"]
    assert len({s.id for s in specs}) == len(specs)


async def test_the_title_of_the_panel_on_view_is_always_seen():
    panels = [SumPanel for _ in range(8)]
    async with Host(panels).run_test(size=(60, 10)) as pilot:
        dock = pilot.app.query_one(AnalysisDock)
        for _ in range(7):
            dock.next_panel()
        await pilot.pause()
        titles = dock.titles.text()
        assert titles.startswith("‹ ") and " Panel 7 " in titles[:60]
