"""Panels that wait for the keys to pause before they compute.

A probe refit, a PCA of every step or a gradient through the whole text takes from milliseconds
to a second on a large model; run back to back while someone types, they keep a core busy and
the key path shares it (and the GIL). So these panels start a computation only once no new
frame has come for `QUIET` seconds; the last result stays on screen meanwhile.
"""

from __future__ import annotations

from textual.timer import Timer

from inspector.tui.panels.base import AnalysisPanel, PanelInput

QUIET = 0.25  # s without a new frame before a computation starts


class QuietPanel(AnalysisPanel):
    quiet = QUIET

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._quiet_timer: Timer | None = None

    @property
    def waiting_for_quiet(self) -> bool:
        """A frame came and its computation has not started yet (tests wait on this too)."""
        return self._quiet_timer is not None

    def update_input(self, data: PanelInput) -> None:
        self.data = data
        if not self.on_view:
            return
        if self._quiet_timer is not None:
            self._quiet_timer.stop()
        self._quiet_timer = self.set_timer(self.quiet, self._quiet_now)

    def _quiet_now(self) -> None:
        self._quiet_timer = None
        if self.data is not None:
            super().update_input(self.data)
