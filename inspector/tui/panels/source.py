"""The activations panels read, for the timeline on screen: computed in workers, kept between
frames, so a timeline that grew by one key costs one step and a Backspace costs nothing.

Not a widget: the screen (its controller) owns one `TimelineSource` per model and hands panels
`source.activations(events)` (a cheap handle, made on the event loop) and `source.run`.

A timeline of plain keys goes through the bulk trace (torch's fused forward, within float32
rounding of the stepped records, as `rnn-inspect trace` is); its rows are kept in growing
buffers and only the new keys are traced. A timeline with interventions is replayed through
`Session` itself, so every edit and clamp acts exactly as it did on screen. Past `CACHE_BYTES`
nothing is kept: each request traces again, chunk by chunk (`chunks` stays bounded in memory).

The engine (torch) is imported inside the methods: importing `inspector.tui` must not import it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

CHUNK = 2048
CACHE_BYTES = 256 * 2 ** 20  # rows kept for the timeline on screen, all activations together
LOCKED_CHUNK = 64  # steps of a model with its own forward traced per hold of its lock


class TimelineSource:
    """Activations of one model's timelines (tuples of the session's `Feed` / `Intervene`
    events). Thread-safe: every method but `activations` is meant for worker threads."""

    def __init__(self, model: Any, cache_bytes: int = CACHE_BYTES) -> None:
        self.model = model
        self.cache_bytes = cache_bytes
        self._lock = threading.Lock()
        self._ids = np.zeros(0, dtype=np.int64)  # token ids of the rows kept
        self._rows: dict[str, np.ndarray] = {}  # name -> buffer; rows [0, len(_ids)) are valid
        self._replayed: tuple | None = None  # (events, arrays, session): the last one with edits
        self.info = None  # the panels' ModelInfo of this model, built once (`inputs`)

    # ---- handles -------------------------------------------------------------------------

    def activations(self, events: Sequence) -> TimelineActivations:
        """A handle on `events` (cheap: nothing is computed until a worker asks)."""
        return TimelineActivations(self, tuple(events))

    def run(self, job):
        """job(model) in this (worker) thread. A native model's weights are only read, so it
        runs beside the keys; a model with its own forward is locked while the job runs."""
        from inspector.engine.model import NativeModel, model_lock

        if isinstance(self.model, NativeModel):
            return job(self.model)
        with model_lock(self.model):
            return job(self.model)

    # ---- what the handles ask ------------------------------------------------------------

    def arrays(self, events: tuple) -> dict[str, np.ndarray]:
        """Every activation of `events`' timeline, `(T, n)` read-only, kept where it fits."""
        from inspector.engine.session import Intervene

        with self._lock:
            if any(isinstance(e, Intervene) for e in events):
                return self._replay(events)
            ids = np.array([e.token_id for e in events], dtype=np.int64)
            if self._fits(len(ids)):
                return self._grow(ids)
        return _concatenate(self._trace(ids, 0, None))

    def chunks(self, events: tuple, names: Sequence[str] | None,
               size: int) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        from inspector.engine.session import Intervene

        steps = sum(1 for e in events if not isinstance(e, Intervene))
        if any(isinstance(e, Intervene) for e in events) or self._fits(steps):
            arrays = self.arrays(events)
            wanted = tuple(arrays) if names is None else tuple(names)
            for start in range(0, steps, size):
                yield start, {name: arrays[name][start:start + size] for name in wanted}
            return
        ids = np.array([e.token_id for e in events], dtype=np.int64)
        for start, part in self._trace(ids, 0, None, size):
            yield start, part if names is None else {name: part[name] for name in names}

    def state_before(self, events: tuple, t: int) -> tuple[tuple[np.ndarray, np.ndarray | None],
                                                            ...]:
        """The state step t of `events` started from, edits before it included."""
        from inspector.engine.session import Intervene
        from inspector.tui.panels.base import rows_state

        if any(isinstance(e, Intervene) for e in events):
            with self._lock:
                self._replay(events)
                session = self._replayed[2]
                return tuple((layer.h, layer.c) for layer in session.state_before(t))
        return rows_state(self.arrays(events), t)

    # ---- internals -----------------------------------------------------------------------

    def _row_bytes(self) -> int:
        model = self.model
        per_layer = (3 + int(model.has_cell) + len(model.gate_names)) * model.hidden
        return 4 * (model.n_layers * per_layer + 2 * len(model.labels))

    def _fits(self, steps: int) -> bool:
        return steps * self._row_bytes() <= self.cache_bytes

    def _grow(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        """Keep the rows of the longest common prefix, trace the rest from the state there."""
        old = self._ids
        n = min(len(old), len(ids))
        differ = np.flatnonzero(old[:n] != ids[:n])
        keep = int(differ[0]) if len(differ) else n
        if keep < len(old):  # old handles keep their views: copy the prefix, never overwrite
            self._rows = {name: rows[:keep].copy() for name, rows in self._rows.items()}
            self._ids = old[:keep]
        if len(ids) > keep:
            for start, part in self._trace(ids, keep, self._state_after(keep)):
                self._append(start, part)
            self._ids = ids.copy()
        steps = len(ids)
        out = {}
        for name, rows in self._rows.items():
            view = rows[:steps]
            view.flags.writeable = False
            out[name] = view
        return out

    def _state_after(self, steps: int):
        """The state after step `steps`-1 of a plain timeline: its own h (and c) rows."""
        from inspector.engine.records import LayerState

        if steps == 0:
            return None
        model = self.model
        return tuple(LayerState(self._rows[f"l{k}.h"][steps - 1].copy(),
                                self._rows[f"l{k}.c"][steps - 1].copy() if model.has_cell
                                else None)
                     for k in range(model.n_layers))

    def _append(self, start: int, part: dict[str, np.ndarray]) -> None:
        stop = start + len(next(iter(part.values())))
        for name, rows in part.items():
            buffer = self._rows.get(name)
            if buffer is None or len(buffer) < stop:
                grown = np.empty((max(stop, 2 * (0 if buffer is None else len(buffer)), 64),
                                  *rows.shape[1:]), dtype=np.float32)
                if buffer is not None:
                    grown[:start] = buffer[:start]
                buffer = self._rows[name] = grown
            buffer[start:stop] = rows

    def _trace(self, ids: np.ndarray, start: int, state,
               size: int = CHUNK) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """Trace steps [start, T) of `ids` from `state`, chunk by chunk."""
        from inspector.engine.bulk import trace_pieces
        from inspector.engine.model import NativeModel, model_lock

        model = self.model
        native = isinstance(model, NativeModel)
        step = size if native else LOCKED_CHUNK
        tokens = model.vocab.tokens
        for first in range(start, len(ids), step):
            pieces = [(tokens[i], int(i)) for i in ids[first:first + step]]
            if native:
                part = trace_pieces(model, pieces, state)
            else:
                with model_lock(model):
                    part = trace_pieces(model, pieces, state)
            state = part.final_state
            yield first, part.arrays

    def _replay(self, events: tuple) -> dict[str, np.ndarray]:
        """A timeline with interventions, replayed exactly as the session on screen ran it."""
        from inspector.engine.session import Session

        if self._replayed is not None and self._replayed[0] == events:
            return self._replayed[1]
        session = Session.replay(self.model, events)
        steps = session.cursor
        names = None
        columns: dict[str, list[np.ndarray]] = {}
        for start in range(0, steps, CHUNK):
            records = session.records(start, min(steps, start + CHUNK))
            if names is None:
                names = _record_names(self.model, records[0])
            for name in names:
                columns.setdefault(name, []).append(
                    np.array([r.activation(name) for r in records], dtype=np.float32))
        arrays = _frozen({name: np.concatenate(parts) for name, parts in columns.items()})
        self._replayed = (events, arrays, session)
        return arrays


def _record_names(model, record) -> list[str]:
    names = []
    for k in range(model.n_layers):
        names += [f"l{k}.h", f"l{k}.dh"]
        if model.has_cell:
            names.append(f"l{k}.c")
        names += [f"l{k}.gate.{g}" for g in model.gate_names]
    if record.output.logits.size:
        names.append("logits")
    if record.output.probs.size:
        names.append("probs")
    return names


def _frozen(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


def _concatenate(parts: Iterator[tuple[int, dict[str, np.ndarray]]]) -> dict[str, np.ndarray]:
    columns: dict[str, list[np.ndarray]] = {}
    for _, part in parts:
        for name, rows in part.items():
            columns.setdefault(name, []).append(rows)
    return _frozen({name: np.concatenate(rows) for name, rows in columns.items()})


class TimelineActivations:
    """`Activations` of one timeline (see `base.Activations`), computed on first use."""

    def __init__(self, source: TimelineSource, events: tuple) -> None:
        self.source = source
        self.events = events
        self._arrays: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()

    @property
    def steps(self) -> int:
        from inspector.engine.session import Feed

        return sum(1 for e in self.events if isinstance(e, Feed))

    def _all(self) -> dict[str, np.ndarray]:
        with self._lock:
            if self._arrays is None:
                self._arrays = self.source.arrays(self.events)
            return self._arrays

    def names(self) -> tuple[str, ...]:
        return tuple(self._all())

    def get(self, name: str) -> np.ndarray:
        """Raises KeyError for an unknown name, and for every name while T = 0."""
        return self._all()[name]

    def state_before(self, t: int) -> tuple[tuple[np.ndarray, np.ndarray | None], ...]:
        return self.source.state_before(self.events, t)

    def chunks(self, names: Sequence[str] | None = None,
               size: int = CHUNK) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        if self._arrays is not None:
            wanted = tuple(self._arrays) if names is None else tuple(names)
            for start in range(0, self.steps, size):
                yield start, {n: self._arrays[n][start:start + size] for n in wanted}
            return
        yield from self.source.chunks(self.events, names, size)
