"""Sessions that remember the verbs applied to them, so a saved session replays bit for bit.

A `Session`'s numbers depend on more than its events: a paste runs whole keyframe intervals
through the fused forward (its keyframes differ in the last bits from stepping), and where each
paste started decides which intervals were fused. Replaying the events alone would recompute the
pasted steps by stepping and get other bits. So the journal keeps the calls themselves, in order,
each as the user made it (`type` for keys fed one call at a time, `paste` for a fused paste, `back`,
`fork`, …), and `replay` makes them again on a fresh session: same calls, same code, same bits.

Journal entries are plain JSON-ready dicts (the session file stores the list as it is):
`{"op": "type", "keys": ["a", "a"]}` (one `feed` call per key, consecutive calls in one entry),
`{"op": "paste", "text": "…"}`, `{"op": "back", "n": 1}`, `{"op": "forward", "n": 1}`,
`{"op": "goto", "t": 3}`, `{"op": "reset"}`, `{"op": "fork", "name": "b1"}`,
`{"op": "switch", "name": "main"}`, `{"op": "rename_branch", "old": "b1", "new": "x"}`,
`{"op": "delete_branch", "name": "x"}`, `{"op": "intervene", "kind": "set", "target": "l0.h",
"unit": 7, "value": 5.0}`, `{"op": "generate", "n": 5, "temperature": 0.8, "draws": [3, 1]}`
(the tokens sampled, so a sampled run replays the same). Seq2seq adds `source` (keys fed
to the encoder), `edit` (a handoff edit), `clear_edits`, `decode`, `decode_step` and
`restart_decode`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from inspector.engine.records import Intervention, StepRecord
from inspector.engine.seq2seq import DEFAULT_MAX_LEN, Decode, Handoff, HandoffEdit, Seq2SeqSession
from inspector.engine.session import Session

Entry = dict[str, Any]

__all__ = ["Entry", "JournalError", "JournaledSeq2Seq", "JournaledSession", "replay"]


class JournalError(ValueError):
    """A journal entry this version cannot replay (unknown op, missing or mistyped field)."""


def number_json(value: float) -> float | str:
    """A float as JSON takes it exactly: finite ones as numbers (Python's repr round-trips a
    double), `nan` / `inf` / `-inf` as strings (strict JSON has no literal for them)."""
    value = float(value)
    return value if math.isfinite(value) else repr(value)


def number_from(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise JournalError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, str) and value not in ("nan", "inf", "-inf"):
        raise JournalError(f"{what}: expected a number, got {value!r}")
    return float(value)


def intervention_json(iv: Intervention) -> Entry:
    value: Any = iv.value
    if isinstance(value, tuple):
        value = [number_json(v) for v in value]
    elif value is not None:
        value = number_json(value)
    return {"kind": iv.kind, "target": iv.target, "unit": iv.unit, "value": value}


def intervention_from(entry: Entry) -> Intervention:
    value = entry.get("value")
    if isinstance(value, list):
        value = tuple(number_from(v, "intervention value") for v in value)
    elif value is not None:
        value = number_from(value, "intervention value")
    return Intervention(_field(entry, "kind", str), _field(entry, "target", str),
                        _optional_int(entry, "unit"), value)


def edit_json(edit: HandoffEdit) -> Entry:
    return {"kind": edit.kind, "target": edit.target, "unit": edit.unit,
            "value": None if edit.value is None else number_json(edit.value),
            "source": edit.source}


def edit_from(entry: Entry) -> HandoffEdit:
    value = entry.get("value")
    target, source = entry.get("target"), entry.get("source")
    if target is not None and not isinstance(target, str):
        raise JournalError(f"edit target: expected a string, got {target!r}")
    if source is not None and not isinstance(source, str):
        raise JournalError(f"edit source: expected a string, got {source!r}")
    return HandoffEdit(_field(entry, "kind", str), target, _optional_int(entry, "unit"),
                       None if value is None else number_from(value, "edit value"), source)


def _field(entry: Entry, name: str, kind: type) -> Any:
    value = entry.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise JournalError(f"journal entry {entry.get('op')!r}: {name} should be "
                           f"{kind.__name__}, got {value!r}")
    return value


def _optional_int(entry: Entry, name: str) -> int | None:
    value = entry.get(name)
    return None if value is None else _field(entry, name, int)


class _Journal:
    """The list of entries and the rule that nested calls (a paste stepping through `feed`)
    are not journaled twice: only the outermost verb is the user's."""

    def __init__(self) -> None:
        self.journal: list[Entry] = []
        self._depth = 0

    def _call(self, entry: Entry, verb, *args, applied=None):
        """Make the call and journal it. If it fails halfway (a forward of the user's own that
        raises), `applied()` says what it did before failing, and that is journaled instead."""
        self._depth += 1
        try:
            result = verb(*args)
        except BaseException:
            self._depth -= 1
            done = applied() if applied is not None and self._depth == 0 else None
            if done is not None:
                self._log(done)
            raise
        self._depth -= 1
        if self._depth == 0:
            self._log(entry)
        return result

    def _log(self, entry: Entry) -> None:
        last = self.journal[-1] if self.journal else None
        if "keys" in entry and last is not None and last["op"] == entry["op"]:
            last["keys"].extend(entry["keys"])  # consecutive keys: one entry, one call each
        else:
            self.journal.append(entry)


class JournaledSession(_Journal, Session):
    """A `Session` that journals every verb that changes its timeline."""

    def __init__(self, model, keyframe_every: int = 256) -> None:
        _Journal.__init__(self)
        Session.__init__(self, model, keyframe_every)

    def feed(self, text: str) -> list[StepRecord]:
        start = self.cursor

        def applied() -> Entry | None:  # the characters fed before the step that failed
            fed = self.cursor - start
            return {"op": "type", "keys": [text[:fed]]} if fed else None

        return self._call({"op": "type", "keys": [text]}, super().feed, text, applied=applied)

    def paste(self, text: str, progress=None, cancelled=None) -> list[str]:
        """A paste is journaled as the text it fed: all of it, or what was in when it was
        cancelled or a step was refused (the pieces typed, so a word model's too)."""
        start = self.cursor
        self._depth += 1
        try:
            return super().paste(text, progress, cancelled)
        finally:
            self._depth -= 1
            if self._depth == 0 and self.cursor > start:
                b = self._branch
                fed = (b.events[i].typed for i in b.step_events[start:self.cursor])
                self._log({"op": "paste", "text": self.model.vocab.join(fed)})

    def generate(self, n: int, temperature: float = 0.0, rng=None) -> list[StepRecord]:
        """Journaled with every token drawn (sampling at temperature > 0): a replay draws
        exactly those again."""
        drawn = _Recording(rng if rng is not None else np.random.default_rng())
        entry: Entry = {"op": "generate", "n": n, "temperature": number_json(temperature),
                        "draws": drawn.draws}
        return self._call(entry, super().generate, n, temperature, drawn)

    def rename_branch(self, old: str, new: str) -> None:
        self._call({"op": "rename_branch", "old": old, "new": new}, super().rename_branch, old,
                   new)

    def delete_branch(self, name: str) -> None:
        self._call({"op": "delete_branch", "name": name}, super().delete_branch, name)

    def intervene(self, intervention: Intervention, at: int | None = None) -> None:
        entry = {"op": "intervene", **intervention_json(intervention)}
        if at is not None:
            entry["at"] = at
        self._call(entry, super().intervene, intervention, at)

    def forget_redo(self) -> None:
        self._call({"op": "forget_redo"}, super().forget_redo)

    def clone(self) -> JournaledSession:
        twin = super().clone()
        twin.journal = [dict(entry) for entry in self.journal]
        twin._depth = 0
        return twin

    def back(self, n: int = 1) -> None:
        self._call({"op": "back", "n": n}, super().back, n)

    def forward(self, n: int = 1) -> None:
        self._call({"op": "forward", "n": n}, super().forward, n)

    def reset(self) -> None:
        self._call({"op": "reset"}, super().reset)

    def goto(self, t: int) -> None:
        self._call({"op": "goto", "t": t}, super().goto, t)

    def fork(self, name: str, at: int | None = None) -> None:
        entry = {"op": "fork", "name": name}
        if at is not None:
            entry["at"] = at
        self._call(entry, super().fork, name, at)

    def switch(self, name: str) -> None:
        self._call({"op": "switch", "name": name}, super().switch, name)


class JournaledSeq2Seq(_Journal, Seq2SeqSession):
    """A `Seq2SeqSession` that journals its verbs and keeps the decode on view (`decoded`): the
    records of the last full decode, or the steps taken one at a time since."""

    def __init__(self, model) -> None:
        _Journal.__init__(self)
        Seq2SeqSession.__init__(self, model)
        self.decoded: tuple[StepRecord, ...] | None = None  # None: not handed over
        self.stepping = False  # the decode on view was taken a step at a time

    def feed_source(self, text: str) -> list[StepRecord]:
        records = self._call({"op": "source", "keys": [text]}, super().feed_source, text)
        self.decoded, self.stepping = None, False  # a new source: the decode no longer applies
        return records

    def back(self, n: int = 1) -> None:
        self._call({"op": "back", "n": n}, super().back, n)
        self.decoded, self.stepping = None, False

    def reset(self) -> None:
        self._call({"op": "reset"}, super().reset)
        self.decoded, self.stepping = None, False

    def edit_handoff(self, edit: HandoffEdit) -> Handoff:
        return self._call({"op": "edit", **edit_json(edit)}, super().edit_handoff, edit)

    def clear_edits(self) -> None:
        self._call({"op": "clear_edits"}, super().clear_edits)

    def decode(self, max_len: int = DEFAULT_MAX_LEN, teacher: str | None = None) -> Decode:
        result = self._call({"op": "decode", "max_len": max_len, "teacher": teacher},
                            super().decode, max_len, teacher)
        self.decoded, self.stepping = result.records, False
        return result

    def decode_step(self, max_len: int = DEFAULT_MAX_LEN) -> StepRecord | None:
        record = self._call({"op": "decode_step", "max_len": max_len}, super().decode_step,
                            max_len)
        self.decoded, self.stepping = self.stepped, True
        return record

    def restart_decode(self) -> None:
        self._call({"op": "restart_decode"}, super().restart_decode)


class _Recording:
    """A random generator's `choice`, remembering what it drew."""

    def __init__(self, rng) -> None:
        self._rng = rng
        self.draws: list[int] = []

    def choice(self, n: int, p=None) -> int:
        token = int(self._rng.choice(n, p=p))
        self.draws.append(token)
        return token


class _Drawn:
    """A random generator that draws what a journal recorded, in order: a sampled `generate`
    replays the same text through the same code."""

    def __init__(self, draws: list[int]) -> None:
        self._draws = iter(draws)

    def choice(self, n: int, p=None) -> int:
        token = next(self._draws, None)
        if not isinstance(token, int) or isinstance(token, bool) or not 0 <= token < n:
            raise JournalError("journal entry 'generate': the draws recorded run out or do not "
                               "fit this model's vocabulary")
        return token


def _apply_char(session: JournaledSession, entry: Entry) -> None:
    op = entry.get("op")
    if op == "type":
        for key in _field(entry, "keys", list):
            if not isinstance(key, str):
                raise JournalError(f"journal entry 'type': keys should be strings, got {key!r}")
            session.feed(key)
    elif op == "paste":
        session.paste(_field(entry, "text", str))
    elif op == "intervene":
        session.intervene(intervention_from(entry), _optional_int(entry, "at"))
    elif op == "forget_redo":
        session.forget_redo()
    elif op in ("back", "forward"):
        getattr(session, op)(_field(entry, "n", int))
    elif op == "goto":
        session.goto(_field(entry, "t", int))
    elif op == "reset":
        session.reset()
    elif op == "fork":
        session.fork(_field(entry, "name", str), _optional_int(entry, "at"))
    elif op in ("switch", "delete_branch"):
        getattr(session, op)(_field(entry, "name", str))
    elif op == "rename_branch":
        session.rename_branch(_field(entry, "old", str), _field(entry, "new", str))
    elif op == "generate":
        session.generate(_field(entry, "n", int),
                         number_from(entry.get("temperature"), "temperature"),
                         _Drawn(_field(entry, "draws", list)))
    else:
        raise JournalError(f"unknown journal entry {op!r} for a character model")


def _apply_seq2seq(session: JournaledSeq2Seq, entry: Entry) -> None:
    op = entry.get("op")
    if op == "source":
        for key in _field(entry, "keys", list):
            if not isinstance(key, str):
                raise JournalError(f"journal entry 'source': keys should be strings, got {key!r}")
            session.feed_source(key)
    elif op == "back":
        session.back(_field(entry, "n", int))
    elif op == "reset":
        session.reset()
    elif op == "edit":
        session.edit_handoff(edit_from(entry))
    elif op == "clear_edits":
        session.clear_edits()
    elif op == "decode":
        teacher = entry.get("teacher")
        if teacher is not None and not isinstance(teacher, str):
            raise JournalError(f"journal entry 'decode': teacher should be a string, "
                               f"got {teacher!r}")
        session.decode(_field(entry, "max_len", int), teacher)
    elif op == "decode_step":
        session.decode_step(_field(entry, "max_len", int))
    elif op == "restart_decode":
        session.restart_decode()
    else:
        raise JournalError(f"unknown journal entry {op!r} for a seq2seq model")


def replay(model, journal: Iterable[Entry], keyframe_every: int = 256
           ) -> JournaledSession | JournaledSeq2Seq:
    """A fresh session with every journaled call made again, in order. Raises JournalError for
    an entry it cannot read, and whatever the verb raises (ValueError) for one that no longer
    applies (a branch name taken, a unit out of range): a journal from another model."""
    if getattr(model, "kind", None) == "seq2seq":
        session: JournaledSession | JournaledSeq2Seq = JournaledSeq2Seq(model)
        apply = _apply_seq2seq
    else:
        session = JournaledSession(model, keyframe_every)
        apply = _apply_char
    for index, entry in enumerate(journal):
        if not isinstance(entry, dict):
            raise JournalError(f"journal entry {index}: expected an object, got {entry!r}")
        apply(session, entry)
    return session
