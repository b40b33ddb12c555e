"""Where every command opens a model: native checkpoints, zoo names, foreign state_dicts, user
factories and (opted in) whole pickled modules.

One entry point, `open_model`, so the TUI, `trace` and `info` accept exactly the same things and
fail with exactly the same one-line errors (CheckpointError).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from inspector.foreign import (
    Options,
    detect,
    importable_cwd,
    read_vocab,
    restore_tied,
    torch_load,
    torchscript_error,
    unwrap,
)
from models.checkpoint import (
    METADATA_KEY,
    Checkpoint,
    CheckpointError,
    first_line,
    load_checkpoint,
    nonfinite_warning,
    read_safetensors,
    resolve,
)
from models.vocab import CharVocab

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
    checkpoint = load(source)
    if source.target_vocab is not None and checkpoint.kind != "seq2seq":
        raise CheckpointError(f"--target-vocab {source.target_vocab}: {checkpoint.name} is not a "
                              "seq2seq model, so there is no decoder to give it to")
    return checkpoint


def load(source: ModelSource) -> Checkpoint:
    """Dispatch on what the file is (by content, not only by name): native safetensors, a plain
    state_dict in either format, or a module (a factory's, or unpickled with --trust-pickle)."""
    if source.factory is not None:
        if source.model is not None:
            raise CheckpointError(f"{source.model}: pass either MODEL or --factory "
                                  f"{source.factory}, not both (the factory loads its own weights)")
        return from_factory(source)
    if source.model is None:
        raise CheckpointError("no model given: name a checkpoint path or a zoo model")
    path = readable_file(source.model)
    options = Options(source.vocab, source.nonlinearity, source.target_vocab)
    if path.suffix == ".safetensors" or looks_like_safetensors(path):
        tensors, metadata = read_safetensors(path)
        if METADATA_KEY in metadata:
            return load_checkpoint(path)
        tied = restore_tied(tensors, metadata)
        return detect(path, tensors, options, "safetensors state_dict", None, tied)
    content, wrapper = unwrap(path, torch_load(path, source.trust_pickle))
    if isinstance(content, nn.Module):
        checkpoint = from_module(path, content, source)
    else:
        kind = f"PyTorch state_dict ({path.suffix or 'no suffix'})"
        checkpoint = detect(path, dict(content), options, kind, wrapper, [])
    if source.trust_pickle:  # a warning like the others: stderr for commands, a note in the TUI
        checkpoint.warnings.insert(0, f"{path}: unpickled with --trust-pickle, which runs code "
                                      "from the file; do this only for files you made")
    return checkpoint


def readable_file(model: str) -> Path:
    """The file `model` names (a path or a zoo name), or a one-line error for every way it can
    fail to be one: asking the file system can itself fail (a directory on the way that may not
    be entered, a name too long), and that is an error message too, not a traceback."""
    try:
        path = resolve(model)
        if not path.exists():
            raise CheckpointError(f"{path}: no such file")
        if path.is_dir():
            raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
        if not os.access(path, os.R_OK):
            raise CheckpointError(f"{path}: permission denied")
    except PermissionError:
        raise CheckpointError(f"{model}: permission denied (a directory on the way cannot be "
                              "entered)") from None
    except OSError as exc:
        shown = model if len(model) <= 200 else f"{model[:100]}…{model[-100:]}"
        raise CheckpointError(f"{shown}: cannot open ({exc.strerror or first_line(exc)})"
                              ) from None
    return path


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


def vocabularies(source: ModelSource, label: str) -> tuple[CharVocab, CharVocab | None]:
    if source.vocab is None:
        raise CheckpointError(f"{label}: pass --vocab FILE, a JSON list of the model's tokens in "
                              "index order")
    vocab = read_vocab(source.vocab)
    target = read_vocab(source.target_vocab, "--target-vocab") if source.target_vocab else None
    return vocab, target


def from_module(path: Path, module: nn.Module, source: ModelSource) -> Checkpoint:
    """A whole pickled module (only reachable with --trust-pickle): inspected through its own
    forward, like a factory's."""
    if isinstance(module, torch.jit.ScriptModule):  # torch.load hands these to torch.jit.load
        raise torchscript_error(path)
    vocab, target = vocabularies(source, str(path))
    return hooked_checkpoint(path.stem, module, vocab, target, f"pickled module {path}")


def from_factory(source: ModelSource) -> Checkpoint:
    """`--factory module:callable`: import from the current directory or PYTHONPATH and call."""
    spec = source.factory
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise CheckpointError(f"--factory {spec}: expected module:callable, e.g. mymodels:build")
    vocab, target = vocabularies(source, f"--factory {spec}")
    importable_cwd()
    try:
        user_module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module runs on import: a SyntaxError, anything
        reason = str(exc) if isinstance(exc, ImportError) else f"{type(exc).__name__}: " \
            f"{first_line(exc)}"
        raise CheckpointError(f"--factory {spec}: cannot import {module_name} ({reason})"
                              ) from None
    factory = getattr(user_module, attr, None)
    if not callable(factory):
        raise CheckpointError(f"--factory {spec}: {module_name} has no callable {attr!r}")
    try:
        built = factory()
    except Exception as exc:  # the user's code: report it, never a traceback
        raise CheckpointError(f"--factory {spec}: the factory raised {type(exc).__name__}: "
                              f"{first_line(exc)}") from None
    name = attr if attr != "build" else module_name
    if isinstance(built, tuple) and len(built) == 2 and all(isinstance(m, nn.Module)
                                                            for m in built):
        return seq2seq_checkpoint(name, built[0], built[1], vocab, target, f"factory {spec}")
    if not isinstance(built, nn.Module):
        raise CheckpointError(f"--factory {spec}: returned {type(built).__name__}; expected an "
                              "nn.Module or an (encoder, decoder) pair")
    return hooked_checkpoint(name, built, vocab, target, f"factory {spec}")


def hooked_checkpoint(name: str, module: nn.Module, vocab: CharVocab, target: CharVocab | None,
                      origin: str) -> Checkpoint:
    from inspector.engine.adapters import HookedModel

    try:
        model = HookedModel(module, vocab, name)
    except ValueError as exc:
        raise CheckpointError(f"{origin}: {exc}") from None
    probe(model, origin)
    meta = {"kind": "char", "arch": {"cell": model.cell, "layers": model.n_layers,
                                     "hidden": model.hidden},
            "vocab": vocab.to_json(), "name": name,
            "detected": {"format": origin, "recurrent": recurrent_summary(model)}}
    if model.dtypes:
        meta["detected"]["dtype"] = f"{', '.join(model.dtypes)} (computed in float32)"
    checkpoint = Checkpoint("char", module, vocab, meta, None, target, inspectable=model)
    checkpoint.warnings += nonfinite_warning(origin, module.state_dict())
    return checkpoint


def seq2seq_checkpoint(name: str, encoder: nn.Module, decoder: nn.Module, vocab: CharVocab,
                       target: CharVocab | None, origin: str) -> Checkpoint:
    from inspector.engine.adapters import HookedModel
    from inspector.engine.seq2seq import Bridge, Seq2SeqModel

    target_vocab = target or vocab
    for token in ("<s>", "</s>"):
        if token not in target_vocab:
            raise CheckpointError(f"{origin}: the decoder's vocabulary has no {token!r}; decoding "
                                  "starts at <s> and stops at </s>")
    try:
        halves = (HookedModel(encoder, vocab, f"{name}.encoder", head=False),
                  HookedModel(decoder, target_vocab, f"{name}.decoder"))
    except ValueError as exc:
        raise CheckpointError(f"{origin}: {exc}") from None
    handoff = probe(halves[0], f"{origin} (encoder)")
    probe(halves[1], f"{origin} (decoder)", handoff)
    try:
        model = Seq2SeqModel(name, *halves, Bridge(), vocab, target_vocab)
    except ValueError as exc:
        raise CheckpointError(f"{origin}: {exc}") from None
    meta = {"kind": "seq2seq", "arch": {"cell": model.encoder.cell,
                                        "layers": model.encoder.n_layers,
                                        "hidden": model.encoder.hidden},
            "vocab": vocab.to_json(), "name": name,
            "detected": {"format": origin, "encoder": recurrent_summary(halves[0]),
                         "decoder": recurrent_summary(halves[1]),
                         "bridge": "identity (encoder's final hidden)"}}
    dtypes = sorted(set(halves[0].dtypes) | set(halves[1].dtypes))
    if dtypes:
        meta["detected"]["dtype"] = f"{', '.join(dtypes)} (computed in float32)"
    checkpoint = Checkpoint("seq2seq", nn.ModuleList([encoder, decoder]), vocab, meta, None,
                            target, inspectable=model)
    checkpoint.warnings += nonfinite_warning(origin, {
        f"{half}.{key}": value for half, module in (("encoder", encoder), ("decoder", decoder))
        for key, value in module.state_dict().items()})
    return checkpoint


def recurrent_summary(model) -> str:
    """What `info` says about a hooked model's recurrent layer."""
    return (f"{model.cell.upper()} {model.rnn_name or '(root)'}, {model.n_layers} layer(s), "
            f"hidden {model.hidden}")


def probe(model, origin: str, state=None):
    """Two steps through the user's forward now, so a forward that does not follow the protocol
    is a one-line error at load time rather than a traceback mid-session. Returns the state."""
    from inspector.engine.model import state_after

    state = model.initial_state() if state is None else state
    try:
        with np.errstate(all="ignore"):  # NaN weights are a warning of their own, not numpy's
            for _ in range(2):
                steps, _ = model.step(0, state)
                state = state_after(steps)
    except Exception as exc:  # the user's code: report it, never a traceback
        raise CheckpointError(f"{origin}: stepping its forward failed ({type(exc).__name__}: "
                              f"{first_line(exc)}); the protocol is forward(x_t, hidden) -> "
                              "(out, hidden), one token per call, hidden None at the start"
                              ) from None
    return state
