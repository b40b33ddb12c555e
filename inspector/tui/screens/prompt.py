"""The one-line modal prompt the path and edit dialogs share: Enter submits once the input's
validators accept it (else their message is shown), Escape cancels with None.

With an `apply` callback the dialog stays open until the line has really worked: `apply` returns
None (done: the dialog closes) or the one-line reason it did not, shown under the line, which is
kept for the user to fix. Keys typed in a dialog never reach the model behind it.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input, Label

Apply = Callable[[str], str | None]


class LinePrompt(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel-prompt")]

    def __init__(self, title: str, apply: Apply | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.apply = apply

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        result = event.validation_result
        if result is not None and not result.is_valid:
            self.show_error(result.failure_descriptions[0])
            return
        value = event.value.strip()
        if self.apply is not None:
            error = self.apply(value)
            if error is not None:
                self.show_error(error)
                return
        self.dismiss(value)

    def show_error(self, message: str) -> None:
        """Say why the line did not work; the line stays as typed."""
        self.query_one("#prompt-error", Label).update(message)

    def action_cancel(self) -> None:
        self.dismiss(None)
