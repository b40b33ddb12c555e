"""Session: the timeline a user builds by typing, stepping back and forth, and editing states.

The timeline is a list of events (`Feed` a character, `Intervene` on the state); the cursor says
how many are applied. `back` / `forward` move the cursor (undo / redo), so an intervention is
undone exactly like a keystroke and replaying the events reproduces every number bit for bit.

Memory stays bounded on long sessions: only the events, a keyframe state every K steps and a
bounded cache of recent records are kept; any other step is recomputed from its keyframe.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from inspector.engine.cells import LayerStep, frozen
from inspector.engine.model import InspectableModel, model_lock, state_after, torch_threads
from inspector.engine.records import (
    NO_PREDICTION,
    Intervention,
    State,
    StepRecord,
    nonfinite_names,
)
from inspector.names import parse_state

ONE_TIME = ("set", "zero", "scale", "replace")
KINDS = (*ONE_TIME, "clamp", "release")
RECORD_CACHE = 2048
PROGRESS_STEPS = 16  # a stepped paste reports its progress (and can stop) this often
# Steps between a fused paste's keyframes: a record not cached costs at most this many steps,
# and the fused forward loses little to the calls between them (measured on a 2x512 LSTM: +35% of
# CPU at 64, +2% at 256, next to one call over the whole text).
PASTE_KEYFRAMES = 128


@dataclass(frozen=True, slots=True)
class Feed:
    typed: str
    token_id: int
    by_model: bool = False  # the model's own prediction fed back (`Session.generate`)


@dataclass(frozen=True, slots=True)
class Intervene:
    intervention: Intervention


Event = Feed | Intervene


@dataclass(frozen=True)
class Clamp:
    target: str
    unit: int | None
    value: float


@dataclass(frozen=True)
class Snapshot:
    """Everything needed to continue the timeline from an event index."""

    state: State
    clamps: tuple[Clamp, ...]
    pending: tuple[Intervention, ...]  # applied since the last step; shown on the next record
    steps: int  # steps applied so far (the next step's t)


@dataclass(frozen=True)
class BranchInfo:
    name: str
    length: int  # steps on the branch up to its cursor
    fork_t: int | None  # the step it was forked at (None for the first branch)


@dataclass
class Branch:
    events: list[Event]
    cursor: int
    keyframes: dict[int, Snapshot]
    step_events: list[int]  # event index of every Feed, in order
    fork_t: int | None


def _edit(vector: np.ndarray, unit: int | None, op) -> np.ndarray:
    out = np.array(vector, dtype=np.float32, copy=True)
    if unit is None:
        out[:] = op(out)
    else:
        out[unit] = op(out[unit])
    return frozen(out)


def apply_intervention(state: State, iv: Intervention) -> State:
    """The state after a one-time edit or the immediate effect of a clamp."""
    layer, what = parse_state(iv.target, len(state))
    if what == "c" and state[layer].c is None:
        raise ValueError(f"{iv.target}: this model has no cell state")
    vector = getattr(state[layer], what)
    if iv.unit is not None and not 0 <= iv.unit < vector.shape[0]:
        raise ValueError(f"{iv.target}: unit {iv.unit} is out of range 0..{vector.shape[0] - 1}")
    if iv.kind == "release":
        return state
    if iv.kind == "zero":
        new = _edit(vector, iv.unit, lambda v: 0.0)
    elif iv.kind == "scale":
        new = _edit(vector, iv.unit, lambda v: v * np.float32(iv.value))
    elif iv.kind == "replace" and isinstance(iv.value, tuple):
        if len(iv.value) != vector.shape[0]:
            raise ValueError(f"{iv.target}: replacement has {len(iv.value)} values, "
                             f"the state has {vector.shape[0]}")
        new = frozen(np.array(iv.value, dtype=np.float32))
    elif iv.kind in ("set", "replace", "clamp"):
        if iv.value is None:
            raise ValueError(f"{iv.kind} needs a value")
        new = _edit(vector, iv.unit, lambda v: np.float32(iv.value))
    else:
        raise ValueError(f"unknown intervention {iv.kind!r}; use one of {', '.join(KINDS)}")
    edited = list(state)
    edited[layer] = replace(state[layer], **{what: new})
    return tuple(edited)


def _hold(clamps: tuple[Clamp, ...], before: State, k: int, step: LayerStep) -> LayerStep:
    """Layer k's step with the clamps on its h / c put in (Δh from the state it started at)."""
    edited = {}
    for clamp in clamps:
        layer, what = parse_state(clamp.target, len(before))
        if layer == k:
            vector = edited.get(what, getattr(step, what))
            edited[what] = _edit(vector, clamp.unit, lambda v, value=clamp.value: np.float32(value))
    if not edited:
        return step
    h = edited.get("h", step.h)
    return replace(step, **edited, delta_h=frozen(h - before[k].h))


class Session:
    """Feed characters, move through the timeline, fork branches and intervene."""

    def __init__(self, model: InspectableModel, keyframe_every: int = 256) -> None:
        if getattr(model, "whole_input", False):
            from inspector.engine.bidirectional import WHOLE_INPUT

            raise ValueError(f"{model.name}: {WHOLE_INPUT}")
        self.model = model
        self.keyframe_every = keyframe_every
        self._branches: dict[str, Branch] = {}
        self._branch_name = "main"
        self._new_branch("main", [], None)
        self._records: OrderedDict[int, StepRecord] = OrderedDict()
        self._now = self._start()

    # -- public API ---------------------------------------------------------------------------
    @property
    def cursor(self) -> int:
        """Steps applied; the next step has t == cursor."""
        return self._now.steps

    @property
    def state(self) -> State:
        return self._now.state

    @property
    def last(self) -> StepRecord | None:
        return self.records(self.cursor - 1, self.cursor)[0] if self.cursor else None

    @property
    def text(self) -> str:
        """The text typed up to the cursor (words with a space between them)."""
        b = self._branch
        return self.model.vocab.join(e.typed for e in b.events[:b.cursor] if isinstance(e, Feed))

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(self._branch.events[: self._branch.cursor])

    @property
    def can_forward(self) -> bool:
        return self._branch.cursor < len(self._branch.events)

    def encode(self, text: str) -> list[int]:
        """Token ids for typed text; raises UnknownCharacterError (nothing fed) per the vocab."""
        return self.model.vocab.encode(text)

    def feed(self, text: str) -> list[StepRecord]:
        """Feed text one token each (a character, or a word for a word vocabulary); returns
        their records."""
        return [self._append(Feed(typed, token_id))
                for typed, token_id in self.model.vocab.tokenize(text)]

    def generate(self, n: int, temperature: float = 0.0,
                 rng: np.random.Generator | None = None) -> list[StepRecord]:
        """Let the model write: feed it its own prediction, `n` steps. Greedy (the most probable
        token) at temperature 0, else a token drawn from softmax(logits / temperature) with `rng`.

        Each step is an ordinary step of the timeline, marked `by_model` on its record, so `back`
        undoes it like a keystroke. It stops early (fewer records) where the model predicts
        something nobody could type (`<unk>`, `</s>`, a non-finite output); a timeline without
        a step yet has no prediction to start from."""
        if self.cursor == 0:
            raise ValueError("the model writes from its last prediction: type a character first")
        if temperature < 0 or not np.isfinite(temperature):
            raise ValueError(f"temperature must be 0 (greedy) or positive, not {temperature}")
        rng = rng if rng is not None else np.random.default_rng()
        tokens = self.model.vocab.tokens
        records: list[StepRecord] = []
        last = self.last
        for _ in range(n):
            logits = np.asarray(last.logits, dtype=np.float64)
            if not logits.size or not np.all(np.isfinite(logits)):
                break
            if temperature == 0:
                token_id = int(np.argmax(logits))
            else:
                scaled = logits / temperature
                probs = np.exp(scaled - scaled.max())
                token_id = int(rng.choice(len(probs), p=probs / probs.sum()))
            token = tokens[token_id]
            if len(token) != 1:  # a special: only reachable by index, never typed
                break
            last = self._append(Feed(token, token_id, by_model=True))
            records.append(last)
        return records

    def prepare(self) -> None:
        """Let the model start on the next step's input-independent work while the user thinks
        (`InspectableModel.prepare`); the next `feed` uses it if the state is still this one."""
        self.model.prepare(self._now.state)

    def paste(self, text: str, progress: Callable[[int], None] | None = None,
              cancelled: Callable[[], bool] | None = None,
              threads: int | None = None) -> list[str]:
        """Feed a long text fast: it runs through the fused torch forward and its head (one
        `nn.LSTM`/`GRU`/`RNN` call per layer per interval of `PASTE_KEYFRAMES` steps), and no
        records are built; a record is computed when first asked for, by stepping from the
        keyframe the paste left at the start of its interval (within float32 rounding of
        stepping the whole text), so showing the last screen costs a few dozen steps.

        `progress` hears how many tokens are in after each interval; `cancelled` is asked
        before each one, and a cancelled paste keeps what was fed. `threads`: torch threads for
        the fused forward, on the calling thread only (a worker may use every core while the
        key path keeps one); None leaves the caller's. Returns the prediction of every step fed
        (`NO_PREDICTION` where the output is not finite). A model without a fused forward (a
        user's own) or a clamp in force steps every token; a step its forward refuses ends the
        paste there (StepRefused), keeping what was fed before it."""
        pieces = self.model.vocab.tokenize(text)
        fused = getattr(self.model, "fused_run", None)
        k = min(self.keyframe_every, PASTE_KEYFRAMES)
        if fused is None or self._now.clamps or len(pieces) < 2 * k:
            return self._stepped_paste(pieces, progress, cancelled)
        b = self._branch
        tokens = self.model.labels  # the head's outputs: the vocabulary, or a tagger's labels
        predictions: list[str] = []
        with torch_threads(threads):
            for position in range(0, len(pieces), k):
                if cancelled is not None and cancelled():
                    break
                if position == 0:
                    if b.cursor < len(b.events):
                        self._drop_redo()
                    b.keyframes.setdefault(b.cursor, self._now)  # the first interval's start
                chunk = pieces[position:position + k]
                with model_lock(self.model):
                    state, top = fused([token_id for _, token_id in chunk], self._now.state)
                for typed, token_id in chunk:
                    b.events.append(Feed(typed, token_id))
                    b.step_events.append(len(b.events) - 1)
                b.cursor = len(b.events)
                self._now = Snapshot(state, (), (), self._now.steps + len(chunk))
                b.keyframes[b.cursor] = self._now
                predictions.extend(tokens[i] if i >= 0 else NO_PREDICTION for i in top.tolist())
                if progress is not None:
                    progress(position + len(chunk))
        return predictions

    def _stepped_paste(self, pieces: list[tuple[str, int]],
                       progress: Callable[[int], None] | None,
                       cancelled: Callable[[], bool] | None) -> list[str]:
        predictions: list[str] = []
        for position in range(0, len(pieces), PROGRESS_STEPS):
            if cancelled is not None and cancelled():
                break
            predictions.extend(self._append(Feed(*piece)).prediction
                               for piece in pieces[position:position + PROGRESS_STEPS])
            if progress is not None:
                progress(len(predictions))
        return predictions

    def intervene(self, intervention: Intervention, at: int | None = None) -> None:
        """Edit the state step `at` starts from (default: the next step's, the cursor's).

        `set` / `zero` / `scale` / `replace` edit that state once; `clamp` holds the unit in the
        state every later step produces, before the output head reads it, so the prediction
        shown is the clamped state's; `release` ends a clamp. The edit is an event of the
        timeline: `back` undoes it, and an edit of an earlier step recomputes the steps after
        it (the keys typed are kept)."""
        if intervention.kind == "clamp" and not getattr(self.model, "can_hold", False):
            raise ValueError(f"{self.model.name} runs its own forward, so a clamp cannot reach "
                             "its output head; use set to edit the state once")
        if at is None or at >= self.cursor:
            apply_intervention(self._now.state, intervention)  # validate before recording
            self._append(Intervene(intervention))
            return
        b = self._branch
        index = b.step_events[max(at, 0)]
        tail = b.events[index:b.cursor]
        with self._all_or_nothing():
            self._seek(index)
            apply_intervention(self._now.state, intervention)
            self._append(Intervene(intervention))
            for event in tail:
                self._append(event)

    def forget_redo(self) -> None:
        """Drop the undone events after the cursor: what is undone can no longer come back."""
        if self.can_forward:
            self._drop_redo()

    def back(self, n: int = 1) -> None:
        """Undo the last n events (keystrokes or interventions)."""
        self._seek(max(self._branch.cursor - n, 0))

    def forward(self, n: int = 1) -> None:
        """Redo up to n undone events."""
        self._seek(min(self._branch.cursor + n, len(self._branch.events)))

    def reset(self) -> None:
        """An empty timeline on this branch: h = 0 again."""
        self._branch.events.clear()
        self._branch.step_events.clear()
        self._branch.keyframes = {0: self._start()}
        self._records.clear()
        self._seek(0)

    def goto(self, t: int) -> None:
        """Move the cursor so that steps 0..t-1 are applied (redo or undo as needed)."""
        b = self._branch
        if t <= 0:
            self._seek(0)
        elif t >= len(b.step_events):
            self._seek(len(b.events))
        else:
            self._seek(b.step_events[t])

    def records(self, start: int, stop: int) -> list[StepRecord]:
        """Records of steps [start, stop) of the applied timeline (recomputed if not cached)."""
        start, stop = max(start, 0), min(stop, self.cursor)
        if start >= stop:
            return []
        missing = [t for t in range(start, stop) if t not in self._records]
        if missing:
            self._recompute(missing[0], missing[-1] + 1)
        out = []
        for t in range(start, stop):
            record = self._records[t]
            self._records.move_to_end(t)
            out.append(record)
        self._trim()
        return out

    def cached(self, start: int, stop: int) -> bool:
        """Whether records [start, stop) are at hand (`records` would step no model for them)."""
        start, stop = max(start, 0), min(stop, self.cursor)
        return all(t in self._records for t in range(start, stop))

    def state_before(self, t: int) -> State:
        """The state step t started from: the state after step t-1 (clamps included) with the
        edits made before step t applied, i.e. exactly what the step's formulas read."""
        record = self.records(t, t + 1)[0]
        state = (state_after(self.records(t - 1, t)[0].layers) if t > 0
                 else self.model.initial_state())
        for intervention in record.interventions:
            state = apply_intervention(state, intervention)
        return state

    def history(self, name: str, unit: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Activation `name` (e.g. `l0.h`) at `unit` for steps [start, stop)."""
        stop = self.cursor if stop is None else stop
        return np.array([r.activation(name)[unit] for r in self.records(start, stop)],
                        dtype=np.float32)

    @property
    def pending(self) -> tuple[Intervention, ...]:
        """Interventions made since the last step (they shape the next one)."""
        return self._now.pending

    @property
    def clamps(self) -> tuple[Clamp, ...]:
        return self._now.clamps

    # -- branches -------------------------------------------------------------------------------
    @property
    def branch(self) -> str:
        return self._branch_name

    def new_branch_name(self) -> str:
        """The first free `bN` (a count of branches would collide after one is deleted)."""
        n = len(self._branches)
        while f"b{n}" in self._branches:
            n += 1
        return f"b{n}"

    def fork(self, name: str, at: int | None = None) -> None:
        """A new branch holding this branch's timeline up to step `at` (default: the cursor),
        edits made before step `at` included; switches to it. This branch is left exactly as
        it is: its cursor, and nothing undone comes back."""
        if name in self._branches:
            raise ValueError(f"a branch named {name!r} exists already")
        b = self._branch
        end = b.cursor if at is None or at >= self.cursor else b.step_events[max(at, 0)]
        keyframes = {i: k for i, k in b.keyframes.items() if i <= end}
        with self._all_or_nothing():
            self._new_branch(name, list(b.events[:end]),
                             sum(1 for i in b.step_events if i < end), keyframes)
            self._switch_to(name)

    def switch(self, name: str) -> None:
        if name not in self._branches:
            raise ValueError(f"no branch named {name!r}; branches: {', '.join(self._branches)}")
        with self._all_or_nothing():
            self._switch_to(name)

    def branches(self) -> list[BranchInfo]:
        out = []
        for name, b in self._branches.items():
            steps = sum(1 for i in b.step_events if i < b.cursor)
            out.append(BranchInfo(name, steps, b.fork_t))
        return out

    def branch_names(self) -> tuple[str, ...]:
        return tuple(self._branches)

    def branch_events(self, name: str) -> tuple[Event, ...]:
        """The events of branch `name` up to its cursor (what it shows when switched to)."""
        if name not in self._branches:
            raise KeyError(f"no branch named {name!r}")
        b = self._branches[name]
        return tuple(b.events[: b.cursor])

    def rename_branch(self, old: str, new: str) -> None:
        """Give a branch another name; its timeline and cursor are untouched."""
        if old not in self._branches:
            raise ValueError(f"no branch named {old!r}; branches: {', '.join(self._branches)}")
        new = new.strip()
        if not new:
            raise ValueError("a branch needs a name")
        if new != old and new in self._branches:
            raise ValueError(f"a branch named {new!r} exists already")
        self._branches = {new if name == old else name: branch
                          for name, branch in self._branches.items()}
        if self._branch_name == old:
            self._branch_name = new

    def delete_branch(self, name: str) -> None:
        """Drop a branch other than the one on view (switch away from it first)."""
        if name not in self._branches:
            raise ValueError(f"no branch named {name!r}; branches: {', '.join(self._branches)}")
        if name == self._branch_name:
            raise ValueError(f"{name!r} is the branch on view: switch to another to delete it")
        del self._branches[name]

    def divergence(self, other: str) -> int | None:
        """The first step t at which this branch and `other` differ (None if one extends the other
        identically up to the shorter's end)."""
        mine = self.events
        theirs = self._branches[other]
        theirs_events = theirs.events[: theirs.cursor]
        for index, (a, b) in enumerate(zip(mine, theirs_events)):
            if a != b:
                return sum(1 for e in mine[:index] if isinstance(e, Feed))
        if len(mine) == len(theirs_events):
            return None
        shorter = mine if len(mine) < len(theirs_events) else theirs_events
        return sum(1 for e in shorter if isinstance(e, Feed))

    def clone(self) -> Session:
        """An independent copy (cheap: records and states are frozen, so they are shared): a
        worker can feed it while the original stays as it was, to be kept if the work fails."""
        twin = copy.copy(self)
        twin._branches = {name: Branch(list(b.events), b.cursor, dict(b.keyframes),
                                       list(b.step_events), b.fork_t)
                          for name, b in self._branches.items()}
        twin._branch_name = self._branch_name
        twin._records = OrderedDict(self._records)
        twin._now = self._now
        return twin

    @classmethod
    def replay(cls, model: InspectableModel, events: Iterable[Event],
               keyframe_every: int = 256, branch: str = "main") -> Session:
        """A new session fed `events`, on one branch named `branch` (an export of a branch
        replays just that branch's events under its name)."""
        session = cls(model, keyframe_every)
        if branch != "main":
            session._branches = {branch: session._branches.pop("main")}
            session._branch_name = branch
        for event in events:
            session._append(event)
        return session

    # -- internals ------------------------------------------------------------------------------
    @property
    def _branch(self) -> Branch:
        return self._branches[self._branch_name]

    @contextlib.contextmanager
    def _all_or_nothing(self):
        """A verb that steps many times (a switch recomputing its branch, an edit of an earlier
        step replaying the steps after it) either completes or leaves the session exactly as
        it was: a step the model refuses midway (a user's forward that raised) undoes it."""
        saved = Session.clone(self)
        try:
            yield
        except BaseException:
            self._branches, self._branch_name = saved._branches, saved._branch_name
            self._records, self._now = saved._records, saved._now
            raise

    def _start(self) -> Snapshot:
        return Snapshot(self.model.initial_state(), (), (), 0)

    def _new_branch(self, name: str, events: list[Event], fork_t: int | None,
                    keyframes: dict[int, Snapshot] | None = None) -> None:
        step_events = [i for i, e in enumerate(events) if isinstance(e, Feed)]
        self._branches[name] = Branch(events, len(events), keyframes or {0: self._start()},
                                      step_events, fork_t)

    def _switch_to(self, name: str) -> None:
        self._branch_name = name
        self._records.clear()
        self._seek(self._branch.cursor, force=True)

    def _advance(self, now: Snapshot, event: Event) -> tuple[Snapshot, StepRecord | None]:
        """Apply one event to a cursor: the single place the timeline's semantics live."""
        if isinstance(event, Intervene):
            iv = event.intervention
            state = apply_intervention(now.state, iv)
            clamps = now.clamps
            if iv.kind in ("clamp", "release"):
                clamps = tuple(c for c in clamps if (c.target, c.unit) != (iv.target, iv.unit))
                if iv.kind == "clamp":
                    clamps = (*clamps, Clamp(iv.target, iv.unit, float(iv.value)))
            return Snapshot(state, clamps, (*now.pending, iv), now.steps), None
        with model_lock(self.model):
            if now.clamps:  # held in each layer's new state before the next layer or the head
                layers, output = self.model.step(event.token_id, now.state,
                                                 hold=partial(_hold, now.clamps, now.state))
            else:
                layers, output = self.model.step(event.token_id, now.state)
        state = state_after(layers)
        token = self.model.vocab.tokens[event.token_id]
        held = tuple(Intervention("clamp", c.target, c.unit, c.value) for c in now.clamps)
        record = StepRecord(now.steps, event.typed, token, event.token_id, layers, output,
                            now.pending, nonfinite_names(layers, output), held, event.by_model)
        return Snapshot(state, now.clamps, (), now.steps + 1), record

    def _drop_redo(self) -> None:
        b = self._branch
        del b.events[b.cursor:]
        b.step_events = [i for i in b.step_events if i < b.cursor]
        b.keyframes = {i: k for i, k in b.keyframes.items() if i <= b.cursor}
        for t in [t for t in self._records if t >= self._now.steps]:
            del self._records[t]

    def _append(self, event: Event) -> StepRecord | None:
        b = self._branch
        # The step first: a step the model refuses (a user's forward that raised or hung)
        # leaves the timeline exactly as it was, redo tail included.
        now, record = self._advance(self._now, event)
        if b.cursor < len(b.events):  # typing after stepping back drops the redo tail
            self._drop_redo()
        b.events.append(event)
        if isinstance(event, Feed):
            b.step_events.append(len(b.events) - 1)
        self._now = now
        b.cursor = len(b.events)
        if record is not None:
            self._cache(record)
            if self._now.steps % self.keyframe_every == 0:
                b.keyframes[b.cursor] = self._now
        return record

    def _keyframe_before(self, index: int) -> tuple[int, Snapshot]:
        best = max(i for i in self._branch.keyframes if i <= index)
        return best, self._branch.keyframes[best]

    def _seek(self, index: int, force: bool = False) -> None:
        """Put the cursor after event `index` - 1, recomputing from the nearest keyframe."""
        b = self._branch
        if index == b.cursor and not force:
            return
        cached = None if force else self._from_cache(index)
        if cached is not None:
            b.cursor, self._now = index, cached
            return
        start, now = self._keyframe_before(index)
        if not force and b.cursor <= index and b.cursor >= start:
            start, now = b.cursor, self._now  # moving forward from here is cheaper
        for i in range(start, index):
            now = b.keyframes.get(i, now)  # see _recompute
            now, record = self._advance(now, b.events[i])
            if record is not None:
                self._cache(record)
                if now.steps % self.keyframe_every == 0:
                    b.keyframes.setdefault(i + 1, now)
        b.cursor = index
        self._now = b.keyframes.get(index, now)

    def _from_cache(self, index: int) -> Snapshot | None:
        """The snapshot after events[:index] without a step, when the record of the step before
        it is cached (or a keyframe is there): the state that record's step produced, then the
        edits made since. So Backspace and redo cost no step of the model (none of a user's
        forward either); None when the record is not cached. The same numbers as recomputing:
        a cached record is the one recomputing gives, and a keyframe on the way wins."""
        b = self._branch
        start = index
        while start not in b.keyframes and not isinstance(b.events[start - 1], Feed):
            start -= 1  # an edit: applied again below
        if start in b.keyframes:
            now = b.keyframes[start]
        else:
            t = bisect.bisect_left(b.step_events, start - 1)
            record = self._records.get(t)
            if record is None:
                return None
            clamps = tuple(Clamp(c.target, c.unit, float(c.value)) for c in record.clamps)
            now = Snapshot(state_after(record.layers), clamps, (), t + 1)
        for i in range(start, index):
            now, _ = self._advance(now, b.events[i])
        return now

    def _recompute(self, start_t: int, stop_t: int) -> None:
        b = self._branch
        first_event = b.step_events[start_t]
        index, now = self._keyframe_before(first_event)
        last_event = b.step_events[stop_t - 1]
        for i in range(index, last_event + 1):
            # A keyframe on the way is the state there: a paste's fused keyframes differ from
            # stepping in the last bits, so every path through a keyframe starts again from it
            # and a record never depends on which steps were asked for first.
            now = b.keyframes.get(i, now)
            now, record = self._advance(now, b.events[i])
            if record is not None:  # the steps before start_t too: stepping back reads them next
                self._records[record.t] = record

    def _cache(self, record: StepRecord) -> None:
        self._records[record.t] = record
        self._records.move_to_end(record.t)
        self._trim()

    def _trim(self) -> None:
        while len(self._records) > RECORD_CACHE:
            self._records.popitem(last=False)
