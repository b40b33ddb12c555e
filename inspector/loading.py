"""Where every command opens a model: native checkpoints, zoo names and (later) foreign files.

One entry point, `open_model`, so the TUI, `trace` and `info` accept exactly the same things and
fail with exactly the same one-line errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.checkpoint import Checkpoint, CheckpointError, load_checkpoint

__all__ = ["CheckpointError", "ModelSource", "open_model"]


@dataclass(frozen=True)
class ModelSource:
    """What the user named on the command line (or in the app's open dialog)."""

    model: str | None = None
    vocab: str | None = None
    target_vocab: str | None = None
    nonlinearity: str | None = None
    trust_pickle: bool = False
    factory: str | None = None

    def label(self) -> str:
        return self.model or self.factory or "model"


def open_model(source: ModelSource | str) -> Checkpoint:
    """Load what `source` names; raises CheckpointError with a one-line message."""
    if isinstance(source, str):
        source = ModelSource(source)
    if source.model is None:
        raise CheckpointError("no model given: name a checkpoint path or a zoo model")
    return load_checkpoint(source.model)
