"""Foreign seq2seq state_dicts: two recurrent stacks, an encoder (embedding + RNN) and a decoder
(embedding + RNN + Linear head), as the common PyTorch seq2seq tutorials save them
(`encoder.embedding`, `encoder.rnn`, `decoder.embedding`, `decoder.rnn`, `decoder.fc_out`).

Renamed onto our `Seq2Seq` with the identity bridge (the encoder's final state is the decoder's
first), so the engine steps it natively. Which stack is which is read from the names: the decoder
is the stack that shares its module path with the head. Anything else is refused with one line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from inspector.loading.files import read_vocab
from inspector.loading.torch import Stack, find_head, load_state
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
                options: ModelSource, source: str, wrapper: str | None,
                tied: list[str]) -> Checkpoint:
    """Recognise encoder + decoder; rename onto Seq2Seq and load."""
    first, second = stacks
    for field in ("cell", "layers", "hidden", "input_size", "bias"):
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
    embeds: dict[str, list[str]] = {encoder.prefix: [], decoder.prefix: []}
    for key, value in tensors.items():
        if key not in used and value.ndim == 2 and value.shape[1] == first.input_size:
            side = side_of(key, encoder, decoder)
            if side is None:
                raise CheckpointError(f"{path}: cannot tell whether the embedding {key} belongs "
                                      f"to {encoder.prefix}* or {decoder.prefix}*; "
                                      f"{FACTORY_HINT}")
            embeds[side.prefix].append(key)
    for stack, found in ((encoder, embeds[encoder.prefix]), (decoder, embeds[decoder.prefix])):
        if len(found) != 1:
            raise CheckpointError(
                f"{path}: {len(found)} embeddings of width {first.input_size} for {stack.prefix}* "
                f"({', '.join(found) or 'none'}); a seq2seq state_dict needs one per side, else "
                f"{FACTORY_HINT}")
    source_embed, target_embed = embeds[encoder.prefix][0], embeds[decoder.prefix][0]
    extra = sorted(set(tensors) - used - {source_embed, target_embed})
    if extra:
        raise CheckpointError(f"{path}: tensors {', '.join(extra[:6])} are not part of an "
                              f"embedding + RNN encoder and decoder; {FACTORY_HINT}")
    vocab, target = vocabularies(path, options, tensors[source_embed].shape[0],
                                 tensors[head].shape[0], source_embed, head)
    if tensors[target_embed].shape[0] != len(target):
        raise CheckpointError(f"{path}: the decoder's embedding {target_embed} has "
                              f"{tensors[target_embed].shape[0]} rows but its head {head} has "
                              f"{len(target)} outputs")
    config = Seq2SeqConfig(len(vocab), len(target), first.cell, first.layers, first.hidden,
                           first.input_size)
    renamed = {f"encoder.rnn.{k[len(encoder.prefix):]}": tensors[k] for k in encoder.keys}
    renamed |= {f"decoder.rnn.{k[len(decoder.prefix):]}": tensors[k] for k in decoder.keys}
    renamed |= {"encoder.embed.weight": tensors[source_embed],
                "decoder.embed.weight": tensors[target_embed], "decoder.head.weight": tensors[head],
                "decoder.head.bias": tensors.get(head_bias, torch.zeros(len(target)))}
    module = Seq2Seq(config)
    load_state(path, module, renamed)
    module.eval()
    detected = {"format": source,
                "encoder": f"{first.cell.upper()} {encoder.prefix}*, embedding {source_embed}",
                "decoder": f"{first.cell.upper()} {decoder.prefix}*, embedding {target_embed}, "
                           f"head {head}",
                "layers": f"{first.layers} layer(s), hidden {first.hidden}",
                "bridge": "identity (the encoder's final state starts the decoder)"}
    if wrapper:
        detected["wrapper"] = wrapper
    if tied:
        detected["tied"] = "; ".join(tied)
    meta = {"format_version": FORMAT_VERSION, "kind": "seq2seq", "arch": config.arch(),
            "bridge": "identity", "vocab": vocab.to_json(), "detected": detected}
    if target != vocab:
        meta["target_vocab"] = target.to_json()
    checkpoint = Checkpoint("seq2seq", module, vocab, meta, path,
                            target if target != vocab else None)
    checkpoint.warnings += nonfinite_warning(str(path), tensors)
    return checkpoint


def vocabularies(path: Path, options: ModelSource, source_size: int, target_size: int,
                 source_embed: str, head: str) -> tuple[CharVocab, CharVocab]:
    """--vocab for the encoder, --target-vocab (or the same) for the decoder, sizes checked."""
    if options.vocab is None:
        raise CheckpointError(f"{path}: a plain state_dict carries no vocabulary: pass --vocab "
                              f"FILE with the encoder's {source_size} tokens (and --target-vocab "
                              "FILE for the decoder's, if they differ)")
    vocab = read_vocab(options.vocab)
    if len(vocab) != source_size:
        raise CheckpointError(f"{path}: --vocab {options.vocab} has {len(vocab)} tokens, the "
                              f"encoder's embedding {source_embed} has {source_size} rows")
    target = read_vocab(options.target_vocab, "--target-vocab") if options.target_vocab else vocab
    if len(target) != target_size:
        what = "--target-vocab" if options.target_vocab else "--vocab (also the decoder's)"
        raise CheckpointError(f"{path}: {what} has {len(target)} tokens, the decoder's head "
                              f"{head} has {target_size} outputs")
    for token in (BOS, EOS):
        if token not in target:
            raise CheckpointError(f"{path}: the decoder's vocabulary has no {token!r}; decoding "
                                  "starts at <s> and stops at </s>")
    return vocab, target
