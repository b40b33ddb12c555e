"""The step engine: exact, introspective stepping of recurrent models. Never imports textual."""

from __future__ import annotations

from inspector.engine.cells import GATES, LayerStep
from inspector.engine.model import InspectableModel, NativeModel
from inspector.engine.records import Intervention, LayerState, Output, State, StepRecord
from inspector.engine.session import BranchInfo, Feed, Intervene, Session
from models.checkpoint import Checkpoint

__all__ = [
    "GATES", "BranchInfo", "Feed", "InspectableModel", "Intervene", "Intervention", "LayerState",
    "LayerStep", "NativeModel", "Output", "Session", "State", "StepRecord", "inspectable",
]


def inspectable(checkpoint: Checkpoint):
    """The engine's view of a loaded checkpoint: a char/MLP model, or a seq2seq pair."""
    if checkpoint.kind == "seq2seq":
        from inspector.engine.seq2seq import Seq2SeqModel

        return Seq2SeqModel.from_checkpoint(checkpoint)
    return NativeModel(checkpoint.module, checkpoint.vocab, checkpoint.name, checkpoint.kind)
