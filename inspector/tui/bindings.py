"""Every command key, in one list: the footer, the help screen and the command palette are all
generated from these bindings, so they can never disagree.

Printable keys are never bound: each one feeds the model. Commands live on keys that print nothing.
"""

from __future__ import annotations

from textual.binding import Binding

HELP = Binding("f1", "app.help", "Help", id="help")
QUIT = Binding("ctrl+q", "app.quit", "Quit", id="quit", priority=True)

APP_BINDINGS = [
    HELP,
    Binding("ctrl+o", "open_checkpoint", "Open", id="open-checkpoint",
            tooltip="Open a checkpoint file or zoo model"),
    Binding("ctrl+e", "export_trace", "Export", id="export-trace", show=False,
            tooltip="Export the trace of the typed text as JSON or npz"),
    Binding("ctrl+s", "screenshot", "Screenshot", id="screenshot", show=False,
            tooltip="Save an SVG screenshot"),
    Binding("f10", "save_session", "Save session", id="save-session", show=False,
            tooltip="Save the session (every step, branch and edit) to a file"),
    Binding("ctrl+l", "open_session", "Load session", id="open-session", show=False,
            tooltip="Open a saved session: replayed exactly, on the model it names"),
    QUIT,
]

# A footer lists the screen's keys before the app's and is cut at the right edge; a screen
# leads with these two so an 80-column footer still shows how to get help and how to leave.
FOOTER_FIRST = [HELP, QUIT]

MAIN_BINDINGS = [
    Binding("backspace", "step_back", "Back", id="step-back",
            tooltip="Undo the last step (the last key typed)"),
    Binding("left", "view(-1)", "Prev", id="earlier", key_display="←",
            tooltip="View the previous step of the timeline"),
    Binding("right", "view(1)", "Next", id="later", key_display="→",
            tooltip="View the next step of the timeline"),
    Binding("home", "view_first", "First step", id="first-step", show=False),
    Binding("end", "view_last", "Newest step", id="newest-step", show=False),
    Binding("up", "select_unit(-1)", "Unit -1", id="unit-up", show=False, key_display="↑"),
    Binding("down", "select_unit(1)", "Unit +1", id="unit-down", show=False, key_display="↓"),
    Binding("pageup", "select_unit(-16)", "Unit -16", id="unit-page-up", show=False),
    Binding("pagedown", "select_unit(16)", "Unit +16", id="unit-page-down", show=False),
    Binding("tab", "select_layer(1)", "Next layer", id="layer-next", show=False),
    Binding("shift+tab", "select_layer(-1)", "Previous layer", id="layer-previous", show=False),
    Binding("ctrl+r", "reset", "Reset", id="reset", tooltip="Clear the timeline (h back to zero)"),
    Binding("f2", "toggle_panel('gates')", "Gates", id="toggle-gates",
            tooltip="Show or hide the gate heatmaps"),
    Binding("f3", "toggle_panel('log')", "Log", id="toggle-log", show=False,
            tooltip="Show or hide the step log"),
    Binding("f4", "toggle_panel('side')", "Side", id="toggle-side", show=False,
            tooltip="Show or hide top-k, unit detail and legend"),
    Binding("f5", "intervene", "Intervene", id="intervene",
            tooltip="Intervene on the selected unit: set, zero, clamp, release or scale it"),
    Binding("f6", "fork", "Fork", id="fork", tooltip="Fork a branch at the step on view"),
    Binding("f7", "branches", "Branches", id="branches",
            tooltip="Switch, rename or delete branches; see where they diverge"),
    Binding("f8", "write(10)", "Model writes", id="model-writes", show=False,
            tooltip="Let the model write: feed it its own prediction, 10 steps (Backspace undoes)"),
    Binding("shift+f8", "write(10, 1.0)", "Model samples", id="model-samples", show=False,
            tooltip="Let the model write 10 steps, sampling at temperature 1"),
    Binding("f9", "compare_steps", "Compare steps", id="compare-steps", show=False,
            tooltip="Compare two steps: why the same input gives different outputs"),
    Binding("ctrl+g", "goto_unit", "Go to unit", id="goto-unit", show=False,
            tooltip="Go to a unit by number or name (13, l1 13, l0.h[13])"),
    Binding("ctrl+t", "toggle_scale", "Scale", id="toggle-scale", show=False,
            tooltip="Colour scales: fixed over the session, or stretched over each step"),
    Binding("ctrl+d", "toggle_dock", "Analysis", id="toggle-dock", show=False,
            tooltip="Show or hide the analysis panels (text by unit, units for a pattern…)"),
    Binding("ctrl+n", "next_panel(1)", "Next panel", id="next-panel", show=False,
            tooltip="Show the next analysis panel"),
    Binding("ctrl+down", "panel_cursor(1)", "Panel row down", id="panel-down", show=False,
            tooltip="The next row of the analysis panel's list (selects its unit)"),
    Binding("ctrl+up", "panel_cursor(-1)", "Panel row up", id="panel-up", show=False,
            tooltip="The previous row of the analysis panel's list (selects its unit)"),
    Binding("ctrl+right", "panel_option(1)", "Panel option", id="panel-option-next",
            show=False, tooltip="The analysis panel's next order or setting"),
    Binding("ctrl+left", "panel_option(-1)", "Panel option back", id="panel-option-back",
            show=False, tooltip="The analysis panel's previous order or setting"),
    Binding("shift+left", "extend_span(-1)", "Span left", id="span-left", show=False,
            tooltip="Select a span of the tape to the left (for the units panel)"),
    Binding("shift+right", "extend_span(1)", "Span right", id="span-right", show=False,
            tooltip="Select a span of the tape to the right (for the units panel)"),
    Binding("ctrl+f", "choose_feature", "Feature", id="choose-feature", show=False,
            tooltip="Name a feature for the analysis panels (pair-position, regex:…, char=e)"),
    Binding("escape", "cancel_feed", "Stop", id="stop-or-clear", show=False,
            tooltip="Stop a paste being fed, else clear the span selected on the tape"),
    Binding("ctrl+u", "tape_colours", "Tape by unit", id="tape-colours", show=False,
            tooltip="Colour the tape by the selected unit, its values drawn under it"),
]

SEQ2SEQ_BINDINGS = [
    Binding("enter", "hand_over", "Hand over", id="hand-over",
            tooltip="Hand the encoder's state over and decode to </s>"),
    Binding("f6", "decode_step", "Step decoder", id="decode-step",
            tooltip="Decode one more step (the first press hands over)"),
    Binding("f5", "edit_handoff", "Edit handoff", id="edit-handoff",
            tooltip="Edit the handoff: zero, scale, set a unit, swap with another source's"),
    Binding("f7", "clear_edits", "Clear edits", id="clear-edits", show=False,
            tooltip="Drop every handoff edit"),
    Binding("left", "view_step(-1)", "Prev", id="decoder-earlier", key_display="←", show=False,
            tooltip="View the previous decoder step (tape, log and top-k)"),
    Binding("right", "view_step(1)", "Next", id="decoder-later", key_display="→", show=False,
            tooltip="View the next decoder step"),
    Binding("home", "view_step(-1_000_000)", "First step", id="decoder-first", show=False,
            tooltip="View the decoder's first step"),
    Binding("end", "view_step(1_000_000)", "Newest step", id="decoder-last", show=False,
            tooltip="View the decoder's newest step"),
    Binding("backspace", "step_back", "Back", id="source-back",
            tooltip="Remove the last source character"),
    Binding("ctrl+r", "reset", "Reset", id="source-reset",
            tooltip="Clear the source, the edits and the decode (asks first)"),
    Binding("tab", "select_layer(1)", "Next layer", id="logs-layer-next", show=False,
            tooltip="The logs and the selected unit follow the next layer's state"),
    Binding("up", "select_unit(-1)", "Unit -1", id="decoder-unit-up", show=False,
            key_display="↑", tooltip="Select the previous unit of the decoder's maps"),
    Binding("down", "select_unit(1)", "Unit +1", id="decoder-unit-down", show=False,
            key_display="↓", tooltip="Select the next unit of the decoder's maps"),
    Binding("pageup", "select_unit(-16)", "Unit -16", id="decoder-unit-page-up", show=False),
    Binding("pagedown", "select_unit(16)", "Unit +16", id="decoder-unit-page-down", show=False),
]
