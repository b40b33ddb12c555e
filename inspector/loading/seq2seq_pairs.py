"""Foreign seq2seq state_dicts: two recurrent stacks, an encoder (embedding + RNN) and a decoder
(embedding + RNN + Linear head), as the common PyTorch seq2seq tutorials save them
(`encoder.embedding`, `encoder.rnn`, `decoder.embedding`, `decoder.rnn`, `decoder.fc_out`).

Renamed onto our `Seq2Seq` with the identity bridge (the encoder's final state is the decoder's
first), so the engine steps it natively. Which stack is which is read from the names: the decoder
is the stack that shares its module path with the head. Anything else is refused with one line.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from inspector.loading.files import read_vocab
from inspector.loading.torch import Stack, assumption, choose_vocab, find_head, load_state
from models.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    CheckpointError,
    nonfinite_warning,
)
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.vocab import BOS, EOS, CharVocab

if TYPE_CHECKING:
    from inspector.loading import ModelSource

FACTORY_HINT = "open the pair with --factory module:callable"


def side_of(key: str, encoder: Stack, decoder: Stack) -> Stack | None:
    """The stack a tensor belongs with: the one whose key prefix it shares more of."""
    shared = [len(os.path.commonprefix([key, stack.prefix])) for stack in (encoder, decoder)]
    if shared[0] == shared[1]:
        return None
    return encoder if shared[0] > shared[1] else decoder


def detect_pair(path: Path, tensors: dict[str, torch.Tensor], stacks: list[Stack],
                options: ModelSource, source: str, wrapper: str | None, tied: list[str], *,
                facts: dict[str, str] | None = None, vocab: list[str] | None = None
                ) -> Checkpoint:
    """Recognise encoder + decoder; rename onto Seq2Seq and load. Each side has an embedding of
    the same width, or both are one-hot (then each side's width is its own vocabulary's size)."""
    first, second = stacks
    for field in ("cell", "layers", "hidden", "bias"):
        if getattr(first, field) != getattr(second, field):
            raise CheckpointError(
                f"{path}: two recurrent stacks ({first.prefix}*, {second.prefix}*) with different "
                f"{field} ({getattr(first, field)} vs {getattr(second, field)}); a seq2seq "
                f"state_dict needs the same shape on both sides, else {FACTORY_HINT}")
    if not first.bias:
        raise CheckpointError(f"{path}: recurrent stacks without biases are not supported in a "
                              f"seq2seq state_dict; {FACTORY_HINT}")
    if options.nonlinearity == "relu":
        raise CheckpointError(f"{path}: relu recurrent layers are not supported in a seq2seq "
                              f"state_dict; {FACTORY_HINT}")
    rnn_keys = set(first.keys | second.keys)
    head = find_head(path, tensors, rnn_keys, first.hidden)
    decoder = side_of(head, first, second)
    if decoder is None:
        raise CheckpointError(f"{path}: cannot tell whether the head {head} belongs to "
                              f"{first.prefix}* or {second.prefix}*; {FACTORY_HINT}")
    encoder = first if decoder is second else second
    head_bias = f"{head[:-len('weight')]}bias"
    used = rnn_keys | {head, head_bias}
    embeds = embeddings(path, tensors, used, encoder, decoder)
    source_embed, target_embed = embeds[encoder.prefix], embeds[decoder.prefix]
    if (source_embed is None) != (target_embed is None):
        raise CheckpointError(f"{path}: one side has an embedding and the other is one-hot; "
                              f"{FACTORY_HINT}")
    if source_embed is not None and encoder.input_size != decoder.input_size:
        raise CheckpointError(f"{path}: the embeddings have different widths "
                              f"({encoder.input_size} vs {decoder.input_size}); {FACTORY_HINT}")
    extra = sorted(set(tensors) - used - {source_embed, target_embed})
    if extra:
        raise CheckpointError(f"{path}: tensors {', '.join(extra[:6])} are not part of an "
                              f"embedding + RNN encoder and decoder; {FACTORY_HINT}")
    source_size = tensors[source_embed].shape[0] if source_embed else encoder.input_size
    target_size = tensors[target_embed].shape[0] if target_embed else decoder.input_size
    what = f"the decoder's embedding {target_embed}" if target_embed else \
        f"the decoder's one-hot input ({decoder.prefix}weight_ih_l0)"
    if target_size != tensors[head].shape[0]:
        raise CheckpointError(f"{path}: {what} has {target_size} rows but its head {head} has "
                              f"{tensors[head].shape[0]} outputs")
    vocab, target, origins = vocabularies(path, options, vocab, source_size, target_size,
                                          source_embed or f"{encoder.prefix}weight_ih_l0", head)
    embed = first.input_size if source_embed else 0
    config = Seq2SeqConfig(len(vocab), len(target), first.cell, first.layers, first.hidden,
                           embed)
    renamed = {f"encoder.rnn.{k[len(encoder.prefix):]}": tensors[k] for k in encoder.keys}
    renamed |= {f"decoder.rnn.{k[len(decoder.prefix):]}": tensors[k] for k in decoder.keys}
    renamed |= {"decoder.head.weight": tensors[head],
                "decoder.head.bias": tensors.get(head_bias, torch.zeros(len(target)))}
    if source_embed:
        renamed |= {"encoder.embed.weight": tensors[source_embed],
                    "decoder.embed.weight": tensors[target_embed]}
    module = Seq2Seq(config)
    load_state(path, module, renamed)
    module.eval()
    inputs = ((f"embedding {source_embed}", f"embedding {target_embed}") if source_embed
              else (f"one-hot of {len(vocab)}", f"one-hot of {len(target)}"))
    detected = {"format": source,
                "encoder": f"{first.cell.upper()} {encoder.prefix}*, {inputs[0]}",
                "decoder": f"{first.cell.upper()} {decoder.prefix}*, {inputs[1]}, head {head}",
                "layers": f"{first.layers} layer(s), hidden {first.hidden}",
                "bridge": "identity (the encoder's final state starts the decoder)",
                "vocab": origins}
    if wrapper:
        detected["wrapper"] = wrapper
    if tied:
        detected["tied"] = "; ".join(tied)
    detected |= facts or {}
    meta = {"format_version": FORMAT_VERSION, "kind": "seq2seq", "arch": config.arch(),
            "bridge": "identity", "vocab": vocab.to_json(), "detected": detected}
    if target != vocab:
        meta["target_vocab"] = target.to_json()
    checkpoint = Checkpoint("seq2seq", module, vocab, meta, path,
                            target if target != vocab else None)
    if "state_dict" in source:  # a PyTorch state_dict: only weights, none of the forward
        checkpoint.warnings.append(assumption(path, inputs[0], first.cell, False))
    checkpoint.warnings += nonfinite_warning(str(path), tensors)
    return checkpoint


def embeddings(path: Path, tensors: dict[str, torch.Tensor], used: set[str], encoder: Stack,
               decoder: Stack) -> dict[str, str | None]:
    """Each side's embedding (None: one-hot), found by width and by the side's key prefix."""
    found: dict[str, list[str]] = {encoder.prefix: [], decoder.prefix: []}
    for key, value in tensors.items():
        if key in used or value.ndim != 2:
            continue
        side = side_of(key, encoder, decoder)
        if side is not None and value.shape[1] == side.input_size:
            found[side.prefix].append(key)
        elif side is None and value.shape[1] in (encoder.input_size, decoder.input_size):
            raise CheckpointError(f"{path}: cannot tell whether the embedding {key} belongs "
                                  f"to {encoder.prefix}* or {decoder.prefix}*; {FACTORY_HINT}")
    for stack in (encoder, decoder):
        if len(found[stack.prefix]) > 1:
            raise CheckpointError(
                f"{path}: {len(found[stack.prefix])} embeddings of width {stack.input_size} for "
                f"{stack.prefix}* ({', '.join(found[stack.prefix])}); a seq2seq state_dict needs "
                f"one per side, else {FACTORY_HINT}")
    return {prefix: keys[0] if keys else None for prefix, keys in found.items()}


def vocabularies(path: Path, options: ModelSource, stored: list[str] | None, source_size: int,
                 target_size: int, source_input: str, head: str
                 ) -> tuple[CharVocab, CharVocab, str]:
    """--vocab (or the file's) for the encoder, --target-vocab (or the same) for the decoder,
    sizes checked; the decoder's start and end tokens are --bos / --eos (default <s>, </s>)."""
    vocab, origin = choose_vocab(path, options.vocab, stored, source_size,
                                 f"the encoder's input {source_input} takes {source_size}")
    if options.target_vocab:
        target = read_vocab(options.target_vocab, "--target-vocab")
        origin += f"; decoder: --target-vocab {options.target_vocab}"
        what = "--target-vocab"
    else:
        target = vocab
        what = "--vocab (also the decoder's)" if options.vocab else "the file's vocabulary"
    if len(target) != target_size:
        raise CheckpointError(f"{path}: {what} has {len(target)} tokens, the decoder's head "
                              f"{head} has {target_size} outputs")
    for token, flag in ((options.bos or BOS, "--bos"), (options.eos or EOS, "--eos")):
        if token not in target:
            raise CheckpointError(f"{path}: the decoder's vocabulary has no {token!r}; decoding "
                                  f"starts and stops at tokens of its vocabulary: name them with "
                                  f"--bos/--eos ({flag} {token!r} is not among them)")
    tokens = {"bos": options.bos or BOS, "eos": options.eos or EOS}
    return replace(vocab, **tokens), replace(target, **tokens), origin
