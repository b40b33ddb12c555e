"""The slow work the app does off the event loop, and the messages that bring results back.

Each function here runs in a thread worker; it touches no widget and returns plain data, which
the app posts back as a message. torch (and the engine, which imports it) is imported here, in the
worker, so the first screen is up before torch has finished loading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from inspector.tui.view import StepSummary, summarise

if TYPE_CHECKING:
    from inspector.engine import InspectableModel, Seq2SeqModel, Seq2SeqSession, Session
    from inspector.loading import ModelSource
    from inspector.sessions import View
    from models.checkpoint import Checkpoint


@dataclass
class Loaded:
    """A model ready to inspect, its session already fed with the text carried over."""

    label: str
    model: InspectableModel
    session: Session
    task: str | None
    steps: list[StepSummary]
    notes: list[str] = field(default_factory=list)
    checkpoint: Checkpoint | None = None  # its weights' hash goes into a saved session
    source: ModelSource | str | None = None  # how it was named, for a session file
    view: View | None = None  # a saved session's step on view and selection


@dataclass
class Seq2SeqLoaded:
    """A seq2seq model ready for the seq2seq screen, with an empty source."""

    label: str
    model: Seq2SeqModel
    session: Seq2SeqSession
    task: str | None
    notes: list[str] = field(default_factory=list)
    checkpoint: Checkpoint | None = None
    source: ModelSource | str | None = None
    view: View | None = None


class ModelLoaded(Message):
    def __init__(self, loaded: Loaded | Seq2SeqLoaded) -> None:
        super().__init__()
        self.loaded = loaded


class LoadFailed(Message):
    def __init__(self, source: str, reason: str) -> None:
        super().__init__()
        self.source = source
        self.reason = reason


class BulkFed(Message):
    """A long paste has been fed to the session by a worker."""

    def __init__(self, steps: list[StepSummary], error: str | None = None) -> None:
        super().__init__()
        self.steps = steps
        self.error = error


class BulkProgress(Message):
    """How far the worker feeding a long paste has got."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total


class SessionSaved(Message):
    def __init__(self, path: Path | None, error: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.error = error


class ExportFinished(Message):
    def __init__(self, path: Path | None, error: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.error = error


def source_label(source: ModelSource | str) -> str:
    return source if isinstance(source, str) else source.label()


def load(source: ModelSource | str, replay: str,
         opened: Checkpoint | None = None) -> Loaded | Seq2SeqLoaded:
    """Open a checkpoint (raises CheckpointError with a one-line message) and feed it `replay`,
    the text of the session it replaces, so switching models keeps what the user typed (a seq2seq
    model starts with an empty source: it is a different kind of input). `opened`: the source
    already opened by the caller (the CLI checks the file before the app starts), so a factory's
    code runs once."""
    import torch

    torch.set_num_threads(1)  # one thread: a 2x512 LSTM step takes ~3.6 ms instead of ~12 ms
    from inspector.engine import inspectable
    from inspector.engine.journal import JournaledSeq2Seq, JournaledSession
    from inspector.loading import open_model
    from models.errors import printable

    checkpoint = opened if opened is not None else open_model(source)
    model = inspectable(checkpoint)
    # Text from the file is shown escaped: a task name or key cannot clear the screen.
    task = printable(checkpoint.meta["task"]) if "task" in checkpoint.meta else None
    notes = [printable(note) for note in checkpoint.warnings]
    if checkpoint.kind == "seq2seq":
        return Seq2SeqLoaded(checkpoint.name, model, JournaledSeq2Seq(model), task, notes,
                             checkpoint, source)
    session = JournaledSession(model)  # journaled, so F10 can save it
    usable = "".join(ch for ch in replay if ch in model.vocab or model.vocab.unk_id is not None)
    if usable != replay:
        notes.append(f"{checkpoint.name}: dropped characters its vocabulary cannot encode")
    steps = feed_in_chunks(session, usable)
    return Loaded(checkpoint.name, model, session, task, steps, notes, checkpoint, source)


@dataclass(frozen=True)
class SaveJob:
    """What F10 saves: the journal of the session on screen (a copy) and what was on view. The
    worker replays the journal on a session of its own (bit for bit the one on screen), so the
    session on screen is never touched off the event loop."""

    model: InspectableModel | Seq2SeqModel
    checkpoint: Checkpoint
    source: ModelSource | str
    journal: tuple[dict, ...]
    keyframe_every: int
    view: View
    label: str


def save_job(loaded: Loaded | Seq2SeqLoaded, session, t: int | None, layer: int,
             unit: int) -> SaveJob:
    import copy

    from inspector.sessions import View

    return SaveJob(loaded.model, loaded.checkpoint, loaded.source,
                   tuple(copy.deepcopy(session.journal)),
                   getattr(session, "keyframe_every", 256), View(t, layer, unit), loaded.label)


def save_session(job: SaveJob, path: Path) -> Path:
    from inspector import sessions
    from inspector.engine.journal import replay

    session = replay(job.model, job.journal, job.keyframe_every)
    return sessions.save_session(path, session, job.checkpoint, job.source, job.view)


def open_saved(path: Path, ignore_hash: bool = False) -> Loaded | Seq2SeqLoaded:
    """A session file replayed on the model it names, ready for the screen with its step on
    view; raises SessionFileError or CheckpointError (one line). A number the replay did not
    reproduce is a warning note (another CPU's rounding, or a changed file)."""
    import torch

    torch.set_num_threads(1)
    from inspector import sessions

    opened = sessions.open_session(
        path, ignore_hash=ignore_hash,
        hint="ctrl+p › “Open a saved session even if its model's weights differ” opens it anyway")
    checkpoint, session, view = opened.checkpoint, opened.session, opened.saved.view
    task = checkpoint.meta.get("task")
    notes = list(checkpoint.warnings)
    if opened.mismatch is not None:
        notes.append(f"{path}: {opened.mismatch.describe()} (the replay differs from the file)")
    if checkpoint.kind == "seq2seq":
        return Seq2SeqLoaded(checkpoint.name, session.model, session, task, notes, checkpoint,
                             opened.source, view)
    steps = [summarise(r) for start in range(0, session.cursor, 1024)
             for r in session.records(start, min(start + 1024, session.cursor))]
    return Loaded(checkpoint.name, session.model, session, task, steps, notes, checkpoint,
                  opened.source, view)


def with_encoder_from(loaded: Seq2SeqLoaded, encoder_from: Checkpoint) -> Seq2SeqLoaded:
    """The loaded pair with `encoder_from`'s encoder handing over to its decoder (`--encoder-from`),
    and the one line that says why the decode fails."""
    from inspector.engine import inspectable
    from inspector.engine.journal import JournaledSeq2Seq
    from models.errors import printable

    model = loaded.model.with_encoder_of(inspectable(encoder_from))
    return replace(loaded, model=model, session=JournaledSeq2Seq(model),
                   notes=[*loaded.notes, printable(model.handoff_note)])


def export_trace(job: SaveJob, path: Path) -> Path:
    """The timeline on screen (the journal in `job`, replayed bit for bit) as the trace
    `rnn-inspect replay --format` writes: npz for `.npz`, JSON lines for `.jsonl`, else JSON;
    interventions, branch and source in its header; written atomically."""
    from inspector.engine.export import write_session_trace
    from inspector.engine.journal import replay
    from inspector.provenance import source_block

    fmt = {".npz": "npz", ".jsonl": "jsonl"}.get(path.suffix, "json")
    session = replay(job.model, job.journal, job.keyframe_every)
    if getattr(session, "decoded", ()) is None:  # a source not handed over yet: decode it here,
        session.decode()  # on the worker's copy, as Enter would (greedy, to </s>)
    write_session_trace(session, fmt, path, source=source_block(job.checkpoint))
    return path


def feed_in_chunks(session: Session, text: str, chunk: int = 256,
                   progress: Callable[[int], None] | None = None) -> list[StepSummary]:
    """Feed a long text, keeping only the summaries: a 10,000-step paste never holds 10,000 full
    records (each carries every activation) at once. `progress` hears how many characters are
    in after each chunk."""
    summaries: list[StepSummary] = []
    for start in range(0, len(text), chunk):
        summaries.extend(summarise(r) for r in session.feed(text[start:start + chunk]))
        if progress is not None:
            progress(len(summaries))
    return summaries
