"""Two runs of the same model side by side, step by step: what an intervention (or another
branch) changed. Per step, the distance between the two runs' states in every layer (‖Δh‖, ‖Δc‖),
how far apart their output distributions are (KL divergence, in bits, as the entropy is shown)
and whether the predicted token flipped.

The runs are given as their step records (the state *after* each step, as every panel shows), so
the diff is of exactly what the screen shows for each run; steps are paired by their t, up to the
shorter run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from inspector.engine.records import NO_PREDICTION, StepRecord
from inspector.engine.session import Feed, Session
from inspector.names import parse_name

# Two computations of the same step by different paths (stepped, fused) agree to float32
# rounding, ~1e-6; below these a difference is not one (the engine's own tolerance is 1e-5).
SAME_DISTANCE = 1e-5
SAME_KL = 1e-6  # bits (small probabilities carry float32 rounding into KL: ~1e-7 seen)


@dataclass(frozen=True)
class StepDiff:
    t: int
    typed_a: str
    typed_b: str
    distances: tuple[float, ...]  # ‖state_b − state_a‖ per activation, in `names` order
    kl: float  # KL(p_a ‖ p_b) in bits; nan where either output is not a distribution
    prediction_a: str
    prediction_b: str

    @property
    def flipped(self) -> bool:
        """The predicted token differs between the runs."""
        return self.prediction_a != self.prediction_b

    @property
    def differs(self) -> bool:
        """More apart than two computations of one step by different paths can be."""
        return (self.flipped or any(d > SAME_DISTANCE for d in self.distances)
                or self.kl > SAME_KL)


@dataclass(frozen=True)
class CounterfactualDiff:
    names: tuple[str, ...]  # `l0.h`, `l0.c`, `l1.h`, …
    steps: tuple[StepDiff, ...]

    @property
    def first_difference(self) -> int | None:
        """The first step at which the runs' states or outputs differ by more than float32
        rounding (None: the same at every step)."""
        for step in self.steps:
            if step.differs:
                return step.t
        return None

    @property
    def flips(self) -> int:
        return sum(step.flipped for step in self.steps)

    def to_json(self) -> dict:
        return {"names": list(self.names), "first_difference": self.first_difference,
                "flips": self.flips,
                "steps": [{"t": s.t, "typed": [s.typed_a, s.typed_b],
                           "distances": dict(zip(self.names, s.distances)),
                           "kl": None if np.isnan(s.kl) else s.kl,
                           "prediction": [s.prediction_a, s.prediction_b], "flipped": s.flipped}
                          for s in self.steps]}


def state_names(record: StepRecord) -> tuple[str, ...]:
    """h, then c for a layer that has one, of every layer."""
    names = []
    for k, layer in enumerate(record.layers):
        names.append(f"l{k}.h")
        if layer.c is not None:
            names.append(f"l{k}.c")
    return tuple(names)


def kl_bits(p: np.ndarray, q: np.ndarray) -> np.ndarray | float:
    """KL(p ‖ q) = Σ p log₂(p / q) over the last axis, in float64; terms with p = 0 add nothing;
    inf where q = 0 < p; nan where either is empty or not finite (a raw head, a NaN output)."""
    p64, q64 = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p64.shape[-1:] == (0,) or p64.shape != q64.shape:
        return np.full(p64.shape[:-1], np.nan) if p64.ndim > 1 else float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p64 > 0, p64 * (np.log2(np.where(p64 > 0, p64, 1.0)) - np.log2(q64)),
                         0.0)
    kl = np.maximum(terms.sum(-1), 0.0)  # rounding can leave -1e-17 for equal distributions
    bad = ~(np.isfinite(p64).all(-1) & np.isfinite(q64).all(-1))
    kl = np.where(bad, np.nan, kl)
    return kl if kl.ndim else float(kl)


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T,): ‖b[t] − a[t]‖ in float64; inf where a value is not finite."""
    diff = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        norms = np.linalg.norm(np.where(np.isfinite(diff), diff, 0.0), axis=-1)
    return np.where(np.isfinite(diff).all(-1), norms, np.inf)


def diff_arrays(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray],
                names: Sequence[str], labels: Sequence[str], first_t: int = 0,
                typed_a: Sequence[str] | None = None, typed_b: Sequence[str] | None = None
                ) -> CounterfactualDiff:
    """Run `a` against run `b`: each maps the state names (`l0.h`, …) and `probs` to (T, n)
    arrays of the steps first_t…; `labels` name the outputs. The shorter run sets T."""
    steps = min(len(a["probs"]), len(b["probs"]), *(min(len(a[n]), len(b[n])) for n in names))
    dist = [distances(a[name][:steps], b[name][:steps]) for name in names]
    p_a, p_b = np.asarray(a["probs"][:steps]), np.asarray(b["probs"][:steps])
    kl = kl_bits(p_a, p_b) if steps else np.zeros(0)
    top_a = _predictions(p_a, labels)
    top_b = _predictions(p_b, labels)
    out = tuple(StepDiff(first_t + i, typed_a[i] if typed_a else "", typed_b[i] if typed_b else "",
                         tuple(float(d[i]) for d in dist), float(kl[i]), top_a[i], top_b[i])
                for i in range(steps))
    return CounterfactualDiff(tuple(names), out)


def _predictions(probs: np.ndarray, labels: Sequence[str]) -> list[str]:
    """The predicted label per step; NO_PREDICTION where the output is not finite."""
    if probs.size == 0 or not labels:
        return [""] * len(probs)
    finite = np.isfinite(probs).all(-1)
    top = np.argmax(np.where(np.isfinite(probs), probs, -np.inf), -1)
    return [labels[i] if ok else NO_PREDICTION for i, ok in zip(top.tolist(), finite.tolist())]


def diff_records(a: Sequence[StepRecord], b: Sequence[StepRecord]) -> CounterfactualDiff:
    """Run `a` against run `b`, step by step (paired by t, up to the shorter run): the records'
    own predictions, so the diff says exactly what the two screens show."""
    by_t = {record.t: record for record in b}
    pairs = [(x, by_t[x.t]) for x in a if x.t in by_t]
    if not pairs:
        return CounterfactualDiff((), ())
    names = state_names(pairs[0][0])
    arrays = []
    for side in (0, 1):
        rows = [pair[side] for pair in pairs]
        arrays.append({**{name: np.stack([r.activation(name) for r in rows]) for name in names},
                       "probs": np.stack([r.probs for r in rows])})
    diff = diff_arrays(arrays[0], arrays[1], names, (), 0)
    steps = tuple(StepDiff(x.t, x.typed, y.typed, s.distances, s.kl, x.prediction, y.prediction)
                  for (x, y), s in zip(pairs, diff.steps))
    return CounterfactualDiff(names, steps)


def without_interventions(session: Session) -> Session:
    """A new session fed the same keys as the branch on view, with no intervention or clamp:
    the run the interventions are measured against."""
    return Session.replay(session.model, [e for e in session.events if isinstance(e, Feed)],
                          session.keyframe_every)


def branch_records(session: Session, branch: str, start: int, stop: int) -> list[StepRecord]:
    """Records [start, stop) of another branch, read from a clone (the session is untouched)."""
    other = session.clone()
    other.switch(branch)
    return other.records(start, stop)


def intervention_diff(session: Session, start: int = 0, stop: int | None = None
                      ) -> CounterfactualDiff:
    """The run on view (b) against the same keys without its interventions (a), steps
    [start, stop). Call it on a clone when the session is on screen: it reads records."""
    stop = session.cursor if stop is None else stop
    return diff_records(without_interventions(session).records(start, stop),
                        session.records(start, stop))


def branch_diff(session: Session, other: str, start: int = 0, stop: int | None = None
                ) -> CounterfactualDiff:
    """Branch `other` (a) against the branch on view (b), steps [start, stop) of both."""
    stop = session.cursor if stop is None else stop
    return diff_records(branch_records(session, other, start, stop),
                        session.records(start, stop))


class SteppedRun:
    """The keys fed one at a time by the model's own step from the zero state, with no
    intervention — exactly what `Session` computes for them, so a timeline with interventions
    (replayed through `Session`) agrees with it bit for bit until the first edit. Kept between
    calls: a run that grew by a key costs one step. One thread at a time."""

    def __init__(self, model, names: Sequence[str]) -> None:
        self.model = model
        self.names = tuple(names)  # `l0.h`, `l0.c`, …, and `probs`
        self.tokens: tuple[str, ...] = ()
        self.state = model.initial_state()
        self.rows: dict[str, list[np.ndarray]] = {name: [] for name in self.names}

    def arrays(self, tokens: Sequence[str], start: int = 0) -> dict[str, np.ndarray]:
        """(T − start, n) float32 per name for steps start… of `tokens`."""
        from inspector.engine.model import model_lock, state_after

        tokens = tuple(tokens)
        if tokens[:len(self.tokens)] != self.tokens:  # not a continuation: start again
            self.__init__(self.model, self.names)
        for token in tokens[len(self.tokens):]:
            with model_lock(self.model):
                layers, output = self.model.step(self.model.vocab.id(token), self.state)
            self.state = state_after(layers)
            for name in self.names:
                if name == "probs":
                    self.rows[name].append(output.probs)
                    continue
                parsed = parse_name(name)
                step = layers[parsed.layer]
                self.rows[name].append(step.h if parsed.what == "h" else step.c)
        self.tokens = tokens
        return {name: (np.stack(rows[start:]).astype(np.float32, copy=False) if rows[start:]
                       else np.zeros((0, 0), dtype=np.float32))
                for name, rows in self.rows.items()}
