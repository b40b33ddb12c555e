"""Native checkpoints: one `.safetensors` file, metadata under `__metadata__["rnn_inspect"]`.

The JSON metadata carries everything needed to rebuild the module (kind, arch, vocabulary) plus
the task and training facts, so `rnn-inspect info` needs nothing but the file. Saving lives here;
reading, with every check a file from elsewhere needs, lives in `inspector/loading`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from models.atomic import write_with
from models.char_rnn import CharRNN, CharRNNConfig
from models.errors import CheckpointError, first_line, printable
from models.mlp import MLPBaseline, MLPConfig
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.vocab import CharVocab

__all__ = ["FORMAT_VERSION", "KINDS", "METADATA_KEY", "Checkpoint", "CheckpointError",
           "build_module", "describe", "first_line", "metadata_for", "nonfinite_warning",
           "save_checkpoint"]  # the errors are models.errors', re-exported for older imports

FORMAT_VERSION = 1
METADATA_KEY = "rnn_inspect"
KINDS = ("char", "seq2seq", "mlp")


@dataclass
class Checkpoint:
    """A loaded model with what the file says about it."""

    kind: str  # char | seq2seq | mlp
    module: nn.Module
    vocab: CharVocab
    meta: dict[str, Any]
    path: Path | None = None
    target_vocab: CharVocab | None = None
    warnings: list[str] = field(default_factory=list)
    inspectable: Any = None  # set when the module has its own forward (a user factory)

    @property
    def name(self) -> str:
        return self.path.stem if self.path else str(self.meta.get("name", "model"))

    @property
    def decoder_vocab(self) -> CharVocab:
        return self.target_vocab or self.vocab

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.module.parameters())


def build_module(kind: str, arch: dict, vocab_size: int, target_vocab_size: int | None = None,
                 bridge: str = "identity") -> nn.Module:
    """An untrained module of the shape the metadata describes."""
    if kind == "char":
        return CharRNN(CharRNNConfig(vocab_size, arch["cell"], int(arch["layers"]),
                                     int(arch["hidden"]), int(arch.get("embed") or 0),
                                     arch.get("nonlinearity", "tanh"),
                                     bool(arch.get("bias", True))))
    if kind == "mlp":
        return MLPBaseline(MLPConfig(vocab_size, int(arch["embed"]), int(arch["hidden"])))
    if kind == "seq2seq":
        return Seq2Seq(Seq2SeqConfig(vocab_size, target_vocab_size or vocab_size, arch["cell"],
                                     int(arch["layers"]), int(arch["hidden"]), int(arch["embed"]),
                                     bridge))
    raise ValueError(f"unknown model kind {kind!r}")


def metadata_for(kind: str, module: nn.Module, vocab: CharVocab, *, task: str | None = None,
                 train: dict | None = None, target_vocab: CharVocab | None = None,
                 tokens: str | None = None) -> dict:
    meta: dict[str, Any] = {"format_version": FORMAT_VERSION, "kind": kind,
                            "arch": module.config.arch(), "vocab": vocab.to_json()}
    if kind == "seq2seq":
        meta["bridge"] = module.config.bridge
        if target_vocab is not None and target_vocab != vocab:
            meta["target_vocab"] = target_vocab.to_json()
    if tokens is not None:
        meta["tokens"] = tokens
    if task is not None:
        meta["task"] = task
    if train is not None:
        meta["train"] = train
    return meta


def save_checkpoint(path: str | Path, kind: str, module: nn.Module, vocab: CharVocab, *,
                    task: str | None = None, train: dict | None = None,
                    target_vocab: CharVocab | None = None, tokens: str | None = None) -> Path:
    meta = metadata_for(kind, module, vocab, task=task, train=train, target_vocab=target_vocab,
                        tokens=tokens)
    tensors = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    # Atomic and never over a device: safetensors would rename its own temp file over anything.
    return write_with(path, lambda tmp: save_file(tensors, str(tmp),
                                                  metadata={METADATA_KEY: json.dumps(meta)}))


def nonfinite_warning(origin: str, tensors: dict[str, torch.Tensor]) -> list[str]:
    """NaN/Inf weights are not an error (the user may be hunting them), but they are named."""
    bad = [k for k, v in tensors.items()
           if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    return [f"{origin}: NaN/Inf values in {', '.join(bad)}"] if bad else []


def describe(checkpoint: Checkpoint) -> list[str]:
    """Human lines for `rnn-inspect info`: how the file was read (format, route, assumptions,
    dtype), then what it holds. Text from the file is escaped: it cannot clear the terminal."""
    meta = checkpoint.meta
    detected = meta.get("detected", {})
    arch = meta.get("arch", {})
    lines = [f"model      {checkpoint.name} ({checkpoint.path})" if checkpoint.path
             else f"model      {checkpoint.name}",
             f"format     {detected.get('format', 'rnn-inspect checkpoint (.safetensors)')}",
             f"route      {route(checkpoint)}",
             f"dtype      {detected.get('dtype', dtype_of(checkpoint.module))}"]
    assumed = [f"{key}: {value}" for key, value in detected.items()
               if "assumes" in str(value)]
    prefix = f"{checkpoint.path}: "
    assumed += [line.removeprefix(prefix).removeprefix("assumes ") for line in checkpoint.warnings
                if line.startswith(prefix) and " assumes its forward " in f" {line}"]
    lines += [f"assumes    {line}" for line in assumed] or [
        "assumes    nothing: the file states all it is read by"]
    lines += [f"kind       {checkpoint.kind}",
              "arch       " + ", ".join(f"{k}={v}" for k, v in arch.items())]
    if checkpoint.kind == "seq2seq":
        lines.append(f"bridge     {meta.get('bridge', 'identity')}")
    lines.append(f"parameters {checkpoint.parameter_count():,}")
    lines.append(f"vocab      {len(checkpoint.vocab)} tokens: {_vocab_preview(checkpoint.vocab)}")
    if checkpoint.target_vocab is not None:
        lines.append(f"target     {len(checkpoint.target_vocab)} tokens: "
                     f"{_vocab_preview(checkpoint.target_vocab)}")
    if "labels" in meta:
        shown = " ".join(meta["labels"][:20]) + (" …" if len(meta["labels"]) > 20 else "")
        lines.append(f"labels     {len(meta['labels'])} outputs: {shown}")
    if "task" in meta:
        lines.append(f"task       {meta['task']}")
    if "tokens" in meta:
        lines.append(f"tokens     {meta['tokens']}")
    for key, value in _flat(meta.get("train", {})):
        if isinstance(value, float) and math.isfinite(value):
            value = f"{value:.4g}"
        lines.append(f"train.{key:<5} {value}")
    for key, value in detected.items():
        if key not in ("format", "dtype"):
            lines.append(f"detected   {key}: {value}")
    return [printable(line) for line in lines]


def route(checkpoint: Checkpoint) -> str:
    """How the numbers are computed: the engine's exact step, or the model's own forward."""
    if "route" in checkpoint.meta:
        return str(checkpoint.meta["route"])
    if checkpoint.inspectable is not None:
        return "its own forward, read by hooks on its recurrent layers"
    if "detected" not in checkpoint.meta:
        return "native: rebuilt from its metadata, stepped exactly"
    cell = str(checkpoint.meta.get("arch", {}).get("cell", "rnn")).upper()
    return f"mapped onto nn.{cell} with PyTorch's names and gate order, stepped exactly"


def dtype_of(module: nn.Module) -> str:
    dtypes = sorted({str(p.dtype).removeprefix("torch.") for p in module.parameters()})
    return ", ".join(dtypes) or "float32"


def _flat(block: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested training facts (`holdout.token_accuracy`) as dotted keys, one line each."""
    out = []
    for key, value in block.items():
        if isinstance(value, dict):
            out += _flat(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def _vocab_preview(vocab: CharVocab, limit: int = 40) -> str:
    shown = " ".join(repr(t)[1:-1] if len(t) == 1 else t for t in vocab.tokens[:limit])
    return shown + (f" … (+{len(vocab) - limit})" if len(vocab) > limit else "")
