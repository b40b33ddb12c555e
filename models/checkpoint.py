"""Native checkpoints: one `.safetensors` file, metadata under `__metadata__["rnn_inspect"]`.

The JSON metadata carries everything needed to rebuild the module (kind, arch, vocabulary) plus
the task and training facts, so `rnn-inspect info` needs nothing but the file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from models.atomic import write_with
from models.char_rnn import CharRNN, CharRNNConfig
from models.errors import CheckpointError, first_line
from models.mlp import MLPBaseline, MLPConfig
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.vocab import CharVocab

FORMAT_VERSION = 1
METADATA_KEY = "rnn_inspect"
KINDS = ("char", "seq2seq", "mlp")
ZOO_DIR = Path(__file__).parent / "zoo"


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


def zoo_names() -> list[str]:
    return sorted(p.stem for p in ZOO_DIR.glob("*.safetensors"))


def resolve(model: str | Path) -> Path:
    """A path as given, or a zoo name (`doubled-lstm`) -> its bundled file."""
    path = Path(model)
    if path.exists() or path.suffix or "/" in str(model):
        return path
    zoo = ZOO_DIR / f"{model}.safetensors"
    if zoo.exists():
        return zoo
    known = ", ".join(zoo_names()) or "none"
    raise CheckpointError(f"{model}: no such file and no zoo model of that name (zoo: {known})")


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
                 train: dict | None = None, target_vocab: CharVocab | None = None) -> dict:
    meta: dict[str, Any] = {"format_version": FORMAT_VERSION, "kind": kind,
                            "arch": module.config.arch(), "vocab": vocab.to_json()}
    if kind == "seq2seq":
        meta["bridge"] = module.config.bridge
        if target_vocab is not None and target_vocab != vocab:
            meta["target_vocab"] = target_vocab.to_json()
    if task is not None:
        meta["task"] = task
    if train is not None:
        meta["train"] = train
    return meta


def save_checkpoint(path: str | Path, kind: str, module: nn.Module, vocab: CharVocab, *,
                    task: str | None = None, train: dict | None = None,
                    target_vocab: CharVocab | None = None) -> Path:
    meta = metadata_for(kind, module, vocab, task=task, train=train, target_vocab=target_vocab)
    tensors = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    # Atomic and never over a device: safetensors would rename its own temp file over anything.
    return write_with(path, lambda tmp: save_file(tensors, str(tmp),
                                                  metadata={METADATA_KEY: json.dumps(meta)}))


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


def nonfinite_warning(origin: str, tensors: dict[str, torch.Tensor]) -> list[str]:
    """NaN/Inf weights are not an error (the user may be hunting them), but they are named."""
    bad = [k for k, v in tensors.items()
           if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    return [f"{origin}: NaN/Inf values in {', '.join(bad)}"] if bad else []


def load_state(path: Path, module: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Load tensors into a module, with one-line errors for missing, extra or misshapen keys."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing:
        raise CheckpointError(f"{path}: missing tensors {', '.join(missing)}")
    if extra:
        raise CheckpointError(f"{path}: unexpected tensors {', '.join(extra)}")
    for key, want in expected.items():
        got = tensors[key]
        if tuple(got.shape) != tuple(want.shape):
            raise CheckpointError(f"{path}: tensor {key} has shape {tuple(got.shape)}, "
                                  f"the metadata's architecture needs {tuple(want.shape)}")
    module.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()})


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


def describe(checkpoint: Checkpoint) -> list[str]:
    """Human lines for `rnn-inspect info`."""
    meta = checkpoint.meta
    arch = meta.get("arch", {})
    lines = [f"model      {checkpoint.name} ({checkpoint.path})" if checkpoint.path
             else f"model      {checkpoint.name}",
             f"kind       {checkpoint.kind}",
             "arch       " + ", ".join(f"{k}={v}" for k, v in arch.items())]
    if checkpoint.kind == "seq2seq":
        lines.append(f"bridge     {meta.get('bridge', 'identity')}")
    lines.append(f"parameters {checkpoint.parameter_count():,}")
    lines.append(f"vocab      {len(checkpoint.vocab)} tokens: {_vocab_preview(checkpoint.vocab)}")
    if checkpoint.target_vocab is not None:
        lines.append(f"target     {len(checkpoint.target_vocab)} tokens: "
                     f"{_vocab_preview(checkpoint.target_vocab)}")
    if "task" in meta:
        lines.append(f"task       {meta['task']}")
    for key, value in meta.get("train", {}).items():
        if isinstance(value, float) and math.isfinite(value):
            value = f"{value:.4g}"
        lines.append(f"train.{key:<5} {value}")
    for key, value in meta.get("detected", {}).items():
        lines.append(f"detected   {key}: {value}")
    return lines


def _vocab_preview(vocab: CharVocab, limit: int = 40) -> str:
    shown = " ".join(repr(t)[1:-1] if len(t) == 1 else t for t in vocab.tokens[:limit])
    return shown + (f" … (+{len(vocab) - limit})" if len(vocab) > limit else "")
