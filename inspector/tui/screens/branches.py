"""The branch picker: every branch of the session with its length, fork point and where it
diverges from the branch on screen; choosing one switches to it, `r` renames one and `d` deletes
one (F6 still forks with one key: a fork's name can be changed here afterwards)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from inspector.tui.frames import BranchRow
from inspector.tui.screens.confirm import Confirm
from inspector.tui.screens.prompt import LinePrompt

PICKER_HINT = "Enter: switch · r: rename · d: delete · Escape: stay on this one"  # fits 72


@dataclass(frozen=True)
class BranchEdits:
    """What the picker may ask of the controller: the rows as they stand, and the two edits,
    each returning None when done or the one-line reason it could not be done."""

    rows: Callable[[], Sequence[BranchRow]]
    rename: Callable[[str, str], str | None]
    delete: Callable[[str], str | None]


class RenameBranch(LinePrompt):
    """A one-line prompt holding the branch's name; Enter renames it (an error keeps the dialog
    open with what was typed)."""

    def __init__(self, old: str, rename: Callable[[str, str], str | None]) -> None:
        super().__init__(f"Rename branch {old}", lambda new: rename(old, new))
        self.old = old

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.title_text, id="prompt-title")
            yield Input(value=self.old, id="prompt-input")
            yield Label("Enter: rename · Escape: keep the name", id="prompt-hint")
            yield Label("", id="prompt-error")


class BranchPicker(ModalScreen[str | None]):
    """Pick a branch with the arrows and Enter; Escape keeps the one on screen."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel-branch"),
                Binding("r,f2", "rename", "Rename", id="rename-branch"),
                Binding("d,delete", "delete", "Delete", id="delete-branch")]

    def __init__(self, edits: BranchEdits) -> None:
        super().__init__()
        self.edits = edits
        self.rows = tuple(edits.rows())

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label("Switch to a branch", id="prompt-title")
            yield OptionList(id="branch-list")
            yield Label(PICKER_HINT, id="prompt-hint")
            yield Label("", id="prompt-error")

    def on_mount(self) -> None:
        self.show_rows(None)

    def show_rows(self, highlight: str | None) -> None:
        """List the branches again (after a rename or delete), `highlight` under the cursor
        when it is there, else the branch on screen."""
        self.rows = tuple(self.edits.rows())
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(row.describe(), id=row.name) for row in self.rows])
        names = [row.name for row in self.rows]
        current = next(i for i, row in enumerate(self.rows) if row.current)
        options.highlighted = names.index(highlight) if highlight in names else current

    @property
    def highlighted(self) -> BranchRow | None:
        index = self.query_one(OptionList).highlighted
        return None if index is None else self.rows[index]

    def say(self, text: str) -> None:
        self.query_one("#prompt-error", Label).update(text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_rename(self) -> None:
        row = self.highlighted
        if row is None:
            return

        def renamed(new: str | None) -> None:
            if new:
                self.say(f"renamed {row.name} to {new}")
                self.show_rows(new)

        self.app.push_screen(RenameBranch(row.name, self.edits.rename), renamed)

    def action_delete(self) -> None:
        row = self.highlighted
        if row is None:
            return
        if row.current:
            self.say(f"{row.name} is on screen: switch to another branch before deleting it")
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            error = self.edits.delete(row.name)
            if error is not None:
                self.say(error)
                return
            self.say(f"deleted {row.name}")
            self.show_rows(None)

        self.app.push_screen(Confirm(f"Delete branch {row.name} ({row.steps} steps)? "
                                     "It cannot be undone."), answered)

    def action_cancel(self) -> None:
        self.dismiss(None)
