"""Units that follow a feature: every unit of every activation ranked by |r| against it.

r is Pearson's correlation (the point-biserial one for a binary feature). For a binary feature
each unit also gets LSTMVis's match: the threshold that makes "the unit is on" agree best with
"the feature is on", and that agreement as a Jaccard index |on ∧ feature| / |on ∨ feature|
("on" is above the threshold for a unit with r ≥ 0, below it for r < 0).

`UnitStats` keeps sufficient statistics only (shifted sums and a per-unit histogram split by the
feature), updated chunk by chunk, so a million steps of a 2x512 LSTM cost no more memory than
one chunk, and a panel can feed it a growing session.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from inspector.analysis.activations import Chunk, activation_chunks, bounds, names_for
from inspector.analysis.features import BINARY, CATEGORICAL, Feature, FeatureError
from inspector.engine.bulk import CHUNK
from inspector.engine.model import InspectableModel

BINS = 128  # histogram bins per unit: the resolution of the best threshold


@dataclass(frozen=True)
class UnitScore:
    name: str  # `l0.h[17]`
    r: float
    jaccard: float | None = None  # binary features only
    threshold: float | None = None
    above: bool | None = None  # "on" means above the threshold (else below)


@dataclass(frozen=True)
class UnitRanking:
    feature: str
    steps: int
    units: tuple[UnitScore, ...]  # best first

    def to_json(self) -> dict:
        return {"feature": self.feature, "steps": self.steps,
                "units": [{"name": u.name, "r": u.r, "jaccard": u.jaccard,
                           "threshold": u.threshold} for u in self.units]}


class _Activation:
    """One activation's running sums (float64) and, for a binary feature, its histograms."""

    def __init__(self, first: torch.Tensor, limits: tuple[float, float] | None,
                 binary: bool) -> None:
        self.shift = first.mean(0).double()  # sums of x - shift: no cancellation in Σx²
        self.sx = torch.zeros_like(self.shift)
        self.sxx = torch.zeros_like(self.shift)
        self.sxy = torch.zeros_like(self.shift)
        self.binary = binary
        if binary:
            if limits is None:  # unbounded (a cell state): the first chunk's range, widened
                lo, hi = first.min(0).values.double(), first.max(0).values.double()
                span = (hi - lo).clamp_min(1e-6)
                lo, hi = lo - span / 2, hi + span / 2
            else:
                lo = torch.full_like(self.shift, limits[0])
                hi = torch.full_like(self.shift, limits[1])
            self.lo, self.width = lo, (hi - lo) / BINS
            self.scale = (1.0 / self.width).float()
            self.lo32 = lo.float()
            units = first.shape[1]
            self.size = units * BINS
            self.offsets = torch.arange(units, dtype=torch.int32) * BINS
            self.all = torch.zeros(self.size, dtype=torch.int64)
            self.pos = torch.zeros(self.size, dtype=torch.int64)

    def update(self, x: torch.Tensor, ones_and_y: torch.Tensor,
               positive: torch.Tensor | None) -> None:
        """Add rows `x` (n, H); `ones_and_y` (2, n) is a row of ones over the centred feature;
        `positive` (n,) says where a binary feature is 1."""
        shifted = x - self.shift.float()
        sums = (ones_and_y @ shifted).double()  # Σx and Σxy in one GEMM (per chunk in float32)
        self.sx += sums[0]
        self.sxy += sums[1]
        self.sxx += shifted.square_().sum(0).double()
        if self.binary:
            scaled = (x - self.lo32).mul_(self.scale).nan_to_num_(0.0)  # a NaN counts in bin 0
            bins = scaled.clamp_(0, BINS - 1).to(torch.int32)
            bins += self.offsets
            if positive is not None:  # the positive rows count in a second copy of the bins
                bins += positive[:, None].to(torch.int32) * self.size
            counts = torch.bincount(bins.view(-1), minlength=2 * self.size)
            self.pos += counts[self.size:]
            self.all += counts[:self.size] + counts[self.size:]


class UnitStats:
    """Accumulates every unit's statistics against one feature; `ranking()` at any time."""

    def __init__(self, model: InspectableModel, binary: bool,
                 names: list[str] | None = None) -> None:
        self.model = model
        self.binary = binary
        self.names = names_for(model, names)
        self.n = 0
        self.y_shift: float | None = None
        self.sy = self.syy = 0.0
        self.positives = 0
        self._acts: dict[str, _Activation] = {}

    @torch.no_grad()
    def update(self, arrays: dict[str, np.ndarray], y: np.ndarray) -> None:
        """Add steps: `arrays[name]` (n, H) and the feature's values `y` (n,) at those steps."""
        if not len(y):
            return
        y64 = np.asarray(y, dtype=np.float64)
        if self.y_shift is None:
            self.y_shift = float(y64.mean())
        centred64 = y64 - self.y_shift
        self.n += len(y64)
        self.sy += float(centred64.sum())
        self.syy += float((centred64 ** 2).sum())
        ones_and_y = torch.from_numpy(np.stack([np.ones_like(centred64), centred64])
                                      .astype(np.float32))
        positive = None
        if self.binary:
            positive = torch.from_numpy(y64 == 1.0)
            self.positives += int(positive.sum())
        for name in self.names:
            # a read-only array (a panel's cached rows) is copied: torch cannot share it
            x = torch.from_numpy(np.require(arrays[name], np.float32, ["C", "W"]))
            if name not in self._acts:
                self._acts[name] = _Activation(x, bounds(self.model, name), self.binary)
            self._acts[name].update(x, ones_and_y, positive)

    def correlations(self) -> dict[str, np.ndarray]:
        """r of every unit, by activation (0 for a unit or a feature that never varies)."""
        out = {}
        n = self.n
        vy = n * self.syy - self.sy ** 2
        for name, act in self._acts.items():
            vx = n * act.sxx - act.sx ** 2
            cov = n * act.sxy - act.sx * self.sy
            denom = torch.sqrt(vx.clamp_min(0) * max(vy, 0.0))
            r = torch.where(denom > 0, cov / denom.clamp_min(1e-300), torch.zeros_like(cov))
            out[name] = r.clamp(-1, 1).numpy()
        return out

    def _matches(self, act: _Activation, r: np.ndarray,
                 rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """Best Jaccard index, its threshold and direction of the units `rows`, from the
        histograms."""
        units = len(r)
        counts = act.all.view(units, BINS).numpy()[rows]
        pos = act.pos.view(units, BINS).numpy()[rows]
        total_pos = self.positives
        # "on" above edge k (k = 1 … BINS-1): the bins k and up; below edge k: the bins under k.
        tp_above = np.cumsum(pos[:, ::-1], axis=1)[:, ::-1][:, 1:]
        on_above = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1][:, 1:]
        tp_below = np.cumsum(pos, axis=1)[:, :-1]
        on_below = np.cumsum(counts, axis=1)[:, :-1]
        above = r[rows] >= 0
        tp = np.where(above[:, None], tp_above, tp_below)
        on = np.where(above[:, None], on_above, on_below)
        union = on + total_pos - tp
        jaccard = np.divide(tp, union, out=np.zeros(tp.shape), where=union > 0)
        best = jaccard.argmax(1)
        edges = (act.lo.numpy()[rows, None]
                 + act.width.numpy()[rows, None] * np.arange(1, BINS))
        picked = np.arange(len(rows))
        return jaccard[picked, best], edges[picked, best], above

    def ranking(self, feature: str, top: int | None = None, by: str = "r") -> UnitRanking:
        """Every unit, best first by |r| (or by Jaccard index: `by="jaccard"`), ties in name
        order. Only the `top` units kept are scored as objects (and, ranked by r, matched):
        a 2x512 LSTM has 6,144 units and a panel ranks them on every key."""
        correlations = self.correlations()
        names = list(correlations)
        sizes = [len(correlations[name]) for name in names]
        owner = np.repeat(np.arange(len(names)), sizes)
        unit = np.concatenate([np.arange(size) for size in sizes] or [np.zeros(0, int)])
        r = np.concatenate([correlations[name] for name in names] or [np.zeros(0)])
        r = r.astype(np.float64)
        by_jaccard = by == "jaccard" and self.binary
        matched = {}  # activation -> (the units matched, ascending; their matches)
        if by_jaccard:  # every unit's match decides the order
            for index, name in enumerate(names):
                rows = np.arange(sizes[index])
                matched[index] = rows, self._matches(self._acts[name], correlations[name], rows)
            key = -np.concatenate([matched[index][1][0] for index in range(len(names))])
        else:
            key = -np.abs(r)
        order = np.argsort(key, kind="stable")  # stable: ties stay in name order
        kept = [(int(owner[i]), int(unit[i]), float(r[i])) for i in order[:top or None]]
        if not self.binary:
            return UnitRanking(feature, self.n, tuple(
                UnitScore(f"{names[o]}[{u}]", value) for o, u, value in kept))
        for which in sorted({o for o, _, _ in kept} - set(matched)):  # ranked by r
            rows = np.array(sorted({u for o, u, _ in kept if o == which}))
            matched[which] = rows, self._matches(self._acts[names[which]],
                                                 correlations[names[which]], rows)

        def match(which: int, at: int) -> tuple[float, float, bool]:
            rows, (jaccard, threshold, above) = matched[which]
            k = int(np.searchsorted(rows, at))
            return float(jaccard[k]), float(threshold[k]), bool(above[k])

        return UnitRanking(feature, self.n, tuple(
            UnitScore(f"{names[o]}[{u}]", value, *match(o, u)) for o, u, value in kept))


def rank_chunks(model: InspectableModel, chunks: Iterable[Chunk], feature: Feature, *,
                names: list[str] | None = None, top: int | None = None,
                by: str = "r") -> UnitRanking:
    """Rank every unit against `feature` over activations that come in chunks
    (`(first step, {name: rows})`, as `activation_chunks` gives, or a session's own rows)."""
    if feature.kind == CATEGORICAL:
        raise FeatureError(f"{feature.name} has {len(feature.classes)} classes, so no unit can "
                           "correlate with it: name one of them, or use `probe`")
    stats = UnitStats(model, feature.kind == BINARY, names)
    for start, arrays in chunks:
        rows = len(next(iter(arrays.values())))
        stats.update(arrays, feature.values[start:start + rows])
    return stats.ranking(feature.name, top, by)


def rank_units(model: InspectableModel, text: str, feature: Feature, *,
               names: list[str] | None = None, top: int | None = None, by: str = "r",
               chunk: int = CHUNK) -> UnitRanking:
    """Stream `text` through the model and rank every unit against `feature`."""
    if feature.steps != len(text):
        raise FeatureError(f"{feature.name}: {feature.steps} values for {len(text)} steps")
    return rank_chunks(model, activation_chunks(model, text, names, chunk), feature,
                       names=names, top=top, by=by)
