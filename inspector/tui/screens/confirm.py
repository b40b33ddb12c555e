"""A yes/no question asked before something that cannot be undone (ctrl+r clearing the timeline).
Its keys are the dialog's: y or Enter says yes, n or Escape no; no key reaches the model
(a modal screen takes them all)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label


class Confirm(ModalScreen[bool]):
    BINDINGS = [Binding("y,enter", "answer(True)", "Yes", id="confirm-yes"),
                Binding("n,escape", "answer(False)", "No", id="confirm-no")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.question, id="prompt-title")
            yield Label("y / Enter: yes    n / Escape: no", id="prompt-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
