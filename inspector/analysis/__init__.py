"""What the memory holds: features, units that follow them, linear probes, PCA paths, fixed
points and saliency through time. numpy / torch / scikit-learn only, never textual.

Each analysis streams over the input chunk by chunk (`activations.activation_chunks`) and keeps
only what it needs, so it runs on traces of any length; the accumulators (`units.UnitStats`,
`pca.Moments`) take rows as they come, so a panel can feed them a growing session in a worker.
Results are frozen dataclasses with `to_json()` giving the keys the CLI prints.
"""

from inspector.analysis.features import Feature, FeatureError, feature
from inspector.analysis.fixed_points import FixedPoint, FixedPointResult, find_fixed_points
from inspector.analysis.pca import Moments, PCAResult, pca
from inspector.analysis.probes import ProbeLayer, ProbeResult, probe
from inspector.analysis.saliency import Saliency, saliency
from inspector.analysis.units import UnitRanking, UnitScore, UnitStats, rank_units

__all__ = [
    "Feature", "FeatureError", "FixedPoint", "FixedPointResult", "Moments", "PCAResult",
    "ProbeLayer", "ProbeResult", "Saliency", "UnitRanking", "UnitScore", "UnitStats",
    "feature", "find_fixed_points", "pca", "probe", "rank_units", "saliency",
]
