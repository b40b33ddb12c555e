"""Bidirectional state_dicts (`*_reverse` keys): a tagger (embedding + bidirectional
nn.RNN/LSTM/GRU + a head over both directions) or a seq2seq pair whose encoder is
bidirectional. Built onto models.bidirectional and run over the whole input
(engine.bidirectional). A pair's handoff is read from the shapes: both directions side by side
when the decoder is twice the encoder's width (layer for layer), or a bridge Linear
[decoder hidden, 2 x encoder hidden] into a one-layer decoder, tanh(fc([forward; backward])) as
the attention notebooks write it; anything else is refused naming --factory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from inspector.loading.torch import (
    GATE_COUNT,
    Stack,
    assumption,
    choose_labels,
    choose_vocab,
    find_head,
    load_state,
    stack_of,
)
from models.bidirectional import BiEncoder, BiTagger, OneHot, bidirectional_stack
from models.checkpoint import FORMAT_VERSION, Checkpoint, CheckpointError, nonfinite_warning

if TYPE_CHECKING:
    from inspector.loading import ModelSource

REVERSE = re.compile(r"^(?P<prefix>.*?)weight_ih_l(?P<layer>\d+)_reverse$")
FACTORY = "use --factory module:callable for this model"
ROUTE = ("mapped onto a bidirectional nn.RNN/LSTM/GRU with PyTorch's names, run over the whole "
         "input; both directions recomputed exactly from their weights")


@dataclass(frozen=True)
class BiStack:
    prefix: str
    cell: str
    layers: int
    hidden: int  # per direction
    input_size: int
    bias: bool
    keys: frozenset[str]


def bidirectional_prefixes(tensors: dict[str, torch.Tensor]) -> set[str]:
    return {m["prefix"] for key in tensors if (m := REVERSE.match(key))}


def bi_stack(path: Path, tensors: dict[str, torch.Tensor], prefix: str) -> BiStack:
    layers = {int(m["layer"]) for key in tensors if (m := REVERSE.match(key))
              and m["prefix"] == prefix}
    missing = sorted(f"{prefix}weight_ih_l{k}" for k in layers
                     if f"{prefix}weight_ih_l{k}" not in tensors)
    if missing:
        raise CheckpointError(f"{path}: {missing[0]}_reverse has no forward direction "
                              f"({missing[0]} is missing)")
    forward = stack_of(path, tensors, prefix, layers)
    keys = {k for k in tensors if k.startswith(prefix) and re.search(r"_l\d+(_reverse)?$", k)}
    for layer in range(forward.layers):  # each direction of each layer, the same shapes
        for name in ("weight_ih", "weight_hh"):
            ahead, back = (tensors.get(f"{prefix}{name}_l{layer}{s}") for s in ("", "_reverse"))
            if ahead is None or back is None or ahead.shape != back.shape:
                raise CheckpointError(f"{path}: {prefix}{name}_l{layer}_reverse does not match "
                                      f"{prefix}{name}_l{layer}")
    if forward.cell not in GATE_COUNT.values():
        raise CheckpointError(f"{path}: {prefix}* is not an RNN/LSTM/GRU")
    return BiStack(prefix, forward.cell, forward.layers, forward.hidden, forward.input_size,
                   forward.bias, frozenset(keys))


def embedding_of(tensors: dict[str, torch.Tensor], used: set[str], width: int) -> list[str]:
    return sorted(k for k, v in tensors.items() if k not in used and v.ndim == 2
                  and v.shape[1] == width)


def input_module(path: Path, tensors: dict[str, torch.Tensor], embed: str | None, size: int
                 ) -> nn.Module:
    if embed is None:
        return OneHot(size)
    module = nn.Embedding(*tensors[embed].shape)
    with torch.no_grad():
        module.weight.copy_(tensors[embed].to(torch.float32))
    return module


def recurrent(stack: BiStack | Stack, tensors: dict[str, torch.Tensor], nonlinearity: str,
              path: Path) -> nn.RNNBase:
    rnn = bidirectional_stack(stack.cell, stack.input_size, stack.hidden, stack.layers,
                              stack.bias, nonlinearity)
    load_state(path, rnn, {k[len(stack.prefix):]: tensors[k] for k in stack.keys})
    return rnn


def linear(tensors: dict[str, torch.Tensor], weight: str) -> nn.Linear:
    w = tensors[weight].to(torch.float32)
    bias = tensors.get(f"{weight[:-len('weight')]}bias")
    module = nn.Linear(w.shape[1], w.shape[0], bias=True)
    with torch.no_grad():
        module.weight.copy_(w)
        module.bias.copy_(bias.to(torch.float32) if bias is not None else torch.zeros(w.shape[0]))
    return module


def detect_bidirectional(path: Path, tensors: dict[str, torch.Tensor], options: ModelSource,
                         source: str, wrapper: str | None, facts: dict[str, str],
                         vocab: list[str] | None, labels: list[str] | None) -> Checkpoint:
    from inspector.loading.torch import RECURRENT_KEY, recurrent_stacks

    prefixes = sorted(bidirectional_prefixes(tensors))
    if len(prefixes) != 1:
        raise CheckpointError(f"{path}: {len(prefixes)} bidirectional stacks "
                              f"({', '.join(p + '*' for p in prefixes)}); {FACTORY}")
    nonlinearity = options.nonlinearity or "tanh"
    stack = bi_stack(path, tensors, prefixes[0])
    rest = {k: v for k, v in tensors.items() if k not in stack.keys}
    others = recurrent_stacks(path, rest) if any(RECURRENT_KEY.match(k) for k in rest) else []
    if len(others) > 1:
        raise CheckpointError(f"{path}: a bidirectional stack and {len(others)} others; {FACTORY}")
    if others:
        return bidirectional_pair(path, tensors, stack, others[0], options, source, wrapper,
                                  facts, vocab, nonlinearity)
    head = find_head(path, tensors, set(stack.keys), 2 * stack.hidden)
    head_bias = f"{head[:-len('weight')]}bias"
    used = set(stack.keys) | {head, head_bias}
    embeds = embedding_of(tensors, used, stack.input_size)
    if len(embeds) > 1:
        raise CheckpointError(f"{path}: two candidate embeddings ({', '.join(embeds)}); {FACTORY}")
    embed = embeds[0] if embeds else None
    used |= set(embeds)
    extra = sorted(set(tensors) - used)
    if extra:
        raise CheckpointError(f"{path}: tensors {', '.join(extra[:6])} are not part of embedding "
                              f"+ bidirectional RNN + Linear; {FACTORY}")
    size = tensors[embed].shape[0] if embed else stack.input_size
    outputs = tensors[head].shape[0]
    chosen, vocab_origin = choose_vocab(path, options.vocab, vocab, size,
                                        f"the model's input takes {size}")
    names, labels_origin = choose_labels(path, options.labels, labels, outputs, size)
    module = BiTagger(input_module(path, tensors, embed, size),
                      recurrent(stack, tensors, nonlinearity, path), linear(tensors, head)).eval()
    from inspector.loading.factory import whole_model

    model = whole_model(module, chosen, path.stem, str(path),
                        labels=tuple(names) if names else None, output=options.output)
    inputs = f"embedding {embed} [{size}x{stack.input_size}]" if embed else f"one-hot of {size}"
    detected = {"format": source,
                "recurrent": f"bidirectional {stack.cell.upper()} {stack.prefix}*, "
                             f"{stack.layers} layer(s), hidden {stack.hidden} per direction",
                "input": inputs, "head": f"{head} over both directions", "vocab": vocab_origin,
                **({"labels": labels_origin} if labels_origin else {}), **facts}
    if model.output_note:
        detected["output"] = model.output_note
    if wrapper:
        detected["wrapper"] = wrapper
    meta = {"format_version": FORMAT_VERSION, "kind": "char",
            "arch": {"cell": stack.cell, "layers": stack.layers, "hidden": 2 * stack.hidden,
                     "bidirectional": True},
            "vocab": chosen.to_json(), "detected": detected, "route": ROUTE}
    if names:
        meta["labels"] = names
    checkpoint = Checkpoint("char", module, chosen, meta, path, inspectable=model)
    if "state_dict" in source:
        checkpoint.warnings.append(assumption(path, inputs, f"bidirectional {stack.cell}",
                                              stack.cell == "rnn" and not options.nonlinearity))
    checkpoint.warnings += nonfinite_warning(str(path), tensors)
    return checkpoint


def bidirectional_pair(path: Path, tensors: dict[str, torch.Tensor], encoder: BiStack,
                       decoder: Stack, options: ModelSource, source: str, wrapper: str | None,
                       facts: dict[str, str], stored: list[str] | None,
                       nonlinearity: str) -> Checkpoint:
    """A bidirectional encoder and a decoder stack + head, the handoff read from the shapes."""
    from inspector.engine.model import NativeModel
    from inspector.engine.seq2seq import Seq2SeqModel
    from inspector.loading.factory import whole_model
    from inspector.loading.seq2seq_pairs import side_of, vocabularies
    from models.char_rnn import CharRNN, CharRNNConfig

    head = find_head(path, tensors, set(encoder.keys | decoder.keys), decoder.hidden)
    if side_of(head, encoder, decoder) is not decoder:
        raise CheckpointError(f"{path}: the head {head} does not sit with the decoder "
                              f"{decoder.prefix}*; {FACTORY}")
    head_bias = f"{head[:-len('weight')]}bias"
    used = set(encoder.keys | decoder.keys) | {head, head_bias}
    bridge = None
    if decoder.hidden == 2 * encoder.hidden and decoder.layers == encoder.layers and \
            decoder.cell == encoder.cell:
        handoff = "concat"
    else:
        bridges = [k for k, v in tensors.items() if k not in used and k.endswith("weight")
                   and v.ndim == 2 and tuple(v.shape) == (decoder.hidden, 2 * encoder.hidden)]
        if len(bridges) != 1 or decoder.layers != 1 or "lstm" in (encoder.cell, decoder.cell):
            raise CheckpointError(
                f"{path}: cannot tell how the bidirectional encoder {encoder.prefix}* hands over "
                f"to the decoder {decoder.prefix}* (neither both directions side by side into a "
                f"decoder of width {2 * encoder.hidden}, nor one bridge Linear into a one-layer "
                f"GRU/RNN decoder); {FACTORY}")
        bridge, handoff = bridges[0], "bridge"
        used |= {bridge, f"{bridge[:-len('weight')]}bias"}
    source_embeds = [k for k in embedding_of(tensors, used, encoder.input_size)
                     if side_of(k, encoder, decoder) is encoder]
    target_embeds = [k for k in embedding_of(tensors, used, decoder.input_size)
                     if side_of(k, encoder, decoder) is decoder]
    if len(source_embeds) > 1 or len(target_embeds) > 1 or \
            bool(source_embeds) != bool(target_embeds):
        raise CheckpointError(f"{path}: cannot tell each side's embedding "
                              f"({', '.join(source_embeds + target_embeds) or 'none'}); "
                              f"{FACTORY}")
    used |= set(source_embeds) | set(target_embeds)
    extra = sorted(set(tensors) - used)
    if extra:
        raise CheckpointError(f"{path}: tensors {', '.join(extra[:6])} are not part of an "
                              f"embedding + bidirectional encoder and a decoder (attention?); "
                              f"{FACTORY}")
    source_embed = source_embeds[0] if source_embeds else None
    target_embed = target_embeds[0] if target_embeds else None
    source_size = tensors[source_embed].shape[0] if source_embed else encoder.input_size
    target_size = tensors[target_embed].shape[0] if target_embed else decoder.input_size
    if target_size != tensors[head].shape[0]:
        raise CheckpointError(f"{path}: the decoder takes {target_size} tokens but its head "
                              f"{head} has {tensors[head].shape[0]} outputs")
    vocab, target, origins = vocabularies(path, options, stored, source_size, target_size,
                                          source_embed or f"{encoder.prefix}weight_ih_l0", head)
    if options.source_eos and vocab.eos not in vocab:
        raise CheckpointError(f"--source-eos: the source vocabulary has no {vocab.eos!r}")
    enc_module = BiEncoder(input_module(path, tensors, source_embed, source_size),
                           recurrent(encoder, tensors, nonlinearity, path),
                           linear(tensors, bridge) if bridge else None).eval()
    config = CharRNNConfig(target_size, decoder.cell, decoder.layers, decoder.hidden,
                           decoder.input_size if target_embed else 0, nonlinearity, decoder.bias)
    dec_module = CharRNN(config)
    renamed = {f"rnn.{k[len(decoder.prefix):]}": tensors[k] for k in decoder.keys}
    renamed |= {"head.weight": tensors[head],
                "head.bias": tensors.get(head_bias, torch.zeros(target_size))}
    if target_embed:
        renamed["embed.weight"] = tensors[target_embed]
    load_state(path, dec_module, renamed)
    dec_module.eval()
    name = path.stem
    enc = whole_model(enc_module, vocab, f"{name}.encoder", f"{path} (encoder)", head=False)
    dec = NativeModel(dec_module, target, f"{name}.decoder")
    if enc.handoff_layout.n_layers != dec.n_layers or enc.handoff_layout.sizes[0] != dec.hidden:
        raise CheckpointError(f"{path}: the encoder hands over {enc.handoff_layout.describe()}, "
                              f"the decoder starts from {dec.n_layers} layer(s) of "
                              f"{dec.hidden}; {FACTORY}")
    model = Seq2SeqModel(name, enc, dec, None, vocab, target,
                         source_eos=options.source_eos)
    said = ("both directions' final states side by side, layer by layer" if handoff == "concat"
            else f"tanh({bridge}·[forward; backward] + bias) of the last layer")
    detected = {"format": source,
                "encoder": f"bidirectional {encoder.cell.upper()} {encoder.prefix}*, "
                           f"{encoder.layers} layer(s), hidden {encoder.hidden} per direction",
                "decoder": f"{decoder.cell.upper()} {decoder.prefix}*, {decoder.layers} "
                           f"layer(s), hidden {decoder.hidden}, head {head}",
                "bridge": said, "vocab": origins, **facts}
    if wrapper:
        detected["wrapper"] = wrapper
    meta = {"format_version": FORMAT_VERSION, "kind": "seq2seq",
            "arch": {"cell": encoder.cell, "layers": encoder.layers,
                     "hidden": 2 * encoder.hidden, "bidirectional": True},
            "bridge": handoff, "vocab": vocab.to_json(), "detected": detected, "route": ROUTE}
    if target != vocab:
        meta["target_vocab"] = target.to_json()
    checkpoint = Checkpoint("seq2seq", nn.ModuleList([enc_module, dec_module]), vocab, meta,
                            path, target if target != vocab else None, inspectable=model)
    if "state_dict" in source:
        inputs = f"embedding {source_embed}" if source_embed else f"one-hot of {source_size}"
        checkpoint.warnings.append(
            f"{path}: assumes its forward is {inputs} -> bidirectional {encoder.cell.upper()} "
            f"encoder, a handoff of {said}, then {decoder.cell.upper()} decoder fed only its "
            "own embedding -> Linear head, nothing between (a state_dict cannot show "
            "parameter-free steps such as a ReLU or a scaling); for the model's exact forward "
            "use --factory module:callable")
    checkpoint.warnings += nonfinite_warning(str(path), tensors)
    return checkpoint

