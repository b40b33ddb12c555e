"""Where every command opens a model: native checkpoints, zoo names, foreign state_dicts, user
factories and (opted in) whole pickled modules.

One entry point, `open_model`, and one options carrier, `ModelSource`, so the TUI, `trace` and
`info` accept exactly the same things and fail with exactly the same one-line errors
(CheckpointError). Each format lives in its own module, imported when a file needs it: importing
this package costs no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.errors import CheckpointError

if TYPE_CHECKING:
    from models.checkpoint import Checkpoint

__all__ = ["CheckpointError", "ModelSource", "open_model"]


@dataclass(frozen=True)
class ModelSource:
    """What the user named on the command line (or in the app's open dialog): the file, and what
    a foreign file cannot say about itself."""

    model: str | None = None
    vocab: str | None = None
    target_vocab: str | None = None
    nonlinearity: str | None = None
    trust_pickle: bool = False
    factory: str | None = None
    labels: str | None = None  # JSON list naming a head's outputs when they are not the vocab
    decoder: str | None = None  # a seq2seq decoder saved in its own file
    bos: str | None = None  # the token decoding starts from (default <s>)
    eos: str | None = None  # the token decoding stops at (default </s>)
    output: str | None = None  # "raw": the head's values are not a distribution
    source_eos: bool = False  # a seq2seq source gets the end token appended, as it was trained
    step_timeout: float | None = None  # s a user's forward may take per call (default: 5)

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
    if checkpoint.inspectable is None:  # the factory route applies these itself
        if source.labels is not None:
            if checkpoint.kind == "seq2seq":
                raise CheckpointError(f"--labels {source.labels}: a seq2seq decoder's outputs are "
                                      "its vocabulary; give them with --target-vocab FILE")
            attach_labels(checkpoint, source.labels)
        head_options(checkpoint, source)
    return checkpoint


def attach_labels(checkpoint: Checkpoint, path: str) -> None:
    """--labels names the head's outputs (DESIGN: metadata `labels`), checked against its size."""
    from inspector.loading.files import read_labels

    labels = read_labels(path)
    stored = checkpoint.meta.get("labels")
    if stored is not None and list(stored) != labels:
        raise CheckpointError(f"--labels {path} differs from the labels stored in "
                              f"{checkpoint.name} ({len(stored)} labels); drop --labels or fix it")
    head = getattr(checkpoint.module, "head", None)
    outputs = getattr(head, "out_features", None)
    if outputs is not None and outputs != len(labels):
        raise CheckpointError(f"{path}: --labels names {len(labels)} outputs, the head of "
                              f"{checkpoint.name} has {outputs}")
    checkpoint.meta["labels"] = labels


def head_options(checkpoint: Checkpoint, source: ModelSource) -> None:
    """--output and --source-eos for a model the engine steps from its weights: kept in the
    checkpoint's description, which the engine reads."""
    if source.source_eos:
        if checkpoint.kind != "seq2seq":
            raise CheckpointError(f"--source-eos: {checkpoint.name} is not a seq2seq model")
        if checkpoint.vocab.eos not in checkpoint.vocab:
            raise CheckpointError(f"--source-eos: the source vocabulary has no "
                                  f"{checkpoint.vocab.eos!r}")
        checkpoint.meta["source_eos"] = True
    if source.output:
        checkpoint.meta["output"] = source.output


def load(source: ModelSource) -> Checkpoint:
    """Dispatch on what the file is, by its first bytes (and a zip's entry names), not by its
    name: native safetensors, torch.save files, Keras, numpy, ONNX, or a module (a factory's, or
    unpickled with --trust-pickle). The file is recognised from one read of its head."""
    from inspector.loading import factory, files

    if source.factory is not None:
        if source.model is not None:
            raise CheckpointError(f"{source.model}: pass either MODEL or --factory "
                                  f"{source.factory}, not both (the factory loads its own weights)")
        return factory.from_factory(source)
    if source.model is None:
        raise CheckpointError("no model given: name a checkpoint path or a zoo model")
    path = files.readable_file(source.model)
    head = files.read_head(path)
    kind = files.kind_of(path, head)
    if kind == "safetensors":
        from inspector.loading import native

        return native.load_safetensors(path, source)
    if kind in ("keras", "hdf5"):
        from inspector.loading import keras

        return keras.load_keras(path, source, head)
    if kind == "npz":
        from inspector.loading import numpy

        return numpy.load_npz(path, source)
    if kind == "pickle":
        from inspector.loading import numpy

        return numpy.load_pickle(path, source)
    if kind == "onnx":
        from inspector.loading import onnx

        return onnx.load_onnx(path, source)
    from inspector.loading import torch as torch_files

    if kind == "torchscript":
        raise torch_files.torchscript_error(path)
    return torch_files.load_torch(path, source)
