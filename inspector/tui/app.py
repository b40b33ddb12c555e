"""The rnn-inspect TUI: `InspectorApp` and `run_app`, the entry point the CLI calls.

The app owns the model's life cycle (load, switch, save, export) and runs each of those in a
thread worker (bodies in `jobs.py`, results back as `messages.py`); each screen's controller owns
the session on screen. The first screen is up before torch is imported: the loading worker imports
it, and keys typed meanwhile are queued by the controller.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.worker import get_current_worker

from inspector.tui.bindings import APP_BINDINGS
from inspector.tui.commands import InspectorCommands
from inspector.tui.jobs import (
    SaveJob,
    Seq2SeqLoaded,
    export_trace,
    load,
    open_saved,
    save_job,
    save_session,
    source_label,
    with_encoder_from,
)
from inspector.tui.messages import ExportFinished, LoadFailed, ModelLoaded, SessionSaved
from inspector.tui.screens.compare import CompareScreen
from inspector.tui.screens.help import HelpScreen
from inspector.tui.screens.main import MainScreen
from inspector.tui.screens.path_prompt import (
    PathPrompt,
    checkpoint_validators,
    export_validators,
    session_file_validators,
    session_validators,
    split_vocab,
)
from inspector.tui.screens.seq2seq import Seq2SeqScreen
from inspector.tui.threads import limit_math_threads
from models.errors import first_line

if TYPE_CHECKING:
    from inspector.loading import ModelSource
    from models.checkpoint import Checkpoint

DEFAULT_MODEL = "doubled-lstm"
log = logging.getLogger("rnn_inspect")
log.addHandler(logging.NullHandler())  # nothing on the terminal the app draws on; see --log


def log_to(path: Path) -> logging.Handler:
    """`rnn-inspect --log FILE`: unexpected errors of the app's workers, with tracebacks.
    Returns the handler (a test removes it again)."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s "
                                           "%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


class InspectorApp(App[int]):
    """Step through a character model one key at a time.

    `model` is a zoo name, a checkpoint path or a `ModelSource` (None: the bundled demo).
    If the first model cannot be opened the app exits with code 2 and the one-line reason.
    """

    CSS_PATH = "app.tcss"
    TITLE = "rnn-inspect"
    BINDINGS = [*APP_BINDINGS,
                Binding("escape", "hide_keys", "Close the keys panel", show=False)]
    COMMANDS = App.COMMANDS | {InspectorCommands}

    def __init__(self, model: ModelSource | str | None = None, *,
                 compare: ModelSource | str | None = None, opened: Checkpoint | None = None,
                 compare_opened: Checkpoint | None = None,
                 encoder_from: Checkpoint | None = None) -> None:
        super().__init__()
        limit_math_threads()
        self.source: ModelSource | str = model or DEFAULT_MODEL
        self.opened = opened  # `model`, if the caller has opened it already: used once
        self.encoder_from = encoder_from  # seq2seq `model` only: whose encoder hands over
        self.main = (MainScreen() if compare is None
                     else CompareScreen(compare, opened=compare_opened))
        self.seq2seq: Seq2SeqScreen | None = None  # over the main screen while a seq2seq is open
        self.open_prompt: PathPrompt | None = None  # the open dialog waiting for its model
        self.loads = 0  # serial of the newest load: an older one's result is ignored

    async def on_mount(self) -> None:
        await self.push_screen(self.main)
        self.open_model(self.source)

    # ---- loading ---------------------------------------------------------------------------

    def open_model(self, source: ModelSource | str) -> None:
        """Load `source` in a worker; the session on screen stays until the new one is ready."""
        replay = (self.seq2seq.controller.session.source if self.seq2seq is not None
                  else self.main.controller.carried_text())
        self.main.loading(f"loading {source_label(source)}…")
        opened, self.opened = (self.opened if source is self.source else None), None
        encoder_from = self.encoder_from if source is self.source else None
        self.loads += 1
        self.load_worker(source, replay, opened, encoder_from, self.loads)

    @work(thread=True, exclusive=True, group="load")
    def load_worker(self, source: ModelSource | str, replay: str,
                    opened: Checkpoint | None, encoder_from: Checkpoint | None,
                    serial: int) -> None:
        from inspector.loading import CheckpointError

        label = source_label(source)
        try:
            loaded = load(source, replay, opened)
            if encoder_from is not None and isinstance(loaded, Seq2SeqLoaded):
                loaded = with_encoder_from(loaded, encoder_from)
        except CheckpointError as exc:
            message = LoadFailed(label, str(exc), serial)
        except Exception as exc:  # a model the engine cannot run must not take the app down
            log.exception("loading %s failed", label)
            self.log.error(f"loading {label} failed: {exc!r}")
            message = LoadFailed(label, f"{label}: cannot inspect it ({first_line(exc)})",
                                 serial)
        else:
            message = ModelLoaded(loaded, serial)
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    async def on_model_loaded(self, message: ModelLoaded) -> None:
        if message.serial != self.loads:  # superseded by a newer ctrl+o
            return
        self.close_open_prompt()
        await self.leave_seq2seq()
        if isinstance(message.loaded, Seq2SeqLoaded):
            await self.show_seq2seq(message.loaded)
        else:
            await self.main.attach(message.loaded)
        for note in message.loaded.notes:
            self.notify(note, severity="warning")

    def close_open_prompt(self) -> None:
        if self.open_prompt is not None and self.open_prompt.is_attached:
            self.open_prompt.dismiss(None)
        self.open_prompt = None

    async def show_seq2seq(self, loaded: Seq2SeqLoaded) -> None:
        """Seq2seq models get their own screen over the main one; printable keys queued while
        the model loaded become the start of its source."""
        queued = self.main.controller.take_queued()
        self.seq2seq = Seq2SeqScreen(loaded)
        await self.push_screen(self.seq2seq)
        source = "".join(ch for ch in queued if ch.isprintable())
        if source:
            self.seq2seq.feed(source)

    async def leave_seq2seq(self) -> None:
        if self.seq2seq is not None:
            while self.screen is not self.main:
                await self.pop_screen()
            self.seq2seq = None

    def on_load_failed(self, message: LoadFailed) -> None:
        if message.serial != self.loads:  # a superseded load's failure is nobody's business
            return
        if self.main.controller.loaded is None and self.seq2seq is None:  # nothing to fall back on
            self.exit(None, return_code=2, message=f"rnn-inspect: {message.reason}")
            return
        self.main.load_failed()
        if self.open_prompt is not None and self.open_prompt.is_attached:
            self.open_prompt.show_error(message.reason)  # the dialog stays, with the path
            return
        self.notify(message.reason, title="Could not open the checkpoint", severity="error",
                    timeout=8)

    def get_system_commands(self, screen):
        """Textual's palette commands but those ours already offer (Quit; Screenshot, which
        Textual saves to ~/Downloads, a folder many machines lack): no command listed twice."""
        ours = {"Quit", "Screenshot"}
        yield from (command for command in super().get_system_commands(screen)
                    if command.title not in ours)

    def action_hide_keys(self) -> None:
        """Escape closes the keys panel (opened from the palette) where nothing else takes it."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()

    # ---- actions ---------------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(seq2seq=self.seq2seq is not None))

    def action_open_checkpoint(self) -> None:
        def apply(value: str) -> str:
            from inspector.loading import ModelSource

            model, vocab = split_vocab(value)
            self.open_model(model if vocab is None else ModelSource(model, vocab=vocab))
            return f"opening {value}…"  # stays open until the model is in, or says why not

        def closed(_: str | None) -> None:
            self.open_prompt = None

        self.open_prompt = PathPrompt("Open a checkpoint (path or zoo name)", "",
                                      checkpoint_validators(), zoo=True, apply=apply)
        self.push_screen(self.open_prompt, closed)

    def job_on_screen(self, verb: str) -> SaveJob | None:
        """A copy of the journal on screen with its view, for ctrl+e and F10 (None, said on
        screen, when there is nothing to `verb` yet or a paste is still being fed)."""
        screen = self.seq2seq if self.seq2seq is not None else self.main
        controller = screen.controller
        loaded = controller.loaded
        if loaded is None or loaded.checkpoint is None:
            self.notify(f"nothing to {verb} yet: no model is loaded", severity="warning")
            return None
        if self.seq2seq is None and not controller.ready:
            self.notify(f"the model is busy: {verb} once the paste is in", severity="warning")
            return None
        if self.seq2seq is not None and self.seq2seq.working:
            self.notify(f"the model is busy: {verb} once its step is done", severity="warning")
            return None
        return save_job(loaded, controller.session, *controller.on_view())

    def action_export_trace(self) -> None:
        """ctrl+e: the timeline on view, as the screen shows it: typed text, every intervention
        and clamp, the branch, and for seq2seq the handoff edits (the session's own journal,
        replayed on a session of the worker's, so the file's numbers are the screen's)."""
        job = self.job_on_screen("export")
        if job is None:
            return

        def chosen(value: str | None) -> None:
            if value:
                self.export_worker(job, Path(value).expanduser())

        self.push_screen(PathPrompt("Export the trace to (.json, .jsonl or .npz)",
                                    f"{job.label}-trace.json", export_validators()), chosen)

    @work(thread=True, exclusive=True, group="export")
    def export_worker(self, job: SaveJob, path: Path) -> None:
        try:
            self.post_message(ExportFinished(export_trace(job, path)))
        except Exception as exc:  # reported, never fatal: the session on screen is untouched
            log.exception("exporting to %s failed", path)
            self.log.error(f"exporting to {path} failed: {exc!r}")
            self.post_message(ExportFinished(None, f"{path}: {first_line(exc)}"))

    def on_export_finished(self, message: ExportFinished) -> None:
        if message.error:
            self.notify(message.error, title="Export failed", severity="error")
        else:
            self.notify(f"trace written to {Path(message.path).resolve()}", title="Exported")

    # ---- session files ---------------------------------------------------------------------

    def action_save_session(self) -> None:
        """F10: the session on screen, to a file that replays it exactly (inspector.sessions)."""
        job = self.job_on_screen("save")
        if job is None:
            return

        def chosen(value: str | None) -> None:
            if value:
                self.save_session_worker(job, Path(value).expanduser())

        self.push_screen(PathPrompt("Save the session to (.json)", f"{job.label}-session.json",
                                    session_validators()), chosen)

    @work(thread=True, exclusive=True, group="save")
    def save_session_worker(self, job: SaveJob, path: Path) -> None:
        try:
            self.post_message(SessionSaved(save_session(job, path)))
        except Exception as exc:  # reported, never fatal: the session on screen is untouched
            log.exception("saving the session to %s failed", path)
            self.log.error(f"saving the session to {path} failed: {exc!r}")
            self.post_message(SessionSaved(None, f"{path}: {first_line(exc)}"))

    def on_session_saved(self, message: SessionSaved) -> None:
        if message.error:
            self.notify(message.error, title="Could not save the session", severity="error")
            return
        self.notify(f"session saved to {Path(message.path).resolve()}", title="Saved")
        if self.is_web:  # in a browser: the file goes to the visitor too
            self.deliver_text(message.path, save_filename=message.path.name)

    def action_open_session(self, ignore_hash: bool = False) -> None:
        """ctrl+l: a saved session, replayed on the model it names (refused on other weights
        unless `ignore_hash`, the palette's "even if its model's weights differ")."""
        def chosen(value: str | None) -> None:
            if value:
                self.main.loading(f"opening {value}…")
                self.loads += 1
                self.open_session_worker(Path(value).expanduser(), ignore_hash, self.loads)

        title = ("Open a session on other weights (path)" if ignore_hash
                 else "Open a saved session (path)")
        self.push_screen(PathPrompt(title, "", session_file_validators()), chosen)

    @work(thread=True, exclusive=True, group="load")
    def open_session_worker(self, path: Path, ignore_hash: bool, serial: int) -> None:
        from inspector.loading import CheckpointError
        from inspector.sessions import SessionFileError

        try:
            message = ModelLoaded(open_saved(path, ignore_hash), serial)
        except (SessionFileError, CheckpointError) as exc:
            message = LoadFailed(str(path), str(exc), serial)
        except Exception as exc:  # a model the engine cannot run must not take the app down
            log.exception("opening the session %s failed", path)
            self.log.error(f"opening the session {path} failed: {exc!r}")
            message = LoadFailed(str(path), f"{path}: cannot open it ({first_line(exc)})", serial)
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def action_screenshot(self) -> None:
        """ctrl+s: an SVG of the screen in the current folder, written through the one atomic
        writer (never over a device, FIFO or folder; never half a file)."""
        from datetime import datetime

        from models.atomic import OutputPathError, atomic_write

        path = Path.cwd() / f"rnn-inspect-{datetime.now():%Y%m%d-%H%M%S-%f}.svg"
        try:
            with atomic_write(path) as f:
                f.write(self.export_screenshot())
        except (OSError, OutputPathError) as exc:
            self.notify(f"{path}: cannot save the screenshot ({first_line(exc)})",
                        title="Screenshot", severity="error")
            return
        self.notify(f"screenshot saved to {path}", title="Screenshot")


def run_app(model: ModelSource | str | None = None, *,
            compare: ModelSource | str | None = None, opened: Checkpoint | None = None,
            compare_opened: Checkpoint | None = None,
            encoder_from: Checkpoint | None = None, log_file: Path | None = None) -> int:
    """Run the TUI until the user quits; returns the exit code (2 if the model cannot be opened).
    `opened` / `compare_opened`: the models already opened by the caller, not opened again;
    `encoder_from`: a seq2seq checkpoint whose encoder hands over to `model`'s decoder;
    `log_file`: where workers' unexpected errors are written (`--log`)."""
    if log_file is not None:
        log_to(log_file)
    app = InspectorApp(model, compare=compare, opened=opened, compare_opened=compare_opened,
                       encoder_from=encoder_from)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(run_app(sys.argv[1] if len(sys.argv) > 1 else None))
