"""Activations chunk by chunk: what every analysis streams over instead of keeping a trace."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from inspector.engine.bulk import CHUNK, trace_chunks
from inspector.engine.model import InspectableModel, NativeModel

Chunk = tuple[int, dict[str, np.ndarray]]  # (first step, {name: (n, H) float32})


def names_for(model: InspectableModel, names: list[str] | None = None) -> list[str]:
    """The activations analysed: `l0.h`, `l0.c`, `l0.gate.f`… (all of them by default)."""
    known = model.activation_names()
    if names is None:
        return known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"no activation named {unknown[0]!r}; this model has {', '.join(known)}")
    return list(names)


def activation_chunks(model: InspectableModel, text: str, names: list[str] | None = None,
                      chunk: int = CHUNK) -> Iterator[Chunk]:
    """`(start, {name: rows})` over `text`, from the fused bulk trace, one chunk at a time."""
    wanted = names_for(model, names)
    for part in trace_chunks(model, text, chunk=chunk):
        yield part.start, {name: part.arrays[name] for name in wanted}


def bounds(model: InspectableModel, name: str) -> tuple[float, float] | None:
    """The range an activation cannot leave (sigmoid gates, tanh states); None if unbounded."""
    kind = name.split(".", 1)[1]
    if kind.startswith("gate."):
        return (-1.0, 1.0) if kind[-1] in ("g", "n") else (0.0, 1.0)
    if kind == "h" and isinstance(model, NativeModel) and model.nonlinearity != "relu":
        return (-1.0, 1.0)
    return None
