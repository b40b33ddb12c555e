"""Safetensors files: rnn-inspect's own checkpoints (metadata under `rnn_inspect`) and plain
state_dicts saved with safetensors (recognised like torch.save ones)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from inspector.loading.torch import detect, restore_tied
from models.checkpoint import METADATA_KEY, Checkpoint, load_checkpoint, read_safetensors

if TYPE_CHECKING:
    from inspector.loading import ModelSource


def looks_like_safetensors(path: Path) -> bool:
    """A safetensors file under another suffix (a renamed `model.pt`): an 8-byte header length
    that fits the file, then the JSON header's `{`. torch files start with a zip or pickle magic."""
    try:
        with path.open("rb") as f:
            head = f.read(9)
        size = path.stat().st_size
    except OSError:  # torch.load meets the same error and reports it
        return False
    return len(head) == 9 and head[8:] == b"{" and int.from_bytes(head[:8], "little") <= size - 8


def load_safetensors(path: Path, source: ModelSource) -> Checkpoint:
    tensors, metadata = read_safetensors(path)
    if METADATA_KEY in metadata:
        return load_checkpoint(path)
    tied = restore_tied(tensors, metadata)
    return detect(path, tensors, source, "safetensors state_dict", None, tied)
