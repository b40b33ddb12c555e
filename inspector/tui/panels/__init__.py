"""Analysis panels for the main screen's dock (see `base.py` for the contract).

Each panel module defines `SPEC = PanelSpec(...)`; list the module here to put it in the dock.
Modules are imported when the dock is built, not when this package is (no torch either way:
panels import `inspector.analysis` inside `compute`).
"""

from __future__ import annotations

from importlib import import_module

from inspector.tui.panels.base import PanelSpec

PANEL_MODULES: tuple[str, ...] = (  # one line per panel module (PanelSpec.order sorts them)
    "inspector.tui.panels.text_colour",
    "inspector.tui.panels.units",
    "inspector.tui.panels.sort_units",
    "inspector.tui.panels.probe",
    "inspector.tui.panels.trajectory",
    "inspector.tui.panels.saliency",
    "inspector.tui.panels.counterfactual",
)


def panel_specs(modules: tuple[str, ...] = PANEL_MODULES) -> list[PanelSpec]:
    """Every registered panel, in dock order."""
    specs = [import_module(name).SPEC for name in modules]
    return sorted(specs, key=lambda spec: (spec.order, spec.id))
