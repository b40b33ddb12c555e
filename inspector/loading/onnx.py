"""ONNX graphs of recurrent models as `torch.onnx.export` writes them: an optional embedding
(`Gather` on a weight), one `LSTM` / `GRU` / `RNN` node per layer, a head (`MatMul` + `Add` or
`Gemm`), and the shape plumbing between them. Read with the `onnx` package, an optional extra.

ONNX keeps LSTM gates as `[i, o, f, c]` and GRU gates as `[z, r, h]`; they are reordered onto
PyTorch's `[i, f, g, o]` and `[r, z, n]`. The plumbing between the nodes is not interpreted, so
the result is checked instead: the graph itself runs (onnx's reference evaluator) on a probe
input and must give the converted model's logits, else the file is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from inspector.loading.torch import detect
from models.errors import CheckpointError, first_line

if TYPE_CHECKING:
    from inspector.loading import ModelSource
    from models.checkpoint import Checkpoint

INSTALL = "pip install 'rnn-inspect[onnx]'"
RECURRENT = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}
# ONNX gate blocks in PyTorch's order: LSTM i, f, g(c), o from ONNX i, o, f, c; GRU r, z, n
# from ONNX z, r, h.
GATE_ORDER = {"lstm": (0, 2, 3, 1), "gru": (1, 0, 2), "rnn": (0,)}
DEFAULT_ACTIVATIONS = {"lstm": ["Sigmoid", "Tanh", "Tanh"], "gru": ["Sigmoid", "Tanh"],
                       "rnn": ["Tanh"]}
PLUMBING = {"Squeeze", "Unsqueeze", "Transpose", "Reshape", "Shape", "Gather", "Constant",
            "ConstantOfShape", "Expand", "Concat", "Slice", "Cast", "Identity", "Dropout",
            "Softmax", "LogSoftmax", "MatMul", "Add", "Gemm"}
TOLERANCE = 1e-4
PROBE_LIMIT = 1 << 16  # elements of a probe of the declared shape: it cannot make it huge
SHORT_PROBE = 8  # time steps of the first probe
STEP_LIMIT = 1 << 12  # time x batch steps of a probe of the declared shape: ~0.3 s to evaluate
DAMAGE = (TypeError, ValueError, KeyError, IndexError, AttributeError, UnicodeDecodeError)


def onnx_module():
    try:
        import onnx
    except ImportError:
        raise CheckpointError(f"reading ONNX files needs the onnx package: {INSTALL}") from None
    return onnx


def load_onnx(path: Path, source: ModelSource) -> Checkpoint:
    onnx = onnx_module()
    from onnx import numpy_helper

    try:
        # Weights beside the graph (`model.onnx.data`, torch.onnx.export's default) load too;
        # onnx refuses locations outside the model's folder.
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf's DecodeError and friends: garbage bytes
        raise CheckpointError(f"{path}: not a readable ONNX file ({type(exc).__name__}: "
                              f"{first_line(exc)})") from None
    try:
        onnx.checker.check_model(model)
        checkpoint = from_graph(path, source, model, numpy_helper)
    except DAMAGE as exc:  # a graph the checker let through but that is not what it claims
        raise CheckpointError(f"{path}: not a readable ONNX graph ({type(exc).__name__}: "
                              f"{first_line(exc)})") from None
    except onnx.checker.ValidationError as exc:
        raise CheckpointError(f"{path}: not a valid ONNX graph ({first_line(exc)})") from None
    agreement(path, model, checkpoint, "embed.weight" in checkpoint.module.state_dict())
    checkpoint.meta["detected"]["check"] = "the graph's own output on a probe input matches"
    return checkpoint


def from_graph(path: Path, source: ModelSource, model, numpy_helper) -> Checkpoint:
    """Embedding, recurrent nodes and head, read from the graph and renamed onto PyTorch's."""
    graph = model.graph
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    weights[node.output[0]] = numpy_helper.to_array(attr.t)
    ops = {node.op_type for node in graph.node}
    unknown = sorted(ops - PLUMBING - set(RECURRENT))
    if unknown:
        raise CheckpointError(f"{path}: ONNX operators {', '.join(unknown[:6])} are not part of "
                              "an embedding + RNN + head; use --factory module:callable")
    recurrent = [node for node in graph.node if node.op_type in RECURRENT]
    if not recurrent:
        raise CheckpointError(f"{path}: no ONNX LSTM, GRU or RNN node")
    producer = {out: node for node in graph.node for out in node.output}
    tensors, facts, nonlinearity = {}, [], None
    for k, node in enumerate(recurrent):
        cell, layer, act = node_tensors(path, node, weights)
        if k and cell != RECURRENT[recurrent[0].op_type]:
            raise CheckpointError(f"{path}: ONNX recurrent nodes of different kinds; use "
                                  "--factory module:callable")
        nonlinearity = act or nonlinearity
        tensors |= {f"rnn.{name}_l{k}": value for name, value in layer.items()}
    embed = embedding(graph, producer, recurrent[0], weights)
    if embed is not None:
        tensors["embed.weight"] = torch.from_numpy(embed.copy())
    head_weight, head_bias, softmax = head(path, graph, recurrent[-1], weights)
    # copies: onnx's arrays may be read-only views, which torch warns about on stderr
    tensors["head.weight"] = torch.from_numpy(np.array(head_weight, order="C"))
    tensors["head.bias"] = torch.from_numpy(np.array(head_bias, order="C"))
    if softmax:
        facts.append(f"{softmax} head: its input used as logits")
    checkpoint = detect(path, tensors, source, f"ONNX graph ({len(recurrent)} "
                        f"{recurrent[0].op_type} node(s), opset "
                        f"{max((o.version for o in model.opset_import), default=0)})", None, [],
                        nonlinearity=nonlinearity, facts={"notes": "; ".join(facts)}
                        if facts else {})
    return checkpoint


def attributes(node) -> dict:
    from onnx import helper

    return {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}


def node_tensors(path: Path, node, weights: dict[str, np.ndarray]
                 ) -> tuple[str, dict[str, torch.Tensor], str | None]:
    cell = RECURRENT[node.op_type]
    attrs = attributes(node)
    name = node.name or node.op_type
    direction = attrs.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else str(direction)
    if direction != "forward":
        raise CheckpointError(f"{path}: ONNX {node.op_type} {name!r} runs {direction}, which a "
                              "step-through cannot show (one forward direction is needed)")
    activations = [a.decode() if isinstance(a, bytes) else str(a)
                   for a in attrs.get("activations", [])] or DEFAULT_ACTIVATIONS[cell]
    act = None
    if cell == "rnn" and activations in (["Tanh"], ["Relu"]):
        act = activations[0].lower()
    elif activations != DEFAULT_ACTIVATIONS[cell]:
        raise CheckpointError(f"{path}: ONNX {node.op_type} {name!r} uses activations "
                              f"{activations}, which no nn.{node.op_type} computes")
    if attrs.get("clip") is not None or attrs.get("input_forget", 0):
        raise CheckpointError(f"{path}: ONNX {node.op_type} {name!r} clips or couples its gates "
                              "(clip / input_forget), which nn.LSTM does not")
    if cell == "gru" and not attrs.get("linear_before_reset", 0):
        raise CheckpointError(f"{path}: ONNX GRU {name!r} has linear_before_reset=0, which "
                              "applies the reset gate before the recurrent matmul: no nn.GRU "
                              "computes that exactly")
    inputs = list(node.input) + [""] * 8
    if inputs[4]:
        raise CheckpointError(f"{path}: ONNX {node.op_type} {name!r} takes sequence_lens; export "
                              "without packed sequences")
    w, r = weights.get(inputs[1]), weights.get(inputs[2])
    if w is None or r is None or w.ndim != 3 or r.ndim != 3 or w.shape[0] != 1:
        raise CheckpointError(f"{path}: ONNX {node.op_type} {name!r} has no constant W and R "
                              "of one direction")
    hidden = r.shape[2]
    gates = len(GATE_ORDER[cell])
    if r.shape[1:] != (gates * hidden, hidden) or w.shape[1] != gates * hidden:
        raise CheckpointError(f"{path}: ONNX {node.op_type} {name!r} has W {w.shape} and R "
                              f"{r.shape}, which do not fit hidden_size {hidden}")
    b = weights.get(inputs[3]) if inputs[3] else np.zeros((1, 2 * gates * hidden), w.dtype)
    if b is None or b.shape != (1, 2 * gates * hidden):
        raise CheckpointError(f"{path}: ONNX {node.op_type} {name!r} has no constant bias of "
                              f"shape (1, {2 * gates * hidden})")
    for state in inputs[5:7]:
        if state and state in weights and np.any(weights[state]):
            raise CheckpointError(f"{path}: ONNX {node.op_type} {name!r} starts from a nonzero "
                                  "constant state; the inspector starts at zero")
    order = np.concatenate([np.arange(hidden) + k * hidden for k in GATE_ORDER[cell]])

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a[order]))

    return cell, {"weight_ih": tensor(w[0]), "weight_hh": tensor(r[0]),
                  "bias_ih": tensor(b[0, :gates * hidden]),
                  "bias_hh": tensor(b[0, gates * hidden:])}, act


def embedding(graph, producer: dict, first, weights: dict) -> np.ndarray | None:
    """The table of a Gather on the graph's input that feeds the first recurrent node."""
    inputs = {i.name for i in graph.input}
    pending, seen = [first.input[0]], set()
    while pending:
        name = pending.pop()
        if name in seen or name in inputs:
            continue
        seen.add(name)
        node = producer.get(name)
        if node is None:
            continue
        if node.op_type == "Gather" and node.input[0] in weights and node.input[1] in inputs:
            return weights[node.input[0]]
        pending.extend(i for i in node.input if i and i not in weights)
    return None


def head(path: Path, graph, last, weights: dict) -> tuple[np.ndarray, np.ndarray, str | None]:
    """The Linear after the last recurrent node: (weight [V, H], bias [V], softmax op or None)."""
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    hidden = weights[last.input[2]].shape[2]
    pending, seen = [last.output[0]], set()
    weight = bias = None
    softmax = None
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in consumers.get(name, []):
            if node.op_type in ("Softmax", "LogSoftmax"):
                softmax = node.op_type
            if node.op_type == "MatMul" and weight is None:
                matrix = weights.get(node.input[1])
                if matrix is not None and matrix.ndim == 2 and matrix.shape[0] == hidden:
                    weight = matrix.T
            elif node.op_type == "Gemm" and weight is None:
                attrs = attributes(node)
                matrix = weights.get(node.input[1])
                if matrix is not None and matrix.ndim == 2:
                    weight = matrix if attrs.get("transB", 0) else matrix.T
                    bias = weights.get(node.input[2]) if len(node.input) > 2 else None
            elif node.op_type == "Add" and weight is not None and bias is None:
                bias = next((weights[i] for i in node.input if i in weights
                             and weights[i].ndim == 1), None)
            if node.op_type not in RECURRENT:
                pending.extend(node.output)
    if weight is None or weight.shape[1] != hidden:
        raise CheckpointError(f"{path}: no Linear head (MatMul or Gemm on a [hidden, vocab] "
                              "weight) after the last recurrent node")
    if bias is None:
        bias = np.zeros(weight.shape[0], weight.dtype)
    return weight, bias, softmax


def agreement(path: Path, model, checkpoint: Checkpoint, embedded: bool) -> None:
    """Run the graph on a probe and compare with the converted module, in either layout the
    graph's input may have (sequence first, as torch exports, or batch first)."""

    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    feeds = [i for i in graph.input if i.name not in initializers]
    if len(feeds) != 1:
        raise CheckpointError(f"{path}: the ONNX graph takes {len(feeds)} inputs; one (the "
                              "tokens) is needed")
    dims = [d.dim_value or 2 for d in feeds[0].type.tensor_type.shape.dim]
    if not 2 <= len(dims) <= 3:
        raise CheckpointError(f"{path}: the ONNX graph's input has shape {dims}; expected "
                              "[time, batch] token ids or [time, batch, vocab] one-hot vectors")
    vocab_size = checkpoint.module.head.out_features
    probe, outputs = run_probe(path, model, feeds[0].name, dims, embedded, vocab_size)
    ids = torch.from_numpy(probe if embedded else probe.argmax(-1)).long()
    if ids.ndim != 2:
        raise CheckpointError(f"{path}: the ONNX graph's input has shape {dims}; expected "
                              "[time, batch] token ids or one-hot vectors")
    with torch.no_grad():
        candidates = [checkpoint.module(ids.T)[0].transpose(0, 1).numpy(),  # sequence first
                      checkpoint.module(ids)[0].numpy()]  # batch first
    for out in outputs:
        for ours in candidates:
            for theirs in (out, np.log(np.clip(out, 1e-30, None))):
                if theirs.shape == ours.shape and logits_agree(ours, theirs):
                    return
    raise CheckpointError(f"{path}: the ONNX graph's output differs from its recurrent nodes "
                          "read as embedding + RNN + head; use --factory module:callable")


def run_probe(path: Path, model, feed: str, dims: list[int], embedded: bool, vocab_size: int
              ) -> tuple[np.ndarray, list]:
    """The graph's outputs on a random probe: a short one first (onnx's reference evaluator
    steps a recurrent node in Python, so a declared length of 20,000 steps costs seconds), then,
    if the graph insists on its declared shape, one of that shape within STEP_LIMIT steps."""
    from onnx.reference import ReferenceEvaluator

    short = [min(dims[0], SHORT_PROBE), min(dims[1], 2), *dims[2:]]
    shapes = [short] if short == dims else [short, dims]
    rng = np.random.default_rng(0)
    failure: Exception | None = None
    for shape in shapes:
        steps = shape[0] * shape[1]
        if shape is not short and (steps > STEP_LIMIT or steps * vocab_size > PROBE_LIMIT):
            raise CheckpointError(
                f"{path}: the ONNX graph does not run on a short probe ({type(failure).__name__}: "
                f"{first_line(failure)}) and its declared input of {dims[0]} x {dims[1]} steps "
                f"is too long for its check ({STEP_LIMIT:,} steps, {PROBE_LIMIT:,} values)")
        if embedded:
            probe = rng.integers(0, vocab_size, size=shape)
        else:
            probe = np.eye(vocab_size, dtype=np.float32)[rng.integers(0, vocab_size,
                                                                      size=shape[:-1])]
        try:
            return probe, ReferenceEvaluator(model).run(None, {feed: probe})
        except Exception as exc:  # the graph's own plumbing failed on a probe of this shape
            failure = exc
    raise CheckpointError(f"{path}: the ONNX graph does not run on a probe input "
                          f"({type(failure).__name__}: {first_line(failure)})")


def logits_agree(ours: np.ndarray, theirs: np.ndarray) -> bool:
    """Logits up to a constant per step (a log-softmax), or equal probabilities."""
    shift = (theirs - ours).mean(axis=-1, keepdims=True)
    return bool(np.abs(theirs - ours - shift).max() <= TOLERANCE)
