"""Trace exports: JSON (`rnn-inspect-trace/1`, full float32 precision) and uncompressed npz.

Floats go through `ndarray.tolist()`, which gives the exact double of each float32, so a reader
gets every bit back; nothing is rounded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

import numpy as np

from inspector.engine.bulk import Trace, top_k, trace
from inspector.engine.model import NativeModel
from inspector.engine.records import StepRecord, entropy_bits
from models.atomic import atomic_write, write_with

FORMAT = "rnn-inspect-trace/1"


def model_json(model: NativeModel, kind: str | None = None) -> dict[str, Any]:
    return {"kind": kind or model.kind, "cell": model.cell, "layers": model.n_layers,
            "hidden": model.hidden, "vocab": list(model.vocab.tokens)}


def _layer_json(arrays: dict[str, np.ndarray], model: NativeModel, k: int, t: int,
                splits: bool) -> dict[str, Any]:
    layer: dict[str, Any] = {"h": arrays[f"l{k}.h"][t].tolist()}
    if model.has_cell:
        layer["c"] = arrays[f"l{k}.c"][t].tolist()
    if model.gate_names:
        layer["gates"] = {g: arrays[f"l{k}.gate.{g}"][t].tolist() for g in model.gate_names}
    if splits:
        parts = model.gate_names or ("h",)
        layer["input_part"] = {g: arrays[f"l{k}.in.{g}"][t].tolist() for g in parts}
        layer["memory_part"] = {g: arrays[f"l{k}.mem.{g}"][t].tolist() for g in parts}
    return layer


def steps_json(result: Trace, splits: bool = False) -> list[dict[str, Any]]:
    model, arrays = result.model, result.arrays
    tokens = model.vocab.tokens
    probs = arrays.get("probs")
    ent = entropy_bits(probs) if probs is not None else None
    steps = []
    for t, token_id in enumerate(result.token_ids):
        typed = result.text[t] if t < len(result.text) else tokens[token_id]
        step: dict[str, Any] = {"t": t, "input": typed}
        if tokens[token_id] != typed:
            step["token"] = tokens[token_id]
        if probs is not None:
            top = top_k(probs[t], tokens)
            step.update({"prediction": top[0][0], "top": top, "entropy": float(ent[t])})
        step["layers"] = [_layer_json(arrays, model, k, t, splits) for k in range(model.n_layers)]
        steps.append(step)
    return steps


def trace_to_json(result: Trace, splits: bool = False) -> dict[str, Any]:
    return {"format": FORMAT, "model": model_json(result.model),
            "steps": steps_json(result, splits)}


def per_layer_names(model: NativeModel, splits: bool) -> list[str]:
    """The per-layer activations an npz holds, by their name after `l{k}.`."""
    names = ["h"] + (["c"] if model.has_cell else [])
    names += [f"gate.{g}" for g in model.gate_names]
    if splits:
        for g in model.gate_names or ("h",):
            names += [f"in.{g}", f"mem.{g}"]
    return names


def npz_arrays(result: Trace, splits: bool = False, prefix: str = "") -> dict[str, np.ndarray]:
    """[T, layers, hidden] per activation (`h`, `c`, `dh`, `gate_i`…), `probs` [T, V], inputs."""
    model, arrays = result.model, result.arrays
    out = {}
    for name in per_layer_names(model, splits):
        stacked = np.stack([arrays[f"l{k}.{name}"] for k in range(model.n_layers)], axis=1)
        out[prefix + name.replace(".", "_")] = stacked.astype(np.float32)
    for name in ("logits", "probs"):
        if name in arrays:
            out[prefix + name] = arrays[name].astype(np.float32)
    out[prefix + "inputs"] = np.asarray(result.token_ids, dtype=np.int64)
    out[prefix + "input_chars"] = np.array(list(result.text), dtype=np.str_)
    out[prefix + "vocab"] = np.array(model.vocab.tokens, dtype=np.str_)
    return out


def save_npz(result: Trace, path: str | Path, splits: bool = False) -> None:
    write_with(path, lambda tmp: _savez(tmp, npz_arrays(result, splits)))


def _records_json(records: list[StepRecord] | tuple[StepRecord, ...], model: NativeModel,
                  splits: bool) -> list[dict[str, Any]]:
    steps = []
    for r in records:
        step: dict[str, Any] = {"t": r.t, "input": r.typed}
        if r.token != r.typed:
            step["token"] = r.token
        if r.probs.size:
            step.update({"prediction": r.prediction, "top": [list(p) for p in r.top],
                         "entropy": r.entropy})
        layers = []
        for layer in r.layers:
            item: dict[str, Any] = {"h": layer.h.tolist()}
            if layer.c is not None:
                item["c"] = layer.c.tolist()
            if layer.gates:
                item["gates"] = {g: v.tolist() for g, v in layer.gates.items()}
            if splits:
                item["input_part"] = {g: v.tolist() for g, v in layer.input_part.items()}
                item["memory_part"] = {g: v.tolist() for g, v in layer.memory_part.items()}
            layers.append(item)
        step["layers"] = layers
        steps.append(step)
    return steps


def seq2seq_trace(model, source: str, max_len: int = 64) -> dict[str, Any]:
    """Encoder steps, the handoff and the greedy decode, as records."""
    from inspector.engine.seq2seq import Seq2SeqSession

    session = Seq2SeqSession(model)
    session.feed_source(source)
    decode = session.decode(max_len=max_len)
    return {"session": session, "encoder": session.encoder_records, "handoff": session.handoff(),
            "decode": decode}


def seq2seq_to_json(model, source: str, splits: bool = False) -> dict[str, Any]:
    run = seq2seq_trace(model, source)
    enc = model.encoder
    return {"format": FORMAT,
            "model": {"kind": "seq2seq", "cell": enc.cell, "layers": enc.n_layers,
                      "hidden": enc.hidden, "vocab": list(model.source_vocab.tokens),
                      "target_vocab": list(model.target_vocab.tokens)},
            "encoder": {"steps": _records_json(run["encoder"], enc, splits)},
            "handoff": {"layers": [{"h": s.h.tolist(), **({"c": s.c.tolist()} if s.c is not None
                                                          else {})}
                                   for s in run["handoff"].layers]},
            "decoder": {"steps": _records_json(run["decode"].records, model.decoder, splits)},
            "output": run["decode"].output}


def _stack(records, name: str) -> np.ndarray:
    n_layers = len(records[0].layers) if records else 0
    return np.array([[r.activation(f"l{k}.{name}") for k in range(n_layers)] for r in records],
                    dtype=np.float32)


def seq2seq_npz(model, source: str, path: str | Path, splits: bool = False) -> None:
    run = seq2seq_trace(model, source)
    arrays: dict[str, np.ndarray] = {}
    for part, records, sub in (("enc", run["encoder"], model.encoder),
                               ("dec", run["decode"].records, model.decoder)):
        for name in per_layer_names(sub, splits):
            if records:
                arrays[f"{part}.{name.replace('.', '_')}"] = _stack(records, name)
        if part == "dec" and records:
            arrays["dec.probs"] = np.stack([r.probs for r in records]).astype(np.float32)
        arrays[f"{part}.inputs"] = np.array([r.token_id for r in records], dtype=np.int64)
    handoff = run["handoff"].layers
    arrays["handoff.h"] = np.stack([s.h for s in handoff]).astype(np.float32)
    if handoff[0].c is not None:
        arrays["handoff.c"] = np.stack([s.c for s in handoff]).astype(np.float32)
    arrays["vocab"] = np.array(model.source_vocab.tokens, dtype=np.str_)
    arrays["target_vocab"] = np.array(model.target_vocab.tokens, dtype=np.str_)
    arrays["output"] = np.array(run["decode"].output, dtype=np.str_)
    write_with(path, lambda tmp: _savez(tmp, arrays))


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would append .npz to a bare name
        np.savez(f, **arrays)


def write_trace(checkpoint, text: str, fmt: str = "json", out: str | Path | None = None,
                splits: bool = False, stdout: IO[str] | None = None) -> None:
    """What `rnn-inspect trace` does: trace `text` and write JSON (to `out` or stdout) or npz."""
    from inspector.engine import inspectable

    model = inspectable(checkpoint)
    if fmt == "npz":
        if out is None:
            raise ValueError("npz output needs a file")
        if model.kind == "seq2seq":
            seq2seq_npz(model, text, out, splits)
        else:
            save_npz(trace(model, text, splits=splits), out, splits)
        return
    data = (seq2seq_to_json(model, text, splits) if model.kind == "seq2seq"
            else trace_to_json(trace(model, text, splits=splits), splits))
    if out is None:
        json.dump(data, stdout or sys.stdout)
        (stdout or sys.stdout).write("\n")
    else:
        with atomic_write(out) as f:
            json.dump(data, f)
