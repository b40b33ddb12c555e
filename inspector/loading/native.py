"""Safetensors files: rnn-inspect's own checkpoints (metadata under `rnn_inspect`) and plain
state_dicts saved with safetensors (recognised like torch.save ones)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError, safe_open

from inspector.loading.files import resolve
from inspector.loading.torch import detect, load_state, restore_tied
from models.checkpoint import (
    FORMAT_VERSION,
    KINDS,
    METADATA_KEY,
    Checkpoint,
    build_module,
    nonfinite_warning,
)
from models.errors import CheckpointError, first_line
from models.vocab import CharVocab

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


def read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors and the string metadata of a safetensors file, or a one-line CheckpointError."""
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except PermissionError:
        raise CheckpointError(f"{path}: permission denied") from None
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file "
                              f"({first_line(exc)})") from None
    return tensors, metadata


def parse_metadata(path: Path, raw: str) -> dict:
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: metadata {METADATA_KEY!r} is not valid JSON "
                              f"({exc})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: metadata {METADATA_KEY!r} is not a JSON object")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format_version {version!r} is not supported "
                              f"(this rnn-inspect reads {FORMAT_VERSION})")
    for key in ("kind", "arch", "vocab"):
        if key not in meta:
            raise CheckpointError(f"{path}: metadata has no {key!r}")
    if meta["kind"] not in KINDS:
        raise CheckpointError(f"{path}: kind {meta['kind']!r} is not one of {', '.join(KINDS)}")
    return meta


def load_checkpoint(model: str | Path) -> Checkpoint:
    """Load a native checkpoint by path or zoo name."""
    path = resolve(model)
    tensors, metadata = read_safetensors(path)
    if METADATA_KEY not in metadata:
        raise CheckpointError(f"{path}: no rnn-inspect metadata; for a plain state_dict pass "
                              "--vocab FILE")
    meta = parse_metadata(path, metadata[METADATA_KEY])
    try:
        vocab = CharVocab(meta["vocab"])
        target_vocab = CharVocab(meta["target_vocab"]) if "target_vocab" in meta else None
        module = build_module(meta["kind"], meta["arch"], len(vocab),
                              len(target_vocab) if target_vocab else None,
                              meta.get("bridge", "identity"))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: metadata does not describe a model ({exc})") from None
    load_state(path, module, tensors)
    module.eval()
    checkpoint = Checkpoint(meta["kind"], module, vocab, meta, path, target_vocab)
    checkpoint.warnings += nonfinite_warning(str(path), tensors)
    return checkpoint
