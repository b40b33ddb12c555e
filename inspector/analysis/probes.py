"""Linear probes (diagnostic classifiers, Hupkes et al. 2018): can a feature be read linearly
from h or c of a layer? Fitted with scikit-learn on the first part of the steps, scored on the
rest (a contiguous split: neighbouring steps are alike, so a random split would flatter).

A binary or categorical feature gets a logistic regression, scored by accuracy against the
majority baseline (the share of the most frequent training class among the held-out steps); a
continuous one gets a ridge regression, scored by R² against the R² of always answering the
training mean. Inputs are standardised, so the weights of different units compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inspector.analysis.activations import activation_chunks
from inspector.analysis.features import CONTINUOUS, Feature, FeatureError
from inspector.engine.bulk import CHUNK
from inspector.engine.model import InspectableModel

MAX_STEPS = 20_000  # steps kept for the fit (evenly strided over a longer input)
TOP_UNITS = 10


@dataclass(frozen=True)
class ProbeLayer:
    name: str  # `l0.h`
    accuracy: float  # held out; R² for a continuous feature
    baseline: float
    top_units: tuple[tuple[str, float], ...]  # (`l0.h[17]`, weight), largest |weight| first


@dataclass(frozen=True)
class ProbeResult:
    feature: str
    steps: int  # steps of the input
    metric: str  # accuracy | r2
    train_steps: int
    test_steps: int
    layers: tuple[ProbeLayer, ...]

    def to_json(self) -> dict:
        return {"feature": self.feature, "steps": self.steps, "metric": self.metric,
                "train_steps": self.train_steps, "test_steps": self.test_steps,
                "layers": [{"name": p.name, "accuracy": p.accuracy, "baseline": p.baseline,
                            "top_units": [{"name": n, "weight": w} for n, w in p.top_units]}
                           for p in self.layers]}


def probe_names(model: InspectableModel) -> list[str]:
    """h and c of every layer: the state a probe reads."""
    return [name for name in model.activation_names() if name.split(".")[1] in ("h", "c")]


def fit_probe(name: str, x: np.ndarray, y: np.ndarray, continuous: bool, split: float = 0.75,
              top: int = TOP_UNITS) -> ProbeLayer:
    """One probe on rows `x` (n, H) and values `y` (n,), fitted on the first `split` of them."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cut = int(round(len(y) * split))
    if cut < 2 or len(y) - cut < 1:
        raise FeatureError(f"{len(y)} steps are too few to fit a probe and score it")
    x_train, y_train, x_test, y_test = x[:cut], y[:cut], x[cut:], y[cut:]
    if continuous:
        model = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(x_train, y_train)
        score = _r2(y_test, model.predict(x_test))
        baseline = _r2(y_test, np.full(len(y_test), y_train.mean()))
    else:
        classes, counts = np.unique(y_train, return_counts=True)
        if len(classes) < 2:
            raise FeatureError("the feature never changes over the training steps: nothing to "
                               "probe (a longer --input, or another feature)")
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        model.fit(x_train, y_train)
        score = float((model.predict(x_test) == y_test).mean())
        baseline = float((y_test == classes[counts.argmax()]).mean())
    coef = np.atleast_2d(model[-1].coef_)  # signed for one output; a norm over many classes
    weights = coef[0] if len(coef) == 1 else np.linalg.norm(coef, axis=0)
    order = np.argsort(-np.abs(weights), kind="stable")[:top]
    return ProbeLayer(name, score, baseline,
                      tuple((f"{name}[{i}]", float(weights[i])) for i in order))


def _r2(y: np.ndarray, predicted: np.ndarray) -> float:
    spread = float(((y - y.mean()) ** 2).sum())
    if spread == 0:
        return 0.0
    return 1.0 - float(((y - predicted) ** 2).sum()) / spread


def stride_for(steps: int, max_steps: int = MAX_STEPS) -> int:
    """Every how many steps a row is kept, so at most `max_steps` rows are fitted."""
    return max(1, -(-steps // max_steps))


def probe(model: InspectableModel, text: str, feature: Feature, *, split: float = 0.75,
          max_steps: int = MAX_STEPS, chunk: int = CHUNK) -> ProbeResult:
    """A probe per activation (h, c of every layer) of `model` over `text`."""
    if feature.steps != len(text):
        raise FeatureError(f"{feature.name}: {feature.steps} values for {len(text)} steps")
    stride = stride_for(len(text), max_steps)  # keep at most max_steps rows, evenly spaced
    names = probe_names(model)
    kept: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for start, arrays in activation_chunks(model, text, names, chunk):
        first = (-start) % stride  # the first row of this chunk on the stride
        for name in names:
            kept[name].append(arrays[name][first::stride].copy())
    return probe_rows({name: np.concatenate(kept[name]) for name in names}, feature, stride,
                      split)


def probe_rows(rows: dict[str, np.ndarray], feature: Feature, stride: int = 1,
               split: float = 0.75) -> ProbeResult:
    """Probes on rows already read: `rows[name]` holds every `stride`-th step's values (n, H),
    as `probe` keeps them; a panel hands in the session's own states."""
    y = feature.values[::stride]
    continuous = feature.kind == CONTINUOUS
    layers = tuple(fit_probe(name, x, y, continuous, split) for name, x in rows.items())
    cut = int(round(len(y) * split))
    return ProbeResult(feature.name, feature.steps, "r2" if continuous else "accuracy", cut,
                       len(y) - cut, layers)
