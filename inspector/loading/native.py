"""Safetensors files: rnn-inspect's own checkpoints (metadata under `rnn_inspect`) and plain
state_dicts saved with safetensors (recognised like torch.save ones)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError, safe_open

from inspector.loading.files import read_json_text, resolve
from inspector.loading.torch import detect, load_state, restore_tied, vocab_of
from models.checkpoint import (
    FORMAT_VERSION,
    KINDS,
    METADATA_KEY,
    Checkpoint,
    build_module,
    nonfinite_warning,
)
from models.errors import CheckpointError, first_line

if TYPE_CHECKING:
    from inspector.loading import ModelSource


def load_safetensors(path: Path, source: ModelSource) -> Checkpoint:
    tensors, metadata = read_safetensors(path)
    if METADATA_KEY in metadata:
        return from_tensors(path, tensors, metadata)
    tied = restore_tied(tensors, metadata)
    return detect(path, tensors, source, "safetensors state_dict", None, tied)


def read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors and the string metadata of a safetensors file, or a one-line CheckpointError.
    The library checks the header against the file (offsets, sizes) before reading a tensor."""
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
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file "
                              f"({first_line(exc)})") from None
    return tensors, metadata


def is_count(value: Any, low: int = 0, high: int = 1 << 24) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def token_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(t, str) for t in value)


def parse_metadata(path: Path, raw: str) -> dict:
    """The `rnn_inspect` JSON, every field the loader uses checked for its type and range before
    anything is built from it."""
    meta = read_json_text(path, raw, f"metadata {METADATA_KEY!r}")
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: metadata {METADATA_KEY!r} is not a JSON object")
    version = meta.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise CheckpointError(f"{path}: format_version {version!r} is not supported "
                              f"(this rnn-inspect reads {FORMAT_VERSION})")
    for key in ("kind", "arch", "vocab"):
        if key not in meta:
            raise CheckpointError(f"{path}: metadata has no {key!r}")
    if meta["kind"] not in KINDS:
        raise CheckpointError(f"{path}: kind {meta['kind']!r} is not one of {', '.join(KINDS)}")
    arch = meta["arch"]
    if not isinstance(arch, dict):
        raise CheckpointError(f"{path}: metadata arch is not a JSON object")
    checks = {"layers": (1, 8), "hidden": (1, 1 << 16), "embed": (0, 1 << 16)}
    for key, (low, high) in checks.items():
        if key in arch and not is_count(arch[key], low, high):
            raise CheckpointError(f"{path}: metadata arch.{key} is {arch[key]!r}; expected a "
                                  f"whole number from {low} to {high}")
    for key in ("vocab", "target_vocab", "labels"):
        if key in meta and not token_list(meta[key]):
            raise CheckpointError(f"{path}: metadata {key} must be a JSON list of strings")
    for key, kind in (("task", str), ("train", dict), ("bridge", str), ("tokens", str)):
        if key in meta and not isinstance(meta[key], kind):
            raise CheckpointError(f"{path}: metadata {key} must be a JSON {kind.__name__}, not "
                                  f"{type(meta[key]).__name__}")
    return meta


def load_checkpoint(model: str | Path) -> Checkpoint:
    """Load a native checkpoint by path or zoo name."""
    path = resolve(model)
    tensors, metadata = read_safetensors(path)
    if METADATA_KEY not in metadata:
        raise CheckpointError(f"{path}: no rnn-inspect metadata; for a plain state_dict pass "
                              "--vocab FILE")
    return from_tensors(path, tensors, metadata)


def check_sizes(path: Path, meta: dict, vocab: int, target: int,
                tensors: dict[str, torch.Tensor]) -> None:
    """Before any module is built: the largest matrices the metadata implies (the head's
    hidden x vocab, the embedding, a recurrent layer's hidden x hidden) must fit in the weights
    the file holds. Then what is built is at most a few dozen times the file, never gigabytes
    from a kilobyte file; load_state checks every shape exactly afterwards."""
    arch = meta["arch"]
    hidden, embed = int(arch.get("hidden", 0)), int(arch.get("embed") or 0)
    needed = max(hidden * target, embed * vocab, embed * hidden,
                 hidden * hidden if meta["kind"] != "mlp" else 0)
    held = sum(t.numel() for t in tensors.values())
    if needed > held:
        raise CheckpointError(f"{path}: the metadata describes matrices of {needed:,} weights "
                              f"(hidden {hidden}, embed {embed}, {vocab} tokens) but the file "
                              f"holds {held:,} in all")


def from_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]
                 ) -> Checkpoint:
    """A native checkpoint from its tensors: the metadata's sizes are checked against the
    tensors first, so a small file claiming a huge model costs nothing."""
    meta = parse_metadata(path, metadata[METADATA_KEY])
    try:
        vocab = vocab_of(path, meta["vocab"], "metadata vocab")
        target_vocab = (vocab_of(path, meta["target_vocab"], "metadata target_vocab")
                        if "target_vocab" in meta else None)
        check_sizes(path, meta, len(vocab), len(target_vocab or vocab), tensors)
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
