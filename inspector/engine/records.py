"""Frozen step records: what the TUI renders and the exports write. Names follow `l0.h`, `l0.c`,
`l0.gate.f`, `l0.dh` (TransformerLens-style hook names), so a cache can be searched by name."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from inspector.engine.cells import LayerStep, frozen
from inspector.names import parse_name

TOP_K = 5
NO_PREDICTION = "<NaN>"  # the prediction of a non-finite output: no vocabulary's own token


@dataclass(frozen=True)
class LayerState:
    h: np.ndarray
    c: np.ndarray | None = None


State = tuple[LayerState, ...]


@dataclass(frozen=True)
class Intervention:
    """An edit of the hidden state, recorded in the timeline like a keystroke.

    kind: set | zero | scale | replace (once, on the current state), clamp (hold the unit at
    `value` after every later step), release (end a clamp). target: `l0.h` or `l0.c`;
    unit None means the whole vector.
    """

    kind: str
    target: str
    unit: int | None = None
    value: float | tuple[float, ...] | None = None

    def describe(self) -> str:
        where = self.target if self.unit is None else f"{self.target}[{self.unit}]"
        if self.kind in ("zero", "release"):
            return f"{self.kind} {where}"
        if self.kind == "scale":
            return f"scale {where} ×{self.value:g}"
        if isinstance(self.value, tuple):
            return f"{self.kind} {where} = vector"
        return f"{self.kind} {where} = {self.value:g}"


OUTPUT_KINDS = ("logits", "log_probs", "probs", "raw")


@dataclass(frozen=True)
class Output:
    """The head's output for one step: its values as returned (`logits`), the distribution over
    the labels, top-k and entropy (bits). A raw head (regression, `--output raw`) has no
    distribution: `probs` is empty and `prediction` its first value. `attention` holds an
    attention decoder's weights over the source for this step."""

    logits: np.ndarray
    probs: np.ndarray
    top: tuple[tuple[str, float], ...]
    prediction: str
    confidence: float
    entropy: float
    attention: np.ndarray | None = None


def softmax(logits: np.ndarray) -> np.ndarray:
    """Non-finite logits give NaN probabilities (reported as `nonfinite`), without numpy's
    RuntimeWarning on stderr."""
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = logits - np.max(logits, axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)


def entropy_bits(probs: np.ndarray) -> np.ndarray:
    safe = np.where(probs > 0, probs, 1.0)
    with np.errstate(invalid="ignore"):
        return -(probs * np.log2(safe)).sum(axis=-1)


def distribution(values: np.ndarray, kind: str = "logits") -> np.ndarray:
    """Probabilities from a head's values of the given kind: softmax of logits, exp of
    log-probabilities, probabilities as they are (never a second softmax)."""
    values = values.astype(np.float32, copy=False)
    if kind == "log_probs":
        return np.exp(values)
    if kind == "probs":
        return values
    return softmax(values)


def top_k(probs: np.ndarray, tokens: tuple[str, ...], k: int = TOP_K
          ) -> tuple[tuple[str, float], ...]:
    """The k most probable outputs, most probable first (ties in vocabulary order): what the
    screen's top-k column and every trace show."""
    order = np.argsort(-probs, kind="stable")[:k]
    return tuple((tokens[i], float(probs[i])) for i in order)


def make_output(logits: np.ndarray | None, tokens: tuple[str, ...], k: int = TOP_K,
                kind: str = "logits", attention: np.ndarray | None = None) -> Output:
    """`tokens` name the head's outputs (the vocabulary, or the labels of a tagger's head)."""
    attention = frozen(attention) if attention is not None else None
    if logits is None:  # a seq2seq encoder has no head
        empty = frozen(np.zeros(0))
        return Output(empty, empty, (), "", math.nan, math.nan, attention)
    if kind == "raw":
        shown = ", ".join(f"{v:.4g}" for v in logits[:4]) + (", …" if logits.size > 4 else "")
        return Output(frozen(logits), frozen(np.zeros(0)), (), shown, math.nan, math.nan,
                      attention)
    probs = distribution(logits, kind)
    if not np.all(np.isfinite(probs)):
        probs = np.full_like(probs, np.nan)
        return Output(frozen(logits), frozen(probs), (), NO_PREDICTION, math.nan, math.nan,
                      attention)
    top = top_k(probs, tokens, k)
    return Output(frozen(logits), frozen(probs), top, top[0][0], top[0][1],
                  float(entropy_bits(probs)), attention)


def output_kind(values: np.ndarray) -> str:
    """What a head's values are, read from one step: probabilities (all >= 0, summing to 1),
    log-probabilities (all <= 0, their exps summing to 1), raw values (one wide), else logits."""
    values = values.astype(np.float64)
    if values.size == 1:
        return "raw"
    if not np.all(np.isfinite(values)):
        return "logits"
    if np.all(values >= 0) and abs(values.sum() - 1.0) < 1e-4:
        return "probs"
    if np.all(values <= 0) and abs(np.exp(values).sum() - 1.0) < 1e-4:
        return "log_probs"
    return "logits"


def numbered_labels(size: int) -> tuple[str, ...]:
    """Names for a head's outputs when nobody gave them: `0` … `K-1`."""
    return tuple(str(i) for i in range(size))


@dataclass(frozen=True)
class StepRecord:
    """One step: the input, every layer's state and gates, and the output distribution."""

    t: int
    typed: str
    token: str
    token_id: int
    layers: tuple[LayerStep, ...]
    output: Output
    interventions: tuple[Intervention, ...] = ()
    nonfinite: tuple[str, ...] = field(default=())
    clamps: tuple[Intervention, ...] = ()  # clamps holding units of this step's new state
    by_model: bool = False  # the model wrote this step (its own prediction fed back)

    @property
    def logits(self) -> np.ndarray:
        return self.output.logits

    @property
    def probs(self) -> np.ndarray:
        return self.output.probs

    @property
    def top(self) -> tuple[tuple[str, float], ...]:
        return self.output.top

    @property
    def prediction(self) -> str:
        return self.output.prediction

    @property
    def confidence(self) -> float:
        return self.output.confidence

    @property
    def entropy(self) -> float:
        return self.output.entropy

    @property
    def attention(self) -> np.ndarray | None:
        return self.output.attention

    def activation(self, name: str) -> np.ndarray:
        """An activation by its stable name: `l0.h`, `l0.c`, `l0.dh`, `l0.gate.f`,
        `l0.in.f` / `l0.mem.f` (input and memory parts), `logits`, `probs`."""
        if name in ("logits", "probs"):
            return getattr(self.output, name)
        parsed = parse_name(name)
        if parsed is None or parsed.unit is not None or parsed.layer >= len(self.layers):
            raise KeyError(f"no activation named {name!r}")
        step, what = self.layers[parsed.layer], parsed.what
        if what in ("h", "act"):
            return step.h
        if what == "c" and step.c is not None:
            return step.c
        if what == "dh":
            return step.delta_h
        kind, _, gate = what.partition(".")
        table = {"gate": step.gates, "in": step.input_part, "mem": step.memory_part}.get(kind, {})
        if gate in table:
            return table[gate]
        raise KeyError(f"no activation named {name!r}")


def nonfinite_names(layers: tuple[LayerStep, ...], output: Output) -> tuple[str, ...]:
    names = []
    for k, step in enumerate(layers):
        if not np.all(np.isfinite(step.h)):
            names.append(f"l{k}.h")
        if step.c is not None and not np.all(np.isfinite(step.c)):
            names.append(f"l{k}.c")
    if output.logits.size and not np.all(np.isfinite(output.logits)):
        names.append("logits")
    return tuple(names)
