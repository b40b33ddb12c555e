"""The branch picker: every branch of the session with its length, fork point and where it
diverges from the branch on screen; choosing one switches to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class BranchRow:
    """One branch as the picker lists it (plain data, taken from the session by the screen)."""

    name: str
    steps: int
    fork_t: int | None
    divergence: int | None  # first differing step from the branch on screen; None: no difference
    current: bool

    def describe(self) -> str:
        where = "the first branch" if self.fork_t is None else f"forked at t={self.fork_t}"
        if self.current:
            diverges = "on screen"
        elif self.divergence is None:
            diverges = "same steps as the branch on screen"
        else:
            diverges = f"diverges at t={self.divergence}"
        return f"{self.name}  {self.steps} steps · {where} · {diverges}"


class BranchPicker(ModalScreen[str | None]):
    """Pick a branch with the arrows and Enter; Escape keeps the one on screen."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel-branch")]

    def __init__(self, rows: Sequence[BranchRow]) -> None:
        super().__init__()
        self.rows = tuple(rows)

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label("Switch to a branch", id="prompt-title")
            yield OptionList(*(Option(row.describe(), id=row.name) for row in self.rows),
                             id="branch-list")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = next(i for i, row in enumerate(self.rows) if row.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
