"""A one-line edit dialog (interventions, handoff edits): inside a modal every printable key is
free to type a command, while on the screens behind it each one feeds the model."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label

from inspector.tui.edits import EditError
from inspector.tui.screens.prompt import Apply, LinePrompt


class ParsesAs(Validator):
    """Valid when `parse` accepts the line; its EditError message is the failure shown."""

    def __init__(self, parse: Callable[[str], object]) -> None:
        super().__init__()
        self.parse = parse

    def validate(self, value: str) -> ValidationResult:
        try:
            self.parse(value)
        except EditError as exc:
            return self.failure(str(exc))
        return self.success()


class EditPrompt(LinePrompt):
    """Ask for an edit line; dismisses with it once `parse` accepts it and `apply` (if given)
    has applied it, or None on Escape."""

    def __init__(self, title: str, hint: str, parse: Callable[[str], object],
                 apply: Apply | None = None) -> None:
        super().__init__(title, apply)
        self.hint = hint
        self.parse = parse

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.title_text, id="prompt-title")
            yield Input(validators=[ParsesAs(self.parse)], validate_on=["submitted"],
                        id="prompt-input")
            yield Label(self.hint, id="prompt-hint")
            yield Label("", id="prompt-error")
