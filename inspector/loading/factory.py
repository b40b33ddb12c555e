"""Models with their own forward: `--factory module:callable` and (opted in with
--trust-pickle) whole pickled modules, inspected through hooks on their recurrent layers.

Two steps run through the forward at load time, so a forward that does not follow the protocol
is a one-line error now rather than a traceback mid-session.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from inspector.loading.files import importable_cwd, read_labels, read_vocab
from inspector.loading.torch import torchscript_error
from models.checkpoint import Checkpoint, CheckpointError, first_line, nonfinite_warning
from models.vocab import BOS, EOS, CharVocab

if TYPE_CHECKING:
    from inspector.loading import ModelSource


def vocabularies(source: ModelSource) -> tuple[CharVocab | None, CharVocab | None]:
    """--vocab and --target-vocab with the start/end tokens of --bos/--eos; no --vocab means a
    model of real-valued inputs (a time series)."""
    tokens = {"bos": source.bos or BOS, "eos": source.eos or EOS}
    vocab = replace(read_vocab(source.vocab), **tokens) if source.vocab else None
    target = (replace(read_vocab(source.target_vocab, "--target-vocab"), **tokens)
              if source.target_vocab else None)
    return vocab, target


def from_module(path: Path, module: nn.Module, source: ModelSource) -> Checkpoint:
    """A whole pickled module (only reachable with --trust-pickle): inspected through its own
    forward, like a factory's."""
    if isinstance(module, torch.jit.ScriptModule):  # torch.load hands these to torch.jit.load
        raise torchscript_error(path)
    vocab, target = vocabularies(source)
    return hooked_checkpoint(path.stem, module, vocab, target, f"pickled module {path}", source)


def from_factory(source: ModelSource) -> Checkpoint:
    """`--factory module:callable`: import from the current directory or PYTHONPATH and call."""
    spec = source.factory
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise CheckpointError(f"--factory {spec}: expected module:callable, e.g. mymodels:build")
    vocab, target = vocabularies(source)
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
        if vocab is None:
            raise CheckpointError(f"--factory {spec}: a seq2seq pair needs --vocab FILE, a JSON "
                                  "list of the source's tokens in index order")
        return seq2seq_checkpoint(name, built[0], built[1], vocab, target, f"factory {spec}",
                                  source)
    if not isinstance(built, nn.Module):
        raise CheckpointError(f"--factory {spec}: returned {type(built).__name__}; expected an "
                              "nn.Module or an (encoder, decoder) pair")
    return hooked_checkpoint(name, built, vocab, target, f"factory {spec}", source)


def timeout(source: ModelSource) -> dict[str, float]:
    """--step-timeout, when given: how long one call of the user's forward may take."""
    return {"timeout": source.step_timeout} if source.step_timeout is not None else {}


def bidirectional(module: nn.Module) -> bool:
    return any(isinstance(m, nn.RNNBase) and m.bidirectional for m in module.modules())


def whole_model(module: nn.Module, vocab: CharVocab | None, name: str, origin: str, **options):
    """A model with a bidirectional layer, run over the whole input (engine.bidirectional),
    tried on a short input now so a forward off the protocol is one line at load time."""
    from inspector.engine.bidirectional import WholeModel

    if vocab is None:
        raise CheckpointError(f"{origin}: a bidirectional model takes tokens: pass --vocab FILE")
    try:
        model = WholeModel(module, vocab, name, **options)
        run = model.run([0, len(vocab) - 1, 0])
        if not model.has_head:
            model.handoff_state(run.hidden)
    except ValueError as exc:
        raise CheckpointError(f"{origin}: {exc}") from None
    except Exception as exc:  # the user's code: report it, never a traceback
        raise CheckpointError(f"{origin}: running its forward over a whole input failed "
                              f"({type(exc).__name__}: {first_line(exc)})") from None
    return model


def hooked_checkpoint(name: str, module: nn.Module, vocab: CharVocab | None,
                      target: CharVocab | None, origin: str, source: ModelSource) -> Checkpoint:
    from inspector.engine.hooked import HookedModel

    labels = tuple(read_labels(source.labels)) if source.labels else None
    if bidirectional(module):
        model = whole_model(module, vocab, name, origin, labels=labels, output=source.output)
    else:
        try:
            model = HookedModel(module, vocab, name, labels=labels, output=source.output,
                                **timeout(source))
        except ValueError as exc:
            raise CheckpointError(f"{origin}: {exc}") from None
        probe(model, origin)
    meta = {"kind": "char", "arch": {"cell": model.cell, "layers": model.n_layers,
                                     "hidden": model.hidden},
            "vocab": model.vocab.to_json(), "name": name,
            "detected": {"format": origin, **model.describe()}}
    if model.labels != model.vocab.tokens:
        meta["labels"] = list(model.labels)
    if model.dtypes:
        meta["detected"]["dtype"] = f"{', '.join(model.dtypes)} (computed in float32)"
    checkpoint = Checkpoint("char", module, model.vocab, meta, None, target, inspectable=model)
    checkpoint.warnings += nonfinite_warning(origin, module.state_dict())
    return checkpoint


def seq2seq_checkpoint(name: str, encoder: nn.Module, decoder: nn.Module, vocab: CharVocab,
                       target: CharVocab | None, origin: str, source: ModelSource) -> Checkpoint:
    from inspector.engine.hooked import hooked_pair
    from inspector.engine.seq2seq import Seq2SeqModel

    target_vocab = target or vocab
    for token in (target_vocab.bos, target_vocab.eos):
        if token not in target_vocab:
            raise CheckpointError(f"{origin}: the decoder's vocabulary has no {token!r}; decoding "
                                  f"starts at {target_vocab.bos} and stops at {target_vocab.eos}")
    if source.labels:
        raise CheckpointError(f"--labels {source.labels}: a seq2seq decoder's outputs are its "
                              "vocabulary; give them with --target-vocab FILE")
    if source.source_eos and vocab.eos not in vocab:
        raise CheckpointError(f"--source-eos: the source vocabulary has no {vocab.eos!r}")
    if bidirectional(encoder):
        halves = whole_pair(encoder, decoder, vocab, target_vocab, name, origin, source)
    else:
        try:
            halves = hooked_pair(encoder, decoder, vocab, target_vocab, name, source.output,
                                 **timeout(source))
        except ValueError as exc:
            raise CheckpointError(f"{origin}: {exc}") from None
        handoff = probe(halves[0], f"{origin} (encoder)")
        probe(halves[1], f"{origin} (decoder)", handoff)
    try:
        model = Seq2SeqModel(name, *halves, None, vocab, target_vocab,
                             source_eos=source.source_eos)
    except ValueError as exc:
        raise CheckpointError(f"{origin}: {exc}") from None
    meta = {"kind": "seq2seq", "arch": {"cell": model.encoder.cell,
                                        "layers": model.encoder.n_layers,
                                        "hidden": model.encoder.hidden},
            "vocab": vocab.to_json(), "name": name,
            "detected": {"format": origin,
                         **{f"encoder {k}": v for k, v in halves[0].describe().items()},
                         **{f"decoder {k}": v for k, v in halves[1].describe().items()},
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


def whole_pair(encoder: nn.Module, decoder: nn.Module, vocab: CharVocab, target: CharVocab,
               name: str, origin: str, source: ModelSource):
    """A bidirectional encoder (run over the whole source; its forward returns (outputs,
    hidden), and that hidden is what the decoder starts from, as the model's own code hands it
    over) and a decoder stepped through its own forward from it."""
    from inspector.engine.hooked import HookedModel

    enc = whole_model(encoder, vocab, f"{name}.encoder", f"{origin} (encoder)", head=False)
    run = enc.run([0, len(vocab) - 1])
    try:
        dec = HookedModel(decoder, target, f"{name}.decoder", output=source.output,
                          start=run.hidden, memory=run.memory, **timeout(source))
    except ValueError as exc:
        raise CheckpointError(f"{origin} (decoder): {exc}") from None
    probe(dec, f"{origin} (decoder)", enc.handoff_state(run.hidden))
    return enc, dec


def probe(model, origin: str, state=None):
    """Two steps through the user's forward now, so a forward that does not follow the protocol
    is a one-line error at load time rather than a traceback mid-session. Returns the state."""
    from inspector.engine.model import state_after

    state = model.initial_state() if state is None else state
    memory = {"memory": model.example_memory} if getattr(model, "attends", False) else {}
    vector = getattr(model, "input_form", None) == "vector"
    try:
        with np.errstate(all="ignore"):  # NaN weights are a warning of their own, not numpy's
            for _ in range(2):
                steps, _ = (model.step_vector(np.zeros(model.features, np.float32), state)
                            if vector else model.step(0, state, **memory))
                state = state_after(steps)
    except Exception as exc:  # the user's code: report it, never a traceback
        raise CheckpointError(f"{origin}: stepping its forward failed ({type(exc).__name__}: "
                              f"{first_line(exc)}); the protocol is forward(x_t, hidden) -> "
                              "(out, hidden), one token per call, hidden None at the start"
                              ) from None
    return state
