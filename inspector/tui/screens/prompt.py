"""The one-line modal prompt the path and edit dialogs share: Enter submits once the input's
validators accept it (else their message is shown), Escape cancels with None."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class LinePrompt(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel-prompt")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        result = event.validation_result
        if result is not None and not result.is_valid:
            self.query_one("#prompt-error", Label).update(result.failure_descriptions[0])
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
