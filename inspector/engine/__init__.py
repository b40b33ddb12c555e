"""The step engine: exact, introspective stepping of recurrent models. Never imports textual."""

from __future__ import annotations

from inspector.engine.bulk import Trace, trace
from inspector.engine.cells import GATES, LayerStep
from inspector.engine.export import save_npz, trace_to_json, write_trace
from inspector.engine.model import InspectableModel, NativeModel
from inspector.engine.records import Intervention, LayerState, Output, State, StepRecord
from inspector.engine.seq2seq import Decode, Handoff, HandoffEdit, Seq2SeqModel, Seq2SeqSession
from inspector.engine.session import BranchInfo, Feed, Intervene, Session
from models.checkpoint import Checkpoint

__all__ = [
    "GATES", "BranchInfo", "Decode", "Feed", "Handoff", "HandoffEdit", "InspectableModel",
    "Intervene", "Intervention", "LayerState", "LayerStep", "NativeModel", "Output",
    "Seq2SeqModel", "Seq2SeqSession", "Session", "State", "StepRecord", "Trace", "inspectable",
    "save_npz", "trace", "trace_to_json", "write_trace",
]


def inspectable(checkpoint: Checkpoint):
    """The engine's view of a loaded checkpoint: a char/MLP model, or a seq2seq pair."""
    if checkpoint.inspectable is not None:  # built by the loader around the user's own forward
        return checkpoint.inspectable
    if checkpoint.kind == "seq2seq":
        return Seq2SeqModel.from_checkpoint(checkpoint)
    labels = checkpoint.meta.get("labels")
    return NativeModel(checkpoint.module, checkpoint.vocab, checkpoint.name, checkpoint.kind,
                       tuple(labels) if labels else None, checkpoint.meta.get("output", "logits"))

