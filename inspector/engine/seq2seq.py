"""Seq2seq: encoder steps, the handoff (encoder final state through the bridge), decoder steps.

The handoff is what "only the decoder understands": it can be edited (zero, scale, set a unit, or
swapped for another source's handoff) and the decode re-run to see what the decoder makes of it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inspector.engine.cells import frozen
from inspector.engine.model import InspectableModel, NativeModel, model_lock, state_after
from inspector.engine.records import (
    NO_PREDICTION,
    Intervention,
    LayerState,
    State,
    StepRecord,
    nonfinite_names,
)
from inspector.engine.session import Session, apply_intervention
from inspector.names import parse_state
from models.checkpoint import Checkpoint
from models.vocab import CharVocab

DEFAULT_MAX_LEN = 64
EDITS = ("zero", "scale", "set", "swap")


def bridged(bridge, state: State) -> State:
    """The decoder's first state: the encoder's final `state` through the checkpoint's own bridge
    (`models.seq2seq.Bridge`, tanh(W h + b) and W_c c + b_c per layer), run by torch so its
    numbers are the model's; None or an identity bridge hands the state over as it is."""
    if bridge is None or bridge.kind == "identity":
        return state
    import torch

    h = torch.from_numpy(np.stack([layer.h for layer in state]))[:, None]  # (L, 1, H)
    has_cell = state[0].c is not None
    with torch.no_grad():
        if has_cell:
            c = torch.from_numpy(np.stack([layer.c for layer in state]))[:, None]
            h, c = bridge((h, c))
        else:
            h, c = bridge(h), None
    return tuple(LayerState(frozen(h[k, 0].numpy()),
                            None if c is None else frozen(c[k, 0].numpy()))
                 for k in range(len(state)))


@dataclass(frozen=True)
class Seq2SeqModel:
    name: str
    encoder: InspectableModel
    decoder: InspectableModel
    bridge: object | None  # models.seq2seq.Bridge (an nn.Module); None: identity
    source_vocab: CharVocab
    target_vocab: CharVocab
    kind: str = "seq2seq"
    encoder_from: str | None = None  # set when the encoder is another model's (with_encoder_of)
    source_eos: bool = False  # the source gets its end token appended before the handoff

    @property
    def whole_source(self) -> bool:
        """The encoder is bidirectional: run over the whole source, never stepped."""
        return bool(getattr(self.encoder, "whole_input", False))

    @property
    def attends(self) -> bool:
        """The decoder takes the encoder's outputs (an attention decoder)."""
        return bool(getattr(self.decoder, "attends", False))

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> Seq2SeqModel:
        module = checkpoint.module
        target = checkpoint.decoder_vocab
        encoder = NativeModel(module.encoder, checkpoint.vocab, f"{checkpoint.name}.encoder")
        decoder = NativeModel(module.decoder, target, f"{checkpoint.name}.decoder")
        return cls(checkpoint.name, encoder, decoder, module.bridge, checkpoint.vocab,
                   target, source_eos=bool(checkpoint.meta.get("source_eos")))

    def with_encoder_of(self, other: Seq2SeqModel) -> Seq2SeqModel:
        """This decoder fed `other`'s handoff (its encoder and bridge): is a handoff a code only
        its own decoder reads? Refused (ValueError) when the handoff's shape does not fit."""
        theirs = [(s.h.shape, s.c is not None) for s in other.handoff_of("")]
        mine = [(s.h.shape, s.c is not None) for s in self.decoder.initial_state()]
        if theirs != mine:
            raise ValueError(f"{other.name}'s encoder hands over {_shape(other.handoff_of(''))}; "
                             f"{self.name}'s decoder starts from "
                             f"{_shape(self.decoder.initial_state())}")
        return replace(self, encoder=other.encoder, bridge=other.bridge,
                       source_vocab=other.source_vocab, encoder_from=other.name)

    @property
    def handoff_note(self) -> str | None:
        """One line on what a mixed pair means, or None for a model's own encoder."""
        if self.encoder_from is None:
            return None
        return (f"{self.encoder_from}'s encoder hands over to {self.name}'s decoder: the two were "
                "trained end to end, separately, so this decoder never learned to read that "
                "encoder's handoff")

    def handoff_of(self, source: str) -> State:
        """The bridged final encoder state for a source string."""
        if self.whole_source:
            from inspector.engine.bidirectional import WholeSession

            session = WholeSession(self.encoder, self.source_eos)
            session.feed(source)
            return bridged(self.bridge, session.state)
        state = self.encoder.initial_state()
        for token_id in self.source_vocab.encode(source):
            with model_lock(self.encoder):
                layers, _ = self.encoder.step(token_id, state)
            state = state_after(layers)
        return bridged(self.bridge, self.finish_source(state)[0])

    def finish_source(self, state: State) -> tuple[State, StepRecord | None]:
        """The encoder state after the typed source, with the end token fed when `source_eos`
        (and that step's record). A bidirectional encoder's state already is (WholeSession)."""
        if not self.source_eos or self.whole_source:
            return state, None
        eos = self.source_vocab.eos
        if eos not in self.source_vocab:
            raise ValueError(f"--source-eos: the source vocabulary has no {eos!r}")
        token_id = self.source_vocab.id(eos)
        layers, output = self.encoder.step(token_id, state)
        record = StepRecord(-1, eos, eos, token_id, layers, output, (),
                            nonfinite_names(layers, output))
        return state_after(layers), record


def decoded_text(records, vocab: CharVocab) -> str:
    """The decoded string of a decode's records: the predictions up to the first end token (the
    vocabulary's own, `--eos`) or non-finite output, without the start token, joined as the
    vocabulary joins its tokens (words with a space between them)."""
    out = []
    for record in records:
        if record.prediction in (vocab.eos, NO_PREDICTION):
            break
        if record.prediction != vocab.bos:
            out.append(record.prediction)
    return vocab.join(out)


def encoder_output(record: StepRecord) -> np.ndarray:
    """What an attention decoder attends to for one source step: the encoder forward's own
    output when it has one (a hooked encoder), else the top layer's h."""
    return record.output.logits if record.output.logits.size else record.layers[-1].h


@dataclass(frozen=True)
class HandoffEdit:
    """kind: zero | scale | set | swap. target `l0.h` / `l0.c`, or None for every vector;
    unit None for the whole vector; `source` is the other string for swap."""

    kind: str
    target: str | None = None
    unit: int | None = None
    value: float | None = None
    source: str | None = None

    def describe(self) -> str:
        where = self.target or "all"
        if self.unit is not None:
            where += f"[{self.unit}]"
        if self.kind == "swap":
            return f"swap {where} with handoff of {self.source!r}"
        if self.kind == "zero":
            return f"zero {where}"
        return f"{self.kind} {where} {'×' if self.kind == 'scale' else '='} {self.value:g}"


@dataclass(frozen=True)
class Handoff:
    layers: State
    norms: dict[str, float]
    edits: tuple[HandoffEdit, ...]


@dataclass(frozen=True)
class Decode:
    records: tuple[StepRecord, ...]
    output: str
    finished: bool  # reached </s> (rather than the length cap)


def norms(state: State) -> dict[str, float]:
    out = {}
    for k, layer in enumerate(state):
        out[f"l{k}.h"] = float(np.linalg.norm(layer.h))
        if layer.c is not None:
            out[f"l{k}.c"] = float(np.linalg.norm(layer.c))
    return out


class Seq2SeqSession:
    """Type the source, hand over, decode; edit the handoff and decode again."""

    def __init__(self, model: Seq2SeqModel) -> None:
        self.model = model
        if model.whole_source:
            from inspector.engine.bidirectional import WholeSession

            self.encoder = WholeSession(model.encoder, model.source_eos)
        else:
            self.encoder = Session(model.encoder)
        self.edits: list[HandoffEdit] = []
        self._stepping: tuple[State, list[StepRecord], int, bool] | None = None

    @property
    def source(self) -> str:
        return self.encoder.text

    @property
    def encoder_records(self) -> list[StepRecord]:
        return self.encoder.records(0, self.encoder.cursor)

    @property
    def source_records(self) -> list[StepRecord]:
        """The encoder's steps over the source as the decoder sees it: the typed source, then
        the end token's step when the model appends one (`--source-eos`)."""
        if self.model.whole_source:
            return self.encoder.all_records()
        records = self.encoder_records
        _, extra = self.model.finish_source(self.encoder.state)
        if extra is None:
            return records
        return [*records, replace(extra, t=len(records))]

    def memory(self) -> np.ndarray | None:
        """The encoder outputs (T_src, H) an attention decoder is given; None otherwise."""
        if not self.model.attends:
            return None
        if self.model.whole_source:
            run = self.encoder.run()
            if run is None:
                raise ValueError("an attention decoder needs a source of at least one token")
            return run.memory
        records = self.source_records
        if not records:
            raise ValueError("an attention decoder needs a source of at least one token")
        return np.stack([encoder_output(r) for r in records])

    def feed_source(self, text: str) -> list[StepRecord]:
        self._stepping = None
        return self.encoder.feed(text)

    def back(self, n: int = 1) -> None:
        self._stepping = None
        self.encoder.back(n)

    def reset(self) -> None:
        self._stepping = None
        self.encoder.reset()
        self.edits.clear()

    def edit_handoff(self, edit: HandoffEdit) -> Handoff:
        if edit.kind not in EDITS:
            raise ValueError(f"unknown handoff edit {edit.kind!r}; use one of {', '.join(EDITS)}")
        self._apply(bridged(self.model.bridge, self.encoder.state), edit)  # validate before keeping
        self.edits.append(edit)
        self._stepping = None
        return self.handoff()

    def clear_edits(self) -> None:
        self.edits.clear()
        self._stepping = None

    def _apply(self, state: State, edit: HandoffEdit) -> State:
        targets = [edit.target] if edit.target else [
            f"l{k}.{w}" for k, layer in enumerate(state) for w in ("h", "c")
            if getattr(layer, w) is not None]
        if edit.kind == "swap":
            if edit.source is None:
                raise ValueError("swap needs another source string")
            other = self.model.handoff_of(edit.source)
        for target in targets:
            if edit.kind == "swap":
                layer, what = parse_state(target, len(state))
                vector = getattr(other[layer], what)
                value = (tuple(float(v) for v in vector) if edit.unit is None
                         else float(vector[edit.unit]))
                iv = Intervention("replace", target, edit.unit, value)
            else:
                iv = Intervention(edit.kind, target, edit.unit, edit.value)
            state = apply_intervention(state, iv)
        return state

    def handoff(self) -> Handoff:
        state = bridged(self.model.bridge, self.model.finish_source(self.encoder.state)[0])
        for edit in self.edits:
            state = self._apply(state, edit)
        return Handoff(state, norms(state), tuple(self.edits))

    def _decoder_step(self, t: int, token_id: int, typed: str, state: State,
                      memory: np.ndarray | None = None) -> tuple[StepRecord, State]:
        extra = {"memory": memory} if memory is not None else {}
        with model_lock(self.model.decoder):
            layers, output = self.model.decoder.step(token_id, state, **extra)
        token = self.model.target_vocab.tokens[token_id]
        record = StepRecord(t, typed, token, token_id, layers, output, (),
                            nonfinite_names(layers, output))
        return record, state_after(layers)

    def decode(self, max_len: int = DEFAULT_MAX_LEN, teacher: str | None = None) -> Decode:
        """Greedy decode from the handoff until `</s>` or `max_len` steps; with `teacher`, feed
        `<s>` + teacher instead of the model's own predictions (records show what it predicted)."""
        vocab = self.model.target_vocab
        state, memory = self.handoff().layers, self.memory()
        token_id, typed = vocab.id(vocab.bos), vocab.bos
        forced = vocab.encode(teacher) + [vocab.id(vocab.eos)] if teacher is not None else None
        records, out = [], []
        finished = False
        steps = len(forced) if forced is not None else max_len
        for t in range(steps):
            record, state = self._decoder_step(t, token_id, typed, state, memory)
            records.append(record)
            if forced is not None:
                token_id = forced[t]
                typed = vocab.tokens[token_id]
                out.append(record.prediction)
                continue
            if record.prediction == vocab.eos:
                finished = True
                break
            if record.prediction == NO_PREDICTION:  # nothing to feed back: the decode stops
                break
            out.append(record.prediction)
            token_id, typed = vocab.id(record.prediction), record.prediction
        output = vocab.join(p for p in out if p not in (vocab.eos, vocab.bos))
        return Decode(tuple(records), output, finished or forced is not None)

    def decode_step(self, max_len: int = DEFAULT_MAX_LEN) -> StepRecord | None:
        """One greedy decoder step at a time; None once `</s>` was predicted or at the cap."""
        vocab = self.model.target_vocab
        if self._stepping is None:
            self._stepping = (self.handoff().layers, [], vocab.id(vocab.bos), False)
        state, records, token_id, done = self._stepping
        if done or len(records) >= max_len:
            return None
        typed = vocab.tokens[token_id]
        record, state = self._decoder_step(len(records), token_id, typed, state, self.memory())
        records = [*records, record]
        done = record.prediction in (vocab.eos, NO_PREDICTION)
        next_id = vocab.id(record.prediction) if not done else token_id
        self._stepping = (state, records, next_id, done)
        return record

    def restart_decode(self) -> None:
        """Forget the steps taken with decode_step: the next one starts again from the handoff."""
        self._stepping = None

    @property
    def stepped(self) -> tuple[StepRecord, ...]:
        """The decoder steps taken so far with decode_step."""
        return tuple(self._stepping[1]) if self._stepping else ()


def _shape(state: State) -> str:
    cell = "h and c" if state and state[0].c is not None else "h"
    return f"{len(state)} layer(s) of {cell} sized {', '.join(str(s.h.size) for s in state)}"
