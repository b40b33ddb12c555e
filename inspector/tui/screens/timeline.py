"""Interventions and branches: the experiments on a character model's timeline.

Mixed into the main screen, whose session, step cache and selected unit they act on. Both are
events of the engine's timeline, so Backspace undoes an intervention exactly like a keystroke and
a branch keeps its own interventions.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from inspector.tui.edits import INTERVENTION_HELP, parse_intervention
from inspector.tui.screens.branches import BranchPicker, BranchRow
from inspector.tui.screens.edit_prompt import EditPrompt

if TYPE_CHECKING:
    from inspector.engine import Intervention, Session
    from inspector.tui.view import StepCache



class TimelineActions:
    """Actions for the intervention and branch bindings, and the status notes they leave."""

    session: Session | None
    cache: StepCache
    view_t: int | None
    selected_layer: int
    selected_unit: int
    forked: Session | None = None  # the session forked last: only it can have several branches

    def action_intervene(self) -> None:
        if not self.ready:
            return
        target, unit = f"l{self.selected_layer}.h", self.selected_unit

        def chosen(line: str | None) -> None:
            if line:
                self.intervene(parse_intervention(line, target, unit))

        self.app.push_screen(EditPrompt(f"Intervene on {target}[{unit}] from the next step",
                                        INTERVENTION_HELP,
                                        partial(parse_intervention, target=target, unit=unit)),
                             chosen)

    def intervene(self, intervention: Intervention) -> None:
        """Edit the newest state; the next step starts from it (Backspace undoes it)."""
        clamped = {(c.target, c.unit) for c in self.session.clamps}
        if intervention.kind == "release" and (intervention.target,
                                               intervention.unit) not in clamped:
            where = intervention.describe().removeprefix("release ")
            self.notify(f"{where} is not clamped: nothing to release", severity="warning")
            return
        try:
            self.session.intervene(intervention)
        except ValueError as exc:
            self.notify(str(exc), title="Cannot intervene", severity="error")
            return
        self.view_t = None
        self.refresh_view()

    def action_fork(self) -> None:
        """A new branch at the step on view; the branch left keeps exactly its steps (nothing
        undone comes back: no goto/forward dance on the parent)."""
        if not self.ready:
            return
        session = self.session
        name = session.new_branch_name()
        parent = session.branch
        session.fork(name, None if self.view_t is None else self.view_t + 1)
        self.forked = session
        self.show_branch()
        self.notify(f"forked {name} from {parent} at t={session.cursor}", title="Branch")

    def action_branches(self) -> None:
        if not self.ready:
            return
        session = self.session
        rows = [BranchRow(info.name, info.length, info.fork_t,
                          None if info.name == session.branch else session.divergence(info.name),
                          info.name == session.branch)
                for info in session.branches()]

        def chosen(name: str | None) -> None:
            if name and name != self.session.branch:
                self.session.switch(name)
                self.show_branch()

        self.app.push_screen(BranchPicker(rows), chosen)

    def show_branch(self) -> None:
        """Redraw after the session moved to another branch (its steps differ)."""
        self.cache.clear()
        self.cache.sync(self.session)
        self.view_t = None
        self.refresh_view()

    def timeline_notes(self) -> list[str]:
        """Status parts: the branch on screen, edits waiting for the next step, clamps held."""
        session = self.session
        if session is None:
            return []
        notes = []
        if session is self.forked:  # listing branches walks every step: only when there are some
            branches = session.branches()
            info = next(b for b in branches if b.name == session.branch)
            forked = "" if info.fork_t is None else f" (forked at t={info.fork_t})"
            notes.append(f"branch {info.name}{forked} of {len(branches)}")
        if session.pending:
            notes.append("next step: " + ", ".join(iv.describe() for iv in session.pending))
        if session.clamps:
            notes.append("clamped " + ", ".join(
                f"{c.target}{'' if c.unit is None else f'[{c.unit}]'}={c.value:g}"
                for c in session.clamps))
        return notes
