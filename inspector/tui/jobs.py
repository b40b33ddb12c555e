"""The bodies of the app's slow work, run off the event loop: loading a model, saving and
exporting the session on screen, opening a saved one. Each touches no widget and returns plain
data, which the app posts back as a message (`messages.py`). torch (and the engine, which imports
it) is imported here, in the worker, so the first screen is up before torch has finished loading.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from inspector.tui.summaries import StepSummary, summaries_of

if TYPE_CHECKING:
    from inspector.engine import InspectableModel, Seq2SeqModel, Seq2SeqSession, Session
    from inspector.engine.records import StepRecord
    from inspector.loading import ModelSource
    from inspector.sessions import View
    from models.checkpoint import Checkpoint

_FROZEN = [False]  # torch's own objects moved out of the collector's way, once


@dataclass
class Loaded:
    """A character model ready to inspect, its session already fed the text carried over.
    `inline`: the engine steps it itself (fast, our code), so keys are stepped on the event
    loop; a model with its own forward is stepped in a worker thread, where a raise or a hang
    cannot take the app down."""

    label: str
    model: InspectableModel
    session: Session
    task: str | None
    steps: list[StepSummary]
    notes: list[str] = field(default_factory=list)
    checkpoint: Checkpoint | None = None  # its weights' hash goes into a saved session
    source: ModelSource | str | None = None  # how it was named, for a session file
    view: View | None = None  # a saved session's step on view and selection
    inline: bool = True


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


def source_label(source: ModelSource | str) -> str:
    return source if isinstance(source, str) else source.label()


def _start_torch() -> None:
    import torch

    torch.set_num_threads(1)  # one thread: a 2x512 LSTM step takes ~3.6 ms instead of ~12 ms
    if not _FROZEN[0]:
        # torch leaves hundreds of thousands of long-lived objects; a full collection walking
        # them stalls a key for ~150 ms. They are frozen once, before any model is built, so
        # a model replaced later is never pinned in memory.
        import inspector.engine  # noqa: F401  (its imports are what is frozen)
        import inspector.loading  # noqa: F401

        gc.freeze()
        _FROZEN[0] = True


def load(source: ModelSource | str, replay: str,
         opened: Checkpoint | None = None) -> Loaded | Seq2SeqLoaded:
    """Open a checkpoint (raises CheckpointError with a one-line message) and feed it `replay`,
    the text of the session it replaces, so switching models keeps what the user typed (a seq2seq
    model starts with an empty source: it is a different kind of input). `opened`: the source
    already opened by the caller (the CLI checks the file before the app starts), so a factory's
    code runs once."""
    _start_torch()
    from inspector.engine import NativeModel, inspectable
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
    session = JournaledSession(model)  # journaled, so F10 can save it and ctrl+e export it
    usable = usable_text(model, replay)
    if usable != replay:
        notes.append(f"{checkpoint.name}: dropped characters its vocabulary cannot encode")
    steps = summaries_of(session.paste(usable), model.vocab.tokenize(usable), task, (), 0)
    return Loaded(checkpoint.name, model, session, task, steps, notes, checkpoint, source,
                  inline=isinstance(model, NativeModel))


def usable_text(model: InspectableModel, text: str) -> str:
    """The part of `text` a model can read: all of it with `<unk>`, else what its vocabulary
    holds (characters, or whole words for a word model)."""
    vocab = model.vocab
    if vocab.unk_id is not None or not text:
        return text
    if vocab.split == "words":
        from models.vocab import UnknownCharacterError

        kept = []
        for word in text.split():
            try:
                vocab.tokenize(word)
                kept.append(word)
            except UnknownCharacterError:
                pass
        return " ".join(kept) + " " if kept else ""
    return "".join(ch for ch in text if ch in vocab)


def summaries_of_records(records: Sequence[StepRecord], task: str | None,
                         before: Sequence[StepSummary] = ()) -> list[StepSummary]:
    """The tape's summaries of records already computed (a saved session's replay, F8)."""
    from inspector.tui.summaries import targets_after

    records = list(records)
    targets = targets_after(task, before, "".join(r.typed for r in records))
    return [StepSummary(r.t, r.typed, r.token, r.prediction,
                        None if targets is None else targets[i],
                        bool(r.interventions or r.clamps), r.by_model)
            for i, r in enumerate(records)]


@dataclass(frozen=True)
class SaveJob:
    """What F10 saves and ctrl+e exports: the journal of the session on screen (a copy) and what
    was on view. The worker replays the journal on a session of its own (bit for bit the one on
    screen), so the session on screen is never touched off the event loop."""

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
    _start_torch()
    from inspector import sessions
    from inspector.engine import NativeModel

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
    steps: list[StepSummary] = []
    for start in range(0, session.cursor, 1024):
        steps.extend(summaries_of_records(
            session.records(start, min(start + 1024, session.cursor)), task, steps))
    return Loaded(checkpoint.name, session.model, session, task, steps, notes, checkpoint,
                  opened.source, view, inline=isinstance(session.model, NativeModel))


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
