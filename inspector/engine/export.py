"""Trace exports, streamed: JSON, JSON lines and npz (`rnn-inspect-trace/2`), in bounded memory.

The writer's interface is small on purpose, so every producer (the bulk trace here, a session's
timeline, a replay) writes through it:

- a **header** dict: `trace_header(model, source)` gives `{"format", "model", "source",
  "interventions": [], "branch": "main"}`; a producer may fill `interventions` and `branch`;
- an **iterator of step dicts** (`{"t", "input", "prediction", "top", "entropy", "layers"}`, as
  DESIGN.md shows), consumed one at a time by `write_json_trace(header, steps, out, lines=…)`;
- for npz, an iterator of **array chunks** (`{name: array}` concatenated along the first axis)
  consumed by `write_npz(path, chunks, constants)`.

Floats go through `ndarray.tolist()`, which gives the exact double of each float32, so a reader
gets every bit back. JSON never holds a bare NaN or Infinity: such a value is written `null` and
the step lists the names it occurred in under `"nonfinite"` (`l0.h`, `l1.gate.f`, `probs`…).
Every file is written atomically (`models.atomic`): a failure or Ctrl-C leaves an existing `--out`
as it was. `read_trace` reads `/1` and `/2` files, JSON or JSON lines.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from inspector.engine.bulk import CHUNK, Trace, trace_array, trace_chunks
from inspector.engine.model import NativeModel
from inspector.engine.records import StepRecord, entropy_bits, top_k
from models.atomic import atomic_path, atomic_write
from models.vocab import BOS, EOS

FORMAT = "rnn-inspect-trace/2"
READABLE = ("rnn-inspect-trace/1", FORMAT)
FORMATS = ("json", "jsonl", "npz")


def model_json(model: NativeModel, kind: str | None = None) -> dict[str, Any]:
    out = {"kind": kind or model.kind, "cell": model.cell, "layers": model.n_layers,
           "hidden": model.hidden, "vocab": list(model.vocab.tokens)}
    if model.labels != model.vocab.tokens:
        out["labels"] = list(model.labels)
    if model.output_kind != "logits":
        out["output"] = model.output_kind
    return out


def trace_header(model, source: dict[str, str] | None = None) -> dict[str, Any]:
    """The header of a `/2` trace (everything but the steps) for a char/MLP model or a seq2seq
    pair; `source` is `inspector.provenance.source_block(checkpoint)`."""
    if getattr(model, "kind", None) == "seq2seq":
        enc = model.encoder
        described = {"kind": "seq2seq", "cell": enc.cell, "layers": enc.n_layers,
                     "hidden": enc.hidden, "vocab": list(model.source_vocab.tokens),
                     "target_vocab": list(model.target_vocab.tokens)}
        if getattr(model, "encoder_from", None):
            described["encoder_from"] = model.encoder_from
    else:
        described = model_json(model)
    header: dict[str, Any] = {"format": FORMAT, "model": described}
    if source is not None:
        header["source"] = source
    header.update({"interventions": [], "branch": "main"})
    return header


# --- step dicts -------------------------------------------------------------------------------

def _layer_names(model, splits: bool) -> list[tuple[str, str, str | None]]:
    """(array name after `l{k}.`, JSON key, gate or None) for every per-layer value a step holds."""
    names = [("h", "h", None)] + ([("c", "c", None)] if model.has_cell else [])
    names += [(f"gate.{g}", "gates", g) for g in model.gate_names]
    if splits:
        for g in model.gate_names or ("h",):
            names += [(f"in.{g}", "input_part", g), (f"mem.{g}", "memory_part", g)]
    return names


def chunk_steps(part: Trace, splits: bool = False) -> Iterator[dict[str, Any]]:
    """The step dicts of one trace chunk (step numbers from `part.start`)."""
    model, arrays = part.model, part.arrays
    tokens, labels = model.vocab.tokens, model.labels
    names = _layer_names(model, splits)
    lists = {f"l{k}.{n}": arrays[f"l{k}.{n}"].tolist()  # one tolist per chunk, not per row
             for k in range(model.n_layers) for n, _, _ in names}
    probs = arrays.get("probs")
    ent = entropy_bits(probs) if probs is not None else None
    for row, token_id in enumerate(part.token_ids):
        if part.inputs is not None:  # real-valued inputs: the row itself
            step: dict[str, Any] = {"t": part.start + row, "input": part.inputs[row].tolist()}
        else:
            typed = part.pieces[row] if row < len(part.pieces) else tokens[token_id]
            step = {"t": part.start + row, "input": typed}
            if tokens[token_id] != typed:
                step["token"] = tokens[token_id]
        if probs is not None:
            top = [list(pair) for pair in top_k(probs[row], labels)]
            step.update({"prediction": top[0][0], "top": top, "entropy": float(ent[row])})
        elif "logits" in arrays:  # a raw head: its values, never softmaxed
            step["output"] = arrays["logits"][row].tolist()
        if "attention" in arrays:
            step["attention"] = arrays["attention"][row].tolist()
        layers = []
        for k in range(model.n_layers):
            layer: dict[str, Any] = {}
            for name, key, gate in names:
                value = lists[f"l{k}.{name}"][row]
                if gate is None:
                    layer[key] = value
                else:
                    layer.setdefault(key, {})[gate] = value
            layers.append(layer)
        step["layers"] = layers
        yield step


def trace_steps(model, text: str, splits: bool = False, chunk: int = CHUNK
                ) -> Iterator[dict[str, Any]]:
    """Every step of `text` as a dict, computed chunk by chunk (memory does not grow with T)."""
    for part in trace_chunks(model, text, chunk=chunk, splits=splits):
        yield from chunk_steps(part, splits)


def steps_json(result: Trace, splits: bool = False) -> list[dict[str, Any]]:
    return list(chunk_steps(result, splits))


def trace_to_json(result: Trace, splits: bool = False,
                  source: dict[str, str] | None = None) -> dict[str, Any]:
    """An in-memory trace as one `/2` document (what the streamed writer writes, at once)."""
    return {**trace_header(result.model, source), "steps": steps_json(result, splits)}


def records_json(records: Iterable[StepRecord], model, splits: bool = False
                 ) -> list[dict[str, Any]]:
    """Step dicts from a session's or a decode's records (same keys as the bulk trace's)."""
    steps = []
    for r in records:
        step: dict[str, Any] = {"t": r.t, "input": r.typed}
        if r.token != r.typed:
            step["token"] = r.token
        if r.probs.size:
            step.update({"prediction": r.prediction, "top": [list(p) for p in r.top],
                         "entropy": r.entropy})
        if r.attention is not None:
            step["attention"] = r.attention.tolist()
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


# --- JSON without NaN -------------------------------------------------------------------------

_PART_NAMES = {"gates": "gate", "input_part": "in", "memory_part": "mem"}


def _value_name(path: tuple) -> str:
    """The activation name of a JSON path: ("layers", 0, "gates", "f", 3) -> `l0.gate.f`."""
    if len(path) >= 3 and path[0] == "layers" and isinstance(path[1], int):
        key = path[2]
        if key in _PART_NAMES and len(path) >= 4:
            return f"l{path[1]}.{_PART_NAMES[key]}.{path[3]}"
        return f"l{path[1]}.{key}"
    if path and path[0] == "top":
        return "probs"
    return ".".join(str(p) for p in path if not isinstance(p, int)) or "value"


def _finite(value: Any, path: tuple, found: list[str]) -> Any:
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        name = _value_name(path)
        if name not in found:
            found.append(name)
        return None
    if isinstance(value, dict):
        return {k: _finite(v, (*path, k), found) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, (*path, i), found) for i, v in enumerate(value)]
    return value


def finite_json(item: dict[str, Any]) -> dict[str, Any]:
    """`item` with every NaN/Infinity replaced by None and their names under `"nonfinite"`."""
    found: list[str] = list(item.get("nonfinite", ()))
    clean = _finite({k: v for k, v in item.items() if k != "nonfinite"}, (), found)
    if found:
        clean["nonfinite"] = found
    return clean


def dumps(item: dict[str, Any]) -> str:
    """One JSON text, strict: never a bare NaN (the fast path costs nothing when all is finite)."""
    try:
        return json.dumps(item, allow_nan=False)
    except ValueError:
        return json.dumps(finite_json(item), allow_nan=False)


# --- writers ----------------------------------------------------------------------------------

def _write_json_stream(f: IO[str], header: dict[str, Any], steps: Iterable[dict[str, Any]],
                       lines: bool) -> None:
    if lines:
        f.write(dumps(header) + "\n")
        for step in steps:
            f.write(dumps(step) + "\n")
        return
    head = dumps(header)
    f.write(head[:-1] + (', "steps": [' if len(head) > 2 else '"steps": ['))
    for n, step in enumerate(steps):
        f.write((", " if n else "") + dumps(step))
    f.write("]}\n")


def write_json_trace(header: dict[str, Any], steps: Iterable[dict[str, Any]],
                     out: str | Path | None = None, *, lines: bool = False,
                     stdout: IO[str] | None = None) -> None:
    """Write a header and steps as one JSON document or as JSON lines (header first, then one
    step per line), step by step as the iterator yields them: to `out` atomically, or stdout."""
    if out is None:
        _write_json_stream(stdout or sys.stdout, header, steps, lines)
        return
    with atomic_write(out) as f:
        _write_json_stream(f, header, steps, lines)


def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> dict[str, Any]:
    return {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}


def write_npz(path: str | Path, chunks: Iterable[dict[str, np.ndarray]],
              constants: dict[str, np.ndarray] | None = None) -> Path:
    """An uncompressed npz from array chunks joined along their first axis, plus `constants`
    written as they are. Each array's rows go to an unnamed scratch file beside `path` as they
    arrive; the zip members are assembled at the end, so memory does not grow with the rows.
    Loads with numpy's default `allow_pickle=False`."""
    path = Path(path)
    scratch: dict[str, tuple[IO[bytes], np.dtype, tuple[int, ...]]] = {}
    rows: dict[str, int] = {}
    with atomic_path(path) as tmp:
        try:
            for part in chunks:
                for name, array in part.items():
                    array = np.ascontiguousarray(array)
                    if name not in scratch:
                        scratch[name] = (tempfile.TemporaryFile(dir=tmp.parent), array.dtype,
                                         array.shape[1:])
                        rows[name] = 0
                    f, dtype, tail = scratch[name]
                    if array.dtype != dtype or array.shape[1:] != tail:
                        raise ValueError(f"chunk of {name} is {array.dtype}{array.shape}, "
                                         f"not {dtype}(…, {tail})")
                    f.write(array.tobytes())
                    rows[name] += len(array)
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                for name, (f, dtype, tail) in scratch.items():
                    f.seek(0)
                    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array_header_1_0(
                            member, _npy_header(dtype, (rows[name], *tail)))
                        shutil.copyfileobj(f, member, 1 << 20)
                for name, array in (constants or {}).items():
                    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.asarray(array),
                                                  allow_pickle=False)
        finally:
            for f, _, _ in scratch.values():
                f.close()
    return path


def per_layer_names(model: NativeModel, splits: bool) -> list[str]:
    """The per-layer activations an npz holds, by their name after `l{k}.`."""
    return [name for name, _, _ in _layer_names(model, splits)]


def npz_chunk(result: Trace, splits: bool = False, prefix: str = "") -> dict[str, np.ndarray]:
    """[T, layers, hidden] per activation (`h`, `c`, `gate_i`…), `logits`/`probs` [T, V] and
    the inputs, for one chunk (the vocabulary is a constant: see `npz_arrays`)."""
    model, arrays = result.model, result.arrays
    out = {}
    for name in per_layer_names(model, splits):
        stacked = np.stack([arrays[f"l{k}.{name}"] for k in range(model.n_layers)], axis=1)
        out[prefix + name.replace(".", "_")] = stacked.astype(np.float32, copy=False)
    for name in ("logits", "probs", "attention"):
        if name in arrays:
            out[prefix + name] = arrays[name].astype(np.float32, copy=False)
    if result.inputs is not None:
        out[prefix + "inputs"] = result.inputs.astype(np.float32, copy=False)
        return out
    out[prefix + "inputs"] = np.asarray(result.token_ids, dtype=np.int64)
    width = max(map(len, result.pieces), default=1)  # one character each for a char model
    out[prefix + "input_chars"] = np.array(result.pieces, dtype=f"<U{width}")
    return out


def npz_constants(model) -> dict[str, np.ndarray]:
    """The arrays written once: the vocabulary, and the head's labels when they differ."""
    out = {"vocab": np.array(model.vocab.tokens, dtype=np.str_)}
    if model.labels != model.vocab.tokens:
        out["labels"] = np.array(model.labels, dtype=np.str_)
    return out


def npz_arrays(result: Trace, splits: bool = False, prefix: str = "") -> dict[str, np.ndarray]:
    """Every array of an in-memory trace's npz, as `write_npz` writes them."""
    return {**npz_chunk(result, splits, prefix),
            **{prefix + k: v for k, v in npz_constants(result.model).items()}}


def save_npz(result: Trace, path: str | Path, splits: bool = False) -> None:
    write_npz(path, [npz_chunk(result, splits)], npz_constants(result.model))


# --- seq2seq (in memory: a decode is short) ---------------------------------------------------

def seq2seq_trace(model, source: str, max_len: int = 64) -> dict[str, Any]:
    """Encoder steps, the handoff and the greedy decode, as records."""
    from inspector.engine.seq2seq import Seq2SeqSession

    session = Seq2SeqSession(model)
    session.feed_source(source)
    decode = session.decode(max_len=max_len)
    return {"session": session, "encoder": session.source_records, "handoff": session.handoff(),
            "decode": decode}


def seq2seq_to_json(model, source: str, splits: bool = False,
                    provenance: dict[str, str] | None = None) -> dict[str, Any]:
    run = seq2seq_trace(model, source)
    handoff = [{"h": s.h.tolist(), **({"c": s.c.tolist()} if s.c is not None else {})}
               for s in run["handoff"].layers]
    return {**trace_header(model, provenance),
            "encoder": {"steps": records_json(run["encoder"], model.encoder, splits)},
            "handoff": {"layers": handoff},
            "decoder": {"steps": records_json(run["decode"].records, model.decoder, splits)},
            "output": run["decode"].output}


def _stack(records, name: str) -> np.ndarray:
    n_layers = len(records[0].layers) if records else 0
    return np.array([[r.activation(f"l{k}.{name}") for k in range(n_layers)] for r in records],
                    dtype=np.float32)


def seq2seq_npz(model, source: str, path: str | Path, splits: bool = False,
                provenance: dict[str, str] | None = None) -> None:
    run = seq2seq_trace(model, source)
    arrays: dict[str, np.ndarray] = {}
    for part, records, sub in (("enc", run["encoder"], model.encoder),
                               ("dec", run["decode"].records, model.decoder)):
        for name in per_layer_names(sub, splits):
            if records:
                arrays[f"{part}.{name.replace('.', '_')}"] = _stack(records, name)
        if part == "dec" and records:
            arrays["dec.probs"] = np.stack([r.probs for r in records]).astype(np.float32)
            if records[0].attention is not None:
                arrays["dec.attention"] = np.stack([r.attention for r in records]
                                                   ).astype(np.float32)
        arrays[f"{part}.inputs"] = np.array([r.token_id for r in records], dtype=np.int64)
    handoff = run["handoff"].layers
    arrays["handoff.h"] = np.stack([s.h for s in handoff]).astype(np.float32)
    if handoff[0].c is not None:
        arrays["handoff.c"] = np.stack([s.c for s in handoff]).astype(np.float32)
    arrays["vocab"] = np.array(model.source_vocab.tokens, dtype=np.str_)
    arrays["target_vocab"] = np.array(model.target_vocab.tokens, dtype=np.str_)
    arrays["output"] = np.array(run["decode"].output, dtype=np.str_)
    if provenance is not None:
        arrays["source"] = source_array(provenance)
    write_npz(path, [], arrays)


def source_array(source: dict[str, str]) -> np.ndarray:
    """The `source` block in an npz: its JSON text as a unicode scalar (no pickle needed)."""
    return np.array(json.dumps(source), dtype=np.str_)


def _seq2seq_lines(document: dict[str, Any]) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """A seq2seq document as a JSON-lines header and steps tagged `"part": encoder|decoder`."""
    header = {k: v for k, v in document.items() if k not in ("encoder", "decoder")}
    steps = ({"part": part, **step} for part in ("encoder", "decoder")
             for step in document[part]["steps"])
    return header, steps


# --- the command's entry point ----------------------------------------------------------------

def write_trace(checkpoint, text: str, fmt: str = "json", out: str | Path | None = None,
                splits: bool = False, stdout: IO[str] | None = None,
                chunk: int = CHUNK, encoder_from=None, inputs: np.ndarray | None = None) -> None:
    """What `rnn-inspect trace` does: trace `text` chunk by chunk and write JSON, JSON lines
    (to `out` or stdout) or npz (to `out`), atomically, in memory that does not grow with T.
    `encoder_from`: another seq2seq checkpoint whose encoder hands over to this decoder.
    `inputs` [T, features] are real-valued inputs traced instead of text (a time series)."""
    from inspector.engine import inspectable
    from inspector.provenance import source_block

    if fmt not in FORMATS:
        raise ValueError(f"unknown trace format {fmt!r}; choose one of {', '.join(FORMATS)}")
    model = inspectable(checkpoint)
    if encoder_from is not None:
        model = model.with_encoder_of(inspectable(encoder_from))
    source = source_block(checkpoint)
    if inputs is not None and model.kind == "seq2seq":
        raise ValueError("real-valued inputs are for one-stream models, not seq2seq")
    if getattr(model, "whole_input", False):  # bidirectional: one run over the whole input
        if inputs is not None:
            raise ValueError(f"{model.name} takes tokens, not real-valued inputs")
        write_whole_trace(model, text, fmt, out, splits, source, stdout)
        return
    parts = ([trace_array(model, inputs, splits)] if inputs is not None
             else trace_chunks(model, text, chunk=chunk, splits=splits))
    if fmt == "npz":
        if out is None:
            raise ValueError("npz output needs a file")
        if model.kind == "seq2seq":
            seq2seq_npz(model, text, out, splits, source)
        else:
            write_npz(out, (npz_chunk(part, splits) for part in parts),
                      {**npz_constants(model), "source": source_array(source)})
        return
    if model.kind == "seq2seq":
        document = seq2seq_to_json(model, text, splits, source)
        if fmt == "jsonl":
            header, steps = _seq2seq_lines(document)
            write_json_trace(header, steps, out, lines=True, stdout=stdout)
            return
        if out is None:
            (stdout or sys.stdout).write(dumps(document) + "\n")
        else:
            with atomic_write(out) as f:
                f.write(dumps(document) + "\n")
        return
    steps = (step for part in parts for step in chunk_steps(part, splits))
    write_json_trace(trace_header(model, source), steps, out, lines=fmt == "jsonl",
                     stdout=stdout)


def write_whole_trace(model, text: str, fmt: str, out: str | Path | None, splits: bool,
                      source: dict[str, str], stdout: IO[str] | None) -> None:
    """A bidirectional model's trace: every step from one run over the whole input."""
    records = model.records(text)
    if fmt == "npz":
        if out is None:
            raise ValueError("npz output needs a file")
        write_npz(out, [records_npz_chunk(records, model)],
                  {**npz_constants(model), "source": source_array(source)})
        return
    write_json_trace(trace_header(model, source), iter(records_json(records, model, splits)),
                     out, lines=fmt == "jsonl", stdout=stdout)


def read_trace(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A trace file's header and steps: JSON or JSON lines, format `/1` or `/2` (a `/1` file
    reads as a `/2` one with no interventions, branch `main` and no source)."""
    with open(path, encoding="utf-8") as f:
        first = f.readline()
        try:
            header = json.loads(first)
            steps = [json.loads(line) for line in f if line.strip()]
        except json.JSONDecodeError:
            f.seek(0)
            header = json.load(f)
            steps = header.pop("steps", [])
    if header.get("format") not in READABLE:
        raise ValueError(f"{path}: not an rnn-inspect trace (format {header.get('format')!r})")
    header.setdefault("interventions", [])
    header.setdefault("branch", "main")
    if "steps" in header:  # a one-line JSON document
        steps = header.pop("steps")
    return header, steps


# --- a session's timeline: the records as the session computed them --------------------------

def interventions_json(events) -> list[dict[str, Any]]:
    """Every intervention of a timeline with `t`, the step whose starting state it edits (for a
    clamp, the first step it holds), as the `/2` header lists them."""
    from inspector.engine.journal import intervention_json
    from inspector.engine.session import Intervene

    out, t = [], 0
    for event in events:
        if isinstance(event, Intervene):
            out.append({"t": t, **intervention_json(event.intervention)})
        else:
            t += 1
    return out


def _records_chunks(session, chunk: int = CHUNK) -> Iterator[list[StepRecord]]:
    for start in range(0, session.cursor, chunk):
        yield session.records(start, min(start + chunk, session.cursor))


def records_npz_chunk(records: list[StepRecord], model) -> dict[str, np.ndarray]:
    """One chunk of records as the npz arrays a bulk trace has: [T, layers, hidden] per
    activation, `logits` / `probs` [T, V], the input ids."""
    out = {}
    for name in per_layer_names(model, False):
        out[name.replace(".", "_")] = np.array(
            [[r.activation(f"l{k}.{name}") for k in range(model.n_layers)] for r in records],
            dtype=np.float32).reshape(len(records), model.n_layers, model.hidden)
    for name in ("logits", "probs"):
        if records and getattr(records[0], name).size:
            out[name] = np.stack([getattr(r, name) for r in records]).astype(np.float32)
    out["inputs"] = np.array([r.token_id for r in records], dtype=np.int64)
    return out


def write_session_trace(session, fmt: str = "json", out: str | Path | None = None,
                        source: dict[str, str] | None = None,
                        stdout: IO[str] | None = None) -> None:
    """The trace of a session's branch on view (`rnn-inspect replay --format`): its records as
    the session computed them, its interventions and branch in the header; for seq2seq the
    source, the handoff edits and the decode on view (`JournaledSeq2Seq.decoded`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown trace format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "npz" and out is None:
        raise ValueError("npz output needs a file")
    if hasattr(session, "encoder_records"):
        _write_seq2seq_session(session, fmt, out, source, stdout)
        return
    model = session.model
    if fmt == "npz":
        from inspector.engine.session import Feed

        typed = [e.typed for e in session.events if isinstance(e, Feed)]
        constants = {"vocab": np.array(model.vocab.tokens, dtype=np.str_),
                     "input_chars": np.array(typed, dtype=np.str_),
                     "branch": np.array(session.branch, dtype=np.str_),
                     "interventions": np.array(json.dumps(interventions_json(session.events)),
                                               dtype=np.str_)}
        if source is not None:
            constants["source"] = source_array(source)
        write_npz(out, (records_npz_chunk(records, model)
                        for records in _records_chunks(session)), constants)
        return
    header = trace_header(model, source)
    header.update(interventions=interventions_json(session.events), branch=session.branch)
    steps = (step for records in _records_chunks(session) for step in records_json(records, model))
    write_json_trace(header, steps, out, lines=fmt == "jsonl", stdout=stdout)


def _write_seq2seq_session(session, fmt: str, out: str | Path | None,
                           source: dict[str, str] | None, stdout: IO[str] | None) -> None:
    from dataclasses import asdict

    model = session.model
    decoded = list(getattr(session, "decoded", None) or ())
    output = "".join(r.prediction for r in decoded if r.prediction not in (BOS, EOS))
    handoff = session.handoff()
    if fmt == "npz":
        arrays: dict[str, np.ndarray] = {}
        for part, records, sub in (("enc", session.encoder_records, model.encoder),
                                   ("dec", decoded, model.decoder)):
            if records:
                for name, array in records_npz_chunk(list(records), sub).items():
                    arrays[f"{part}.{name}"] = array
        arrays["handoff.h"] = np.stack([s.h for s in handoff.layers]).astype(np.float32)
        if handoff.layers[0].c is not None:
            arrays["handoff.c"] = np.stack([s.c for s in handoff.layers]).astype(np.float32)
        arrays.update(vocab=np.array(model.source_vocab.tokens, dtype=np.str_),
                      target_vocab=np.array(model.target_vocab.tokens, dtype=np.str_),
                      output=np.array(output, dtype=np.str_))
        if source is not None:
            arrays["source"] = source_array(source)
        write_npz(out, [], arrays)
        return
    document = {**trace_header(model, source),
                "handoff_edits": [asdict(edit) for edit in handoff.edits],
                "encoder": {"steps": records_json(session.encoder_records, model.encoder)},
                "handoff": {"layers": [{"h": s.h.tolist(),
                                        **({"c": s.c.tolist()} if s.c is not None else {})}
                                       for s in handoff.layers]},
                "decoder": {"steps": records_json(decoded, model.decoder)},
                "output": output}
    if fmt == "jsonl":
        header, steps = _seq2seq_lines(document)
        write_json_trace(header, steps, out, lines=True, stdout=stdout)
    elif out is None:
        (stdout or sys.stdout).write(dumps(document) + "\n")
    else:
        with atomic_write(out) as f:
            f.write(dumps(document) + "\n")
