"""The inspector with the analysis dock open on one panel from the start (for key->frame
measurements with `shared/tools/keylat.py`, which can only type printable keys).

    python benchmarks/panel_app.py CHECKPOINT PANEL [FEATURE]
PANEL: a panel id (`text`, `units`, `sort`, …), `tape` (ctrl+u: the tape by the unit), or
`none` (no panel: the plain main screen, the reference).
"""

from __future__ import annotations

import sys
from pathlib import Path

import inspector.tui.app as tui_app
from inspector.tui.app import InspectorApp


class PanelApp(InspectorApp):
    CSS_PATH = str(Path(tui_app.__file__).with_name("app.tcss"))  # a subclass's is its own
    def __init__(self, model: str, panel: str, feature: str | None) -> None:
        super().__init__(model)
        self.panel = panel
        self.feature = feature

    async def on_mount(self) -> None:
        await super().on_mount()
        self.set_interval(0.05, self.open_panel, name="open-panel")

    def open_panel(self) -> None:
        main = self.main
        if not main.controller.ready or getattr(self, "opened", False):
            return
        self.opened = True
        if self.feature:
            main.controller.choose_feature(self.feature)
        if self.panel == "tape":
            main.action_tape_colours()
        elif self.panel != "none":
            main.action_show_panel(self.panel)


if __name__ == "__main__":
    PanelApp(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None).run()
