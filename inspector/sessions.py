"""Session files: save what a session did, open it again bit for bit, and check its numbers.

A session file (`rnn-inspect-session/1`, JSON) holds:
- `source`: `{"tool", "torch", "model_sha256"}` (inspector.provenance), and `model`: how to open
  the model again (a zoo name or a path, and the options it was opened with). Opening the session
  against weights with another hash is refused unless told otherwise (`ignore_hash`).
- `journal`: every verb the session was given, in order (inspector.engine.journal): keys typed,
  pastes (fed the fused way again), back / forward / goto, forks and switches, interventions and
  clamps, and for seq2seq the handoff edits and decodes. Replaying it makes the same calls, so
  every record is bit for bit the saved session's.
- `branches` (what each branch holds: text, steps, fork point, interventions by step), for people
  reading the file; `view`: the step on view and the selected layer and unit.
- `numbers`: the records of the branch on view (`h`, `c`, gates, logits and probabilities of
  the newest steps, up to `RECORD_BUDGET` bytes) and the state at every branch's cursor, so
  `rnn-inspect replay --check` can verify them on another machine. Each activation is one array
  `[steps, size]` of float32, stored as base64 of its raw little-endian bytes: exact, and a
  quarter the size of decimal text.
"""

from __future__ import annotations

import base64
import json
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from inspector.engine.export import interventions_json
from inspector.engine.journal import (
    JournaledSeq2Seq,
    JournaledSession,
    JournalError,
    replay,
)
from inspector.engine.records import State, StepRecord
from inspector.loading import ModelSource
from inspector.provenance import model_sha256, source_block
from models.atomic import atomic_write
from models.errors import first_line

log = logging.getLogger("rnn_inspect")

FORMAT = "rnn-inspect-session/1"
ENCODING = "base64 float32 little-endian, row-major [steps, size]"
RECORD_BUDGET = 16 * 2**20  # bytes of float32 numbers recorded for the branch on view
CHUNK = 512  # records built at a time while saving or checking (bounded memory)

__all__ = ["FORMAT", "Mismatch", "ModelMismatch", "SavedSession", "SessionFileError", "View",
           "check", "read_session", "restore", "save_session", "session_json"]


class SessionFileError(ValueError):
    """A session file that cannot be read or replayed: one line naming the file."""


class ModelMismatch(SessionFileError):
    """The model's weights are not the ones the session was saved with."""


@dataclass(frozen=True)
class View:
    """What was on screen: the step on view (None: the newest; the decoder step for seq2seq)
    and the selected layer and unit."""

    t: int | None = None
    layer: int = 0
    unit: int = 0


@dataclass(frozen=True)
class SavedSession:
    """A session file as read (validated), before its model is opened."""

    path: Path
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.data["model"]["kind"]

    @property
    def sha256(self) -> str:
        return self.data["source"]["model_sha256"]

    @property
    def journal(self) -> list[dict[str, Any]]:
        return self.data["journal"]

    @property
    def view(self) -> View:
        view = self.data.get("view") or {}
        return View(view.get("t"), view.get("layer", 0), view.get("unit", 0))

    @property
    def model_label(self) -> str:
        model = self.data["model"]
        return model.get("ref") or model.get("options", {}).get("factory") or "model"

    def model_source(self, trust_pickle: bool = False) -> ModelSource:
        """How to open the model again. A path that no longer exists is looked for beside the
        session file (send both files together). A factory is never run from a file: it is
        code, so the user names it (`--factory`) to replay such a session; `--trust-pickle`
        likewise comes from the user, never from the file."""
        model = self.data["model"]
        options = dict(model.get("options") or {})
        if options.get("factory"):
            raise SessionFileError(
                f"{self.path}: the session's model came from --factory {options['factory']}, "
                f"which runs code: pass --factory {options['factory']} (and its options) "
                "yourself to replay it")
        known = {f.name for f in fields(ModelSource)} - {"model", "trust_pickle", "factory"}
        kwargs = {name: self._beside(value) if isinstance(value, str) else value
                  for name, value in options.items() if name in known}
        return ModelSource(model=self._beside(model.get("ref")), trust_pickle=trust_pickle,
                           **kwargs)

    def _beside(self, ref: str | None) -> str | None:
        if ref is None or not Path(ref).is_absolute() or Path(ref).exists():
            return ref
        sibling = self.path.parent / Path(ref).name
        return str(sibling) if sibling.exists() else ref


@dataclass(frozen=True)
class Mismatch:
    """The first number (or token) a replay did not reproduce."""

    where: str  # e.g. `t=3 l0.gate.f[7]`, `branch b1 state l0.h[2]`, `steps`
    saved: str
    replayed: str

    def describe(self) -> str:
        return f"{self.where}: saved {self.saved}, replayed {self.replayed}"


# ---- model reference --------------------------------------------------------------------------

def model_reference(source: ModelSource | str, checkpoint) -> dict[str, Any]:
    """A zoo name as it is, a path made absolute (so the file opens from anywhere), and the
    options the model was opened with (paths among them made absolute too)."""
    if isinstance(source, str):
        source = ModelSource(source)

    def absolute(value: Any) -> Any:
        if isinstance(value, str) and Path(value).expanduser().is_file():
            return str(Path(value).expanduser().resolve())
        return value

    options = {f.name: absolute(getattr(source, f.name)) for f in fields(source)
               if f.name != "model" and getattr(source, f.name) not in (None, False, ())}
    model = getattr(checkpoint, "kind", None)
    return {"ref": absolute(source.model), "options": options, "name": checkpoint.name,
            "kind": model or "char"}


# ---- numbers ------------------------------------------------------------------------------------

def _encode(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def _decode(text: str, shape: list[int], what: str) -> np.ndarray:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise SessionFileError(f"numbers {what}: not base64 ({exc})") from None
    if len(raw) != 4 * math.prod(shape):
        raise SessionFileError(f"numbers {what}: {len(raw)} bytes for shape {shape}")
    return np.frombuffer(raw, dtype="<f4").reshape(shape)


def record_arrays(record: StepRecord) -> dict[str, np.ndarray]:
    """The numbers a session file records of a step, by their stable names: every layer's `h`,
    `c` and gates, and the output's logits and probabilities. (Δh and the input / memory parts
    are left out: they follow from these and would triple the file.)"""
    out: dict[str, np.ndarray] = {}
    for k, layer in enumerate(record.layers):
        out[f"l{k}.h"] = layer.h
        if layer.c is not None:
            out[f"l{k}.c"] = layer.c
        for gate, values in layer.gates.items():
            out[f"l{k}.gate.{gate}"] = values
    for name in ("logits", "probs"):
        values = getattr(record.output, name)
        if values.size:
            out[name] = values
    return out


def _record_bytes(record: StepRecord) -> int:
    return 4 * sum(v.size for v in record_arrays(record).values())


def records_block(chunks: Iterable[list[StepRecord]], start: int) -> dict[str, Any]:
    """Records as one float32 array per activation, plus the tokens in and out of each step."""
    columns: dict[str, list[np.ndarray]] = {}
    typed, tokens, predictions = [], [], []
    for chunk in chunks:
        for record in chunk:
            for name, values in record_arrays(record).items():
                columns.setdefault(name, []).append(values)
            typed.append(record.typed)
            tokens.append(record.token)
            predictions.append(record.prediction)
    arrays = {name: {"shape": [len(rows), int(rows[0].size)], "data": _encode(np.stack(rows))}
              for name, rows in columns.items()}
    return {"start": start, "stop": start + len(typed), "typed": typed, "tokens": tokens,
            "predictions": predictions, "arrays": arrays}


def state_block(state: State) -> dict[str, Any]:
    arrays = {}
    for k, layer in enumerate(state):
        arrays[f"l{k}.h"] = layer.h
        if layer.c is not None:
            arrays[f"l{k}.c"] = layer.c
    return {name: {"shape": [1, int(v.size)], "data": _encode(v[None])}
            for name, v in arrays.items()}


def _chunks(session, start: int, stop: int) -> Iterable[list[StepRecord]]:
    for first in range(start, stop, CHUNK):
        yield session.records(first, min(first + CHUNK, stop))


def _recorded_start(session, budget: int) -> int:
    if not session.cursor:
        return 0
    per_step = max(_record_bytes(session.records(session.cursor - 1, session.cursor)[0]), 1)
    return max(0, session.cursor - budget // per_step)


def char_numbers(session: JournaledSession, budget: int = RECORD_BUDGET) -> dict[str, Any]:
    start = _recorded_start(session, budget)
    return {"encoding": ENCODING, "branch": session.branch,
            "records": records_block(_chunks(session, start, session.cursor), start),
            "states": {name: state_block(state)
                       for name, state in branch_states(session).items()}}


def seq2seq_numbers(session: JournaledSeq2Seq, budget: int = RECORD_BUDGET) -> dict[str, Any]:
    encoder = session.encoder
    start = _recorded_start(encoder, budget)
    decoded = session.decoded
    return {"encoding": ENCODING,
            "encoder": records_block(_chunks(encoder, start, encoder.cursor), start),
            "handoff": state_block(session.handoff().layers),
            "decoder": None if decoded is None else records_block([list(decoded)], 0),
            "output": None if decoded is None else _output(session, decoded)}


def _output(session: JournaledSeq2Seq, decoded: tuple[StepRecord, ...]) -> str:
    vocab = session.model.target_vocab
    return "".join(r.prediction for r in decoded if r.prediction not in (vocab.bos, vocab.eos))


def branch_states(session: JournaledSession) -> dict[str, State]:
    """The state at every branch's cursor. Switches through the branches without journaling
    (a save is not a verb) and comes back to the branch on view."""
    from inspector.engine.session import Session

    here, out = session.branch, {}
    for info in session.branches():
        if info.name != here:
            Session.switch(session, info.name)
            out[info.name] = session.state
    Session.switch(session, here)
    out[here] = session.state
    return out


# ---- writing --------------------------------------------------------------------------------

def branches_json(session: JournaledSession) -> list[dict[str, Any]]:
    """What each branch holds, for people reading the file (the journal is what replays)."""
    from inspector.engine.session import Session

    here, out = session.branch, []
    for info in session.branches():
        Session.switch(session, info.name)
        out.append({"name": info.name, "steps": session.cursor, "fork_t": info.fork_t,
                    "text": session.text, "interventions": interventions_json(session.events),
                    "clamps": [{"target": c.target, "unit": c.unit, "value": c.value}
                               for c in session.clamps]})
    Session.switch(session, here)
    return out


def session_json(session: JournaledSession | JournaledSeq2Seq, checkpoint,
                 source: ModelSource | str, view: View = View(),
                 budget: int = RECORD_BUDGET) -> dict[str, Any]:
    """The whole file as a dict. `checkpoint` gives the weights' hash; `source` is how the
    model was named (a zoo name, a path and its options)."""
    data: dict[str, Any] = {
        "format": FORMAT,
        "source": source_block(checkpoint),
        "model": model_reference(source, checkpoint),
        "view": {"t": view.t, "layer": view.layer, "unit": view.unit},
        "journal": session.journal,
    }
    if isinstance(session, JournaledSeq2Seq):
        data["source_text"] = session.source
        data["edits"] = [e.describe() for e in session.edits]
        data["numbers"] = seq2seq_numbers(session, budget)
    else:
        data["keyframe_every"] = session.keyframe_every
        data["branch"] = session.branch
        data["branches"] = branches_json(session)
        data["numbers"] = char_numbers(session, budget)
    return data


def save_session(path: str | Path, session: JournaledSession | JournaledSeq2Seq, checkpoint,
                 source: ModelSource | str, view: View = View(),
                 budget: int = RECORD_BUDGET) -> Path:
    """Write the session file atomically (an existing file is replaced only once the new one
    is complete); raises OutputPathError / OSError for a target that cannot be written."""
    data = session_json(session, checkpoint, source, view, budget)
    with atomic_write(path) as f:
        json.dump(data, f, ensure_ascii=False, allow_nan=False)
        f.write("\n")
    return Path(path)


# ---- reading --------------------------------------------------------------------------------

def read_session(path: str | Path) -> SavedSession:
    """Read and validate a session file; raises SessionFileError with one line."""
    path = Path(path).expanduser()
    if not path.is_file():
        what = "a folder" if path.is_dir() else "not a regular file" if path.exists() else \
            "no such file"
        raise SessionFileError(f"{path}: {what}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SessionFileError(f"{path}: not a session file (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise SessionFileError(f"{path}: not a session file (invalid JSON: {exc.msg} at line "
                               f"{exc.lineno})") from None
    except OSError as exc:
        raise SessionFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("format"), str):
        raise SessionFileError(f"{path}: not an rnn-inspect session file (no format field)")
    if data["format"] != FORMAT:
        if data["format"].startswith("rnn-inspect-session/"):
            raise SessionFileError(f"{path}: format {data['format']} is not one this version "
                                   f"reads ({FORMAT}); a newer rnn-inspect wrote it")
        raise SessionFileError(f"{path}: not an rnn-inspect session file "
                               f"(format {data['format']!r})")
    _require(path, data, "source", dict)
    _require(path, data["source"], "model_sha256", str, "source.")
    _require(path, data, "model", dict)
    _require(path, data["model"], "kind", str, "model.")
    _require(path, data, "journal", list)
    _require(path, data, "numbers", dict)
    view = data.get("view")
    if view is not None:
        if not isinstance(view, dict):
            raise SessionFileError(f"{path}: view should be an object")
        for name in ("t", "layer", "unit"):
            value = view.get(name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise SessionFileError(f"{path}: view.{name} should be a whole number")
    return SavedSession(path, data)


def _require(path: Path, data: dict, name: str, kind: type, prefix: str = "") -> None:
    if not isinstance(data.get(name), kind):
        raise SessionFileError(f"{path}: {prefix}{name} is missing or not "
                               f"{'an object' if kind is dict else 'a ' + kind.__name__}")


def restore(saved: SavedSession, checkpoint, *, model=None, ignore_hash: bool = False,
            hint: str = "pass --ignore-hash to replay it anyway"
            ) -> JournaledSession | JournaledSeq2Seq:
    """Replay the saved journal on `checkpoint`'s model (or `model`, its inspectable view, when
    the caller has one already). Refuses other weights (ModelMismatch, ending with `hint`)
    unless `ignore_hash`."""
    actual = model_sha256(checkpoint)
    if actual != saved.sha256 and not ignore_hash:
        raise ModelMismatch(
            f"{saved.path}: saved with model sha256 {saved.sha256[:12]}…, but "
            f"{checkpoint.name} has {actual[:12]}…: these are other weights ({hint})")
    if model is None:
        from inspector.engine import inspectable

        model = inspectable(checkpoint)
    wanted = saved.kind == "seq2seq"
    if wanted != (model.kind == "seq2seq"):
        raise SessionFileError(f"{saved.path}: a {saved.kind} session cannot be replayed on "
                               f"{checkpoint.name}, a {model.kind} model")
    keyframe_every = saved.data.get("keyframe_every", 256)
    if not isinstance(keyframe_every, int) or isinstance(keyframe_every, bool) or \
            keyframe_every < 1:
        raise SessionFileError(f"{saved.path}: keyframe_every should be a positive whole number")
    try:
        return replay(model, saved.journal, keyframe_every)
    except JournalError as exc:
        raise SessionFileError(f"{saved.path}: {exc}") from None
    except ValueError as exc:  # a verb that does not apply to this model (unit out of range…)
        raise SessionFileError(f"{saved.path}: cannot replay it on {checkpoint.name} "
                               f"({exc})") from None
    except Exception as exc:  # the model's own forward raised: say so in one line
        log.exception("replaying %s on %s failed", saved.path, checkpoint.name)
        raise SessionFileError(f"{saved.path}: cannot replay it on {checkpoint.name}: its "
                               f"forward failed ({first_line(exc)})") from None


# ---- checking -------------------------------------------------------------------------------

def _bits(value: np.float32) -> str:
    return f"{float(value):.9g} (0x{int(np.float32(value).view(np.uint32)):08x})"


def _first_difference(saved: np.ndarray, replayed: np.ndarray, atol: float
                      ) -> tuple[int, int] | None:
    """(row, column) of the first element that differs: any bit, or by more than `atol`."""
    saved, replayed = saved.astype("<f4"), replayed.astype("<f4")
    differ = saved.view(np.uint32) != replayed.view(np.uint32)
    if atol > 0:
        close = np.abs(saved.astype(np.float64) - replayed) <= atol
        both_nan = np.isnan(saved) & np.isnan(replayed)
        differ &= ~(close | both_nan)
    where = np.argwhere(differ)
    return (int(where[0][0]), int(where[0][1])) if where.size else None


def _compare_records(block: Any, replayed_records, label: str, atol: float
                     ) -> Mismatch | None:
    """The earliest step at which the replayed records differ from a saved block: a token in or
    out, or any number (the first activation in record order at that step)."""
    if not isinstance(block, dict) or not isinstance(block.get("arrays"), dict):
        raise SessionFileError(f"numbers {label or 'records'}: missing or not an object")
    start, stop = block.get("start"), block.get("stop")
    if not (isinstance(start, int) and isinstance(stop, int) and 0 <= start <= stop):
        raise SessionFileError(f"numbers {label or 'records'}: start/stop are not step numbers")
    chunks = ([replayed_records] if isinstance(replayed_records, list)
              else _chunks(replayed_records, start, stop))
    replayed = records_block(chunks, start)
    if replayed["stop"] != stop:
        return Mismatch(f"{label}steps", f"{stop - start} steps",
                        f"{replayed['stop'] - start} steps")
    earliest: tuple[int, int, Mismatch] | None = None  # (row, order, mismatch)

    def consider(row: int, order: int, make) -> None:
        nonlocal earliest
        if earliest is None or (row, order) < earliest[:2]:
            earliest = (row, order, make())

    for order, key in enumerate(("typed", "tokens", "predictions")):
        for row, (a, b) in enumerate(zip(block.get(key, []), replayed[key])):
            if a != b:
                consider(row, order, lambda row=row, key=key, a=a, b=b: Mismatch(
                    f"{label}t={start + row} {key.rstrip('s')}", repr(a), repr(b)))
                break
    for order, (name, item) in enumerate(block["arrays"].items(), start=3):
        if name not in replayed["arrays"]:
            return Mismatch(f"{label}{name}", "recorded", "no such activation")
        mine = _decode(replayed["arrays"][name]["data"], replayed["arrays"][name]["shape"], name)
        theirs = _decode(item.get("data", ""), item.get("shape", [0, 0]), name)
        if mine.shape != theirs.shape:
            return Mismatch(f"{label}{name}", f"shape {list(theirs.shape)}",
                            f"shape {list(mine.shape)}")
        found = _first_difference(theirs, mine, atol)
        if found is not None:
            row, column = found
            consider(row, order, lambda row=row, column=column, name=name, theirs=theirs,
                     mine=mine: Mismatch(f"{label}t={start + row} {name}[{column}]",
                                         _bits(theirs[row, column]), _bits(mine[row, column])))
    return None if earliest is None else earliest[2]


def _compare_state(block: Any, state: State, label: str, atol: float) -> Mismatch | None:
    if not isinstance(block, dict):
        raise SessionFileError(f"numbers {label}: not an object")
    mine = state_block(state)
    for name, item in block.items():
        if name not in mine:
            return Mismatch(f"{label} {name}", "recorded", "no such state")
        theirs = _decode(item.get("data", ""), item.get("shape", [0, 0]), name)
        replayed = _decode(mine[name]["data"], mine[name]["shape"], name)
        if theirs.shape != replayed.shape:
            return Mismatch(f"{label} {name}", f"shape {list(theirs.shape)}",
                            f"shape {list(replayed.shape)}")
        found = _first_difference(theirs, replayed, atol)
        if found is not None:
            return Mismatch(f"{label} {name}[{found[1]}]", _bits(theirs[0, found[1]]),
                            _bits(replayed[0, found[1]]))
    return None


def check(saved: SavedSession, session: JournaledSession | JournaledSeq2Seq,
          atol: float = 0.0) -> Mismatch | None:
    """The first recorded number the replayed `session` does not reproduce (bit for bit, or
    within `atol` for another CPU's rounding), or None when every one matches."""
    numbers = saved.data["numbers"]
    try:
        if isinstance(session, JournaledSeq2Seq):
            return _check_seq2seq(numbers, session, atol)
        return _check_char(numbers, session, atol)
    except (KeyError, TypeError, AttributeError) as exc:
        raise SessionFileError(f"{saved.path}: numbers are malformed ({exc!r})") from None


def _check_char(numbers: dict, session: JournaledSession, atol: float) -> Mismatch | None:
    if numbers.get("branch") != session.branch:
        return Mismatch("branch on view", repr(numbers.get("branch")), repr(session.branch))
    found = _compare_records(numbers.get("records"), session, "", atol)
    if found is not None:
        return found
    states = branch_states(session)
    for name, block in (numbers.get("states") or {}).items():
        if name not in states:
            return Mismatch(f"branch {name}", "recorded", "no such branch")
        found = _compare_state(block, states[name], f"branch {name} state", atol)
        if found is not None:
            return found
    return None


def _check_seq2seq(numbers: dict, session: JournaledSeq2Seq, atol: float) -> Mismatch | None:
    found = _compare_records(numbers.get("encoder"), session.encoder, "encoder ", atol)
    if found is not None:
        return found
    found = _compare_state(numbers.get("handoff"), session.handoff().layers, "handoff", atol)
    if found is not None:
        return found
    decoder = numbers.get("decoder")
    if (decoder is None) != (session.decoded is None):
        return Mismatch("decoder", "no decode" if decoder is None else "a decode",
                        "no decode" if session.decoded is None else "a decode")
    if decoder is not None:
        found = _compare_records(decoder, list(session.decoded), "dec ", atol)
        if found is not None:
            return found
        output = _output(session, session.decoded)
        if numbers.get("output") != output:
            return Mismatch("output", repr(numbers.get("output")), repr(output))
    return None


# ---- what a replay says and writes ----------------------------------------------------------

def describe(session: JournaledSession | JournaledSeq2Seq) -> str:
    """One line: what the replayed session holds."""
    if isinstance(session, JournaledSeq2Seq):
        decoded = ("not decoded" if session.decoded is None
                   else f"decoded {_output(session, session.decoded)!r}")
        return (f"source {session.source!r}, {len(session.edits)} handoff edit(s), {decoded}")
    branches = session.branches()
    return (f"{session.cursor} steps on branch {session.branch} ({len(branches)} "
            f"branch{'es' if len(branches) != 1 else ''}), "
            f"{len(interventions_json(session.events))} intervention(s) on it")


# ---- opening, for the app and the replay command --------------------------------------------

@dataclass(frozen=True)
class Opened:
    """A session file replayed on its model, and the first recorded number it did not
    reproduce (None: every one matches)."""

    saved: SavedSession
    checkpoint: Any
    source: ModelSource
    session: JournaledSession | JournaledSeq2Seq
    mismatch: Mismatch | None


def open_session(path: str | Path, source: ModelSource | None = None, *,
                 ignore_hash: bool = False, trust_pickle: bool = False,
                 verify: bool = True, atol: float = 0.0,
                 hint: str = "pass --ignore-hash to replay it anyway",
                 opener: Callable[[ModelSource], Any] | None = None) -> Opened:
    """Read a session file, open its model (or `source`) with `opener` (default open_model; a
    command passes the one every command opens models with), replay it and (`verify`) check its
    numbers. Raises SessionFileError (ModelMismatch for other weights) or CheckpointError,
    one line."""
    from inspector.loading import open_model

    saved = read_session(path)
    source = source if source is not None else saved.model_source(trust_pickle=trust_pickle)
    checkpoint = (opener or open_model)(source)
    session = restore(saved, checkpoint, ignore_hash=ignore_hash, hint=hint)
    mismatch = check(saved, session, atol) if verify else None
    return Opened(saved, checkpoint, source, session, mismatch)
