"""A one-line path dialog with completion and validation: opening checkpoints, choosing where
to export. Validation here catches missing files at once; whether a file really is a checkpoint
is only known after loading, so the open dialog stays up while the model loads and shows a
failure under the path typed (`show_error`)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.suggester import Suggester
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label

from inspector.tui.screens.prompt import Apply, LinePrompt
from models.atomic import OutputPathError, check_output
from models.zoo import zoo_names

CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth")
EXPORT_SUFFIXES = (".json", ".jsonl", ".npz")


class PathSuggester(Suggester):
    """Completes the last path component from the file system, and zoo names."""

    def __init__(self, zoo: bool) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.zoo = zoo

    async def get_suggestion(self, value: str) -> str | None:
        if self.zoo and "/" not in value:
            for name in zoo_names():
                if name.startswith(value) and name != value:
                    return name
        path = Path(value).expanduser()
        folder, stem = (path, "") if value.endswith("/") else (path.parent, path.name)
        try:
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
        except OSError:
            return None
        for name in names:
            if name.startswith(stem) and not name.startswith("."):
                return value[: len(value) - len(stem)] + name
        return None


def split_vocab(value: str) -> tuple[str, str | None]:
    """`model.pt --vocab vocab.json` -> ("model.pt", "vocab.json"): a foreign file's vocabulary,
    as on the command line."""
    model, _, vocab = value.partition(" --vocab ")
    return model.strip(), vocab.strip() or None


class CheckpointPath(Validator):
    def validate(self, value: str) -> ValidationResult:
        value, vocab = split_vocab(value)
        if vocab is not None and not Path(vocab).expanduser().is_file():
            return self.failure(f"--vocab {vocab}: no such file")
        path = Path(value).expanduser()
        if value in zoo_names() or path.is_file():
            return self.success()
        if path.is_dir():
            return self.failure(f"{value} is a folder, not a checkpoint file")
        return self.failure(f"{value or 'nothing'}: no such file and no zoo model of that name")


class NewFile(Validator):
    """A file to write: new, or an existing one the user confirmed by pressing Enter on it twice
    (the first Enter names the file, by its absolute path, that would be replaced)."""

    def __init__(self) -> None:
        super().__init__()
        self.confirmed: str | None = None

    def replacing(self, value: str, path: Path) -> ValidationResult:
        try:
            check_output(path)  # never a device, FIFO, socket or folder: refused before any work
        except OutputPathError as exc:
            return self.failure(str(exc))
        if path.exists() and self.confirmed != value:
            self.confirmed = value
            return self.failure(f"{path.resolve()} exists: Enter again replaces it")
        return self.success()


class ExportPath(NewFile):
    """Where ctrl+e writes the timeline: a .json, .jsonl or .npz name in an existing folder."""

    def validate(self, value: str) -> ValidationResult:
        path = Path(value).expanduser()
        if path.suffix not in EXPORT_SUFFIXES:
            return self.failure("the file name must end in .json, .jsonl or .npz")
        if not path.parent.exists():
            return self.failure(f"folder {path.parent} does not exist")
        if not path.parent.is_dir():
            return self.failure(f"{path.parent} is not a folder")
        return self.replacing(value, path)


class SessionPath(NewFile):
    """Where F10 saves a session: a `.json` name in an existing folder, never a folder."""

    def validate(self, value: str) -> ValidationResult:
        path = Path(value).expanduser()
        if path.suffix != ".json":
            return self.failure("the file name must end in .json")
        if path.is_dir():
            return self.failure(f"{value} is a folder")
        if not path.parent.is_dir():
            return self.failure(f"{path.parent} is not a folder")
        return self.replacing(value, path)


class SessionFile(Validator):
    """A saved session to open: an existing file (whether it is one shows on opening)."""

    def validate(self, value: str) -> ValidationResult:
        path = Path(value).expanduser()
        if path.is_file():
            return self.success()
        if path.is_dir():
            return self.failure(f"{value} is a folder, not a session file")
        return self.failure(f"{value or 'nothing'}: no such file")


def session_validators() -> list[Validator]:
    return [SessionPath()]


def session_file_validators() -> list[Validator]:
    return [SessionFile()]


def checkpoint_validators() -> list[Validator]:
    return [CheckpointPath()]


def export_validators() -> list[Validator]:
    return [ExportPath()]


class PathPrompt(LinePrompt):
    """Ask for a path; dismisses with it once valid (and applied, see LinePrompt), or with None
    on Escape."""

    def __init__(self, title: str, value: str, validators: list[Validator], *,
                 zoo: bool = False, apply: Apply | None = None) -> None:
        super().__init__(title, apply)
        self.value = value
        self.validators = validators
        self.zoo = zoo

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.title_text, id="prompt-title")
            yield Input(self.value, suggester=PathSuggester(self.zoo), validators=self.validators,
                        validate_on=["submitted"], id="prompt-input")
            if self.zoo:
                yield Label("zoo: " + ", ".join(zoo_names()) + "\na foreign file: "
                            "model.pt --vocab vocab.json", id="prompt-hint")
            yield Label("", id="prompt-error")
