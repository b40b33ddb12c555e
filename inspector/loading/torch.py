"""PyTorch files: plain state_dicts and checkpoint dicts, recognised from their key names and
shapes.

An embedding (or one-hot input) + `nn.RNN|LSTM|GRU` + `nn.Linear` head, under any module names,
is renamed onto our `CharRNN` (`embed.`, `rnn.`, `head.`), so the engine inspects it natively
with exact numbers. Anything ambiguous or unsupported is refused with one line naming the keys,
never guessed.
"""

from __future__ import annotations

import pickle
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from inspector.loading.files import importable_cwd, read_vocab
from models.char_rnn import CharRNN, CharRNNConfig
from models.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    CheckpointError,
    first_line,
    nonfinite_warning,
)

if TYPE_CHECKING:
    from inspector.loading import ModelSource

WRAPPER_PREFIXES = ("module.", "_orig_mod.")
WRAPPER_KEYS = ("model_state_dict", "state_dict", "model", "net", "module", "weights")
RECURRENT_KEY = re.compile(r"^(?P<prefix>.*?)weight_ih_l(?P<layer>\d+)(?P<reverse>_reverse)?$")
GATE_COUNT = {4: "lstm", 3: "gru", 1: "rnn"}
BLOCKED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
UNPICKLER_BOILERPLATE = ("Weights only load failed", "Please file an issue",
                         "Check the documentation")


def load_torch(path: Path, source: ModelSource) -> Checkpoint:
    """A `torch.save` file: a state_dict, a training checkpoint's dict around one, or (only with
    --trust-pickle) a whole module, inspected through its own forward."""
    content, wrapper = unwrap(path, torch_load(path, source.trust_pickle))
    if isinstance(content, torch.nn.Module):
        from inspector.loading.factory import from_module

        checkpoint = from_module(path, content, source)
    else:
        kind = f"PyTorch state_dict ({path.suffix or 'no suffix'})"
        checkpoint = detect(path, dict(content), source, kind, wrapper, [])
    if source.trust_pickle:  # a warning like the others: stderr for commands, a note in the TUI
        checkpoint.warnings.insert(0, f"{path}: unpickled with --trust-pickle, which runs code "
                                      "from the file; do this only for files you made")
    return checkpoint


def pickled_globals(path: Path) -> list[str]:
    """The classes and functions a pickle would import, found without unpickling it."""
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception:  # an unreadable archive: the caller reports the load error instead
        return []
    # The user's own classes first: they say what the file is (torch's own come along with them).
    return sorted(names, key=lambda name: (name.startswith("torch."), name))


def torch_load(path: Path, trust_pickle: bool) -> Any:
    """torch.load on the CPU; arbitrary objects only with --trust-pickle."""
    try:
        with warnings.catch_warnings():  # torch warns about odd bytes; the error says it all
            warnings.simplefilter("ignore")
            if trust_pickle:
                importable_cwd()
                return torch.load(str(path), map_location="cpu", weights_only=False)
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except PermissionError:
        raise CheckpointError(f"{path}: permission denied") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file") from None
    except pickle.UnpicklingError as exc:
        # Old (non-zip) files cannot be scanned; the unpickler names the first class it refused.
        names = pickled_globals(path) or BLOCKED_GLOBAL.findall(str(exc))[:1]
        if names and not trust_pickle:
            shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            raise CheckpointError(
                f"{path}: holds pickled Python objects ({shown}); loading them would run code, "
                "so it is refused: re-save it with torch.save(model.state_dict(), PATH), or pass "
                "--trust-pickle if you made this file yourself") from None
        raise CheckpointError(f"{path}: not a readable PyTorch file "
                              f"({unpickler_reason(exc)})") from None
    except Exception as exc:  # garbage makes torch.load raise almost anything (struct.error, …)
        if "TorchScript" in str(exc):
            raise torchscript_error(path) from None
        raise CheckpointError(f"{path}: not a readable PyTorch file "
                              f"({first_line(exc)})") from None


def torchscript_error(path: Path) -> CheckpointError:
    """TorchScript hides the recurrent layers inside compiled code: nothing to hook."""
    return CheckpointError(f"{path}: is a TorchScript archive (torch.jit.save), which is not "
                           "supported: save the model's state_dict with torch.save("
                           "model.state_dict(), PATH) instead")


def unpickler_reason(exc: pickle.UnpicklingError) -> str:
    """The actual reason in torch's weights-only error, without its advice to load unsafely."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reasons = [line for line in lines if not line.startswith(UNPICKLER_BOILERPLATE)]
    return reasons[0][:200] if reasons else first_line(exc)


def unwrap(path: Path, obj: Any) -> tuple[dict[str, torch.Tensor] | torch.nn.Module, str | None]:
    """The state_dict (or module) inside a training checkpoint's wrapper dict."""
    if isinstance(obj, torch.nn.Module):
        return obj, None
    if not isinstance(obj, dict) or not obj:
        what = "an empty dict" if isinstance(obj, dict) else f"a {type(obj).__name__}"
        raise CheckpointError(f"{path}: holds {what}, not a state_dict")
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj, None
    for key in WRAPPER_KEYS:
        inner = obj.get(key)
        if isinstance(inner, torch.nn.Module):
            return inner, key
        if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor)
                                                     for v in inner.values()):
            return inner, key
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if tensors:
        return tensors, None
    raise CheckpointError(f"{path}: no state_dict found (top-level keys: "
                          f"{', '.join(map(str, list(obj)[:8]))})")


def strip_common(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the prefixes wrappers add to every key: DataParallel / DistributedDataParallel's
    `module.` and torch.compile's `_orig_mod.`, in any nesting."""
    while tensors:
        wrapper = next((p for p in WRAPPER_PREFIXES if all(k.startswith(p) for k in tensors)), None)
        if wrapper is None:
            break
        tensors = {k[len(wrapper):]: v for k, v in tensors.items()}
    return tensors


def restore_tied(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> list[str]:
    """safetensors.torch.save_model drops tied copies and names them in the metadata
    (`dropped -> kept`); put them back. Returns the restored names."""
    restored = []
    for dropped, kept in metadata.items():
        if dropped not in tensors and kept in tensors:
            tensors[dropped] = tensors[kept]
            restored.append(f"{dropped} = {kept}")
    return restored


@dataclass(frozen=True)
class Stack:
    """One nn.RNN/LSTM/GRU's weights in a state_dict, from their names and shapes."""

    prefix: str  # every key of the stack starts with it: `rnn.`, `body.core.`
    cell: str
    layers: int
    hidden: int
    input_size: int
    bias: bool
    keys: frozenset[str]


def recurrent_stacks(path: Path, tensors: dict[str, torch.Tensor]) -> list[Stack]:
    """Every recurrent stack, refusing the directions and projections a step-through cannot
    show."""
    prefixes: dict[str, set[int]] = {}
    for key in tensors:
        match = RECURRENT_KEY.match(key)
        if match:
            if match["reverse"]:
                raise CheckpointError(f"{path}: {key} belongs to a bidirectional recurrent layer, "
                                      "which is not supported (a step-through needs one direction)")
            prefixes.setdefault(match["prefix"], set()).add(int(match["layer"]))
    projections = [k for k in tensors if re.search(r"weight_hr_l\d+$", k)]
    if projections:
        raise CheckpointError(f"{path}: {', '.join(projections)}: LSTM projections (proj_size) "
                              "are not supported")
    if not prefixes:
        raise CheckpointError(f"{path}: no nn.RNN/LSTM/GRU weights (no *weight_ih_l0 key); "
                              "for a model with its own forward use --factory module:callable")
    return [stack_of(path, tensors, prefix, layers) for prefix, layers in sorted(prefixes.items())]


def stack_of(path: Path, tensors: dict[str, torch.Tensor], prefix: str, layers: set[int]
             ) -> Stack:
    if layers != set(range(len(layers))):
        raise CheckpointError(f"{path}: recurrent layers {sorted(layers)} of {prefix}* are not "
                              "numbered 0..n-1")
    w_ih, w_hh = tensors[f"{prefix}weight_ih_l0"], tensors.get(f"{prefix}weight_hh_l0")
    if w_hh is None or w_hh.ndim != 2 or w_ih.ndim != 2:
        raise CheckpointError(f"{path}: {prefix}weight_ih_l0 has no matching 2-D "
                              f"{prefix}weight_hh_l0")
    hidden, input_size = w_hh.shape[1], w_ih.shape[1]
    gates = w_ih.shape[0] // hidden if hidden else 0
    if gates not in GATE_COUNT or w_ih.shape[0] % hidden:
        raise CheckpointError(f"{path}: {prefix}weight_ih_l0 has shape {tuple(w_ih.shape)}, which "
                              f"fits no RNN/LSTM/GRU with hidden size {hidden}")
    keys = frozenset(k for k in tensors if k.startswith(prefix) and re.search(r"_l\d+$", k))
    return Stack(prefix, GATE_COUNT[gates], len(layers), hidden, input_size,
                 f"{prefix}bias_ih_l0" in tensors, keys)


def linear_candidates(tensors: dict[str, torch.Tensor], used: set[str], in_features: int
                      ) -> list[str]:
    return sorted(k for k, v in tensors.items() if k not in used and k.endswith("weight")
                  and v.ndim == 2 and v.shape[1] == in_features)


def find_head(path: Path, tensors: dict[str, torch.Tensor], rnn_keys: set[str],
              hidden: int) -> str:
    """The Linear head: a [vocab, hidden] weight, preferring the one with a bias; a tied
    embedding of the same shape and values is not a second head."""
    candidates = linear_candidates(tensors, rnn_keys, hidden)
    with_bias = [k for k in candidates if (b := tensors.get(f"{k[:-len('weight')]}bias"))
                 is not None and b.ndim == 1 and b.shape[0] == tensors[k].shape[0]]
    if len(with_bias) == 1:
        return with_bias[0]
    if not candidates:
        raise CheckpointError(f"{path}: no Linear head taking the hidden size {hidden} "
                              "(no 2-D *weight of shape [vocab, hidden])")
    tied = len(candidates) == 2 and torch.equal(tensors[candidates[0]], tensors[candidates[1]])
    if len(candidates) == 1 or (tied and not with_bias):
        return candidates[-1]
    ambiguous = with_bias or candidates
    raise CheckpointError(f"{path}: two candidate heads ({', '.join(ambiguous)}); keep one in the "
                          "state_dict or use --factory module:callable")


def detect(path: Path, tensors: dict[str, torch.Tensor], options: ModelSource, source: str,
           wrapper: str | None, tied: list[str]) -> Checkpoint:
    """Recognise embedding/one-hot + recurrent + head; rename onto CharRNN and load."""
    tensors = strip_common(tensors)
    stacks = recurrent_stacks(path, tensors)
    if len(stacks) == 2:
        from inspector.loading.seq2seq_pairs import detect_pair

        return detect_pair(path, tensors, stacks, options, source, wrapper, tied)
    if len(stacks) > 2:
        names = ", ".join(f"{stack.prefix}weight_ih_l0" for stack in stacks)
        raise CheckpointError(f"{path}: {len(stacks)} recurrent stacks ({names}); use "
                              "--factory module:callable for this model")
    stack = stacks[0]
    prefix, layers, cell, hidden = stack.prefix, stack.layers, stack.cell, stack.hidden
    input_size, bias, rnn_keys = stack.input_size, stack.bias, set(stack.keys)
    head = find_head(path, tensors, rnn_keys, hidden)
    head_bias = f"{head[:-len('weight')]}bias"
    vocab_size = tensors[head].shape[0]
    used = rnn_keys | {head, head_bias}
    embeds = [k for k in tensors if k not in used and tensors[k].ndim == 2
              and tensors[k].shape[1] == input_size]
    if len(embeds) > 1:
        raise CheckpointError(f"{path}: two candidate embeddings ({', '.join(embeds)}); keep one "
                              "or use --factory module:callable")
    embed = embeds[0] if embeds else None
    if embed is None and input_size != vocab_size:
        raise CheckpointError(f"{path}: {prefix}weight_ih_l0 takes {input_size} inputs but no "
                              f"embedding has that width, and the head {head} has {vocab_size} "
                              "outputs, so it is not one-hot either; a model whose outputs are "
                              "not its input tokens (a classifier) cannot be stepped through")
    if embed is not None and tensors[embed].shape[0] != vocab_size:
        raise CheckpointError(f"{path}: embedding {embed} has {tensors[embed].shape[0]} rows but "
                              f"head {head} has {vocab_size} outputs; input and output "
                              "vocabularies must be the same")
    used |= {embed} if embed else set()
    extra = sorted(set(tensors) - used)
    if extra:
        raise CheckpointError(f"{path}: tensors {', '.join(extra[:6])} are not part of embedding "
                              "+ RNN + Linear; use --factory module:callable for this model")
    if options.vocab is None:
        raise CheckpointError(f"{path}: a plain state_dict carries no vocabulary: pass --vocab "
                              f"FILE, a JSON list of its {vocab_size} tokens in index order")
    vocab = read_vocab(options.vocab)
    if len(vocab) != vocab_size:
        raise CheckpointError(f"{path}: --vocab {options.vocab} has {len(vocab)} tokens, the "
                              f"model's head {head} has {vocab_size} outputs")
    nonlinearity = options.nonlinearity or "tanh"
    if options.nonlinearity and cell != "rnn":
        raise CheckpointError(f"{path}: --nonlinearity applies to a plain nn.RNN, this is a "
                              f"{cell.upper()}")
    config = CharRNNConfig(vocab_size, cell, layers, hidden, input_size if embed else 0,
                           nonlinearity, bias)
    renamed = {f"rnn.{k[len(prefix):]}": v for k, v in tensors.items() if k in rnn_keys}
    renamed["head.weight"] = tensors[head]
    renamed["head.bias"] = tensors.get(head_bias, torch.zeros(vocab_size))
    if embed:
        renamed["embed.weight"] = tensors[embed]
    module = CharRNN(config)
    load_state(path, module, renamed)
    module.eval()
    dtypes = sorted({str(v.dtype).replace("torch.", "") for v in tensors.values()})
    detected = {"format": source, "recurrent": f"{cell.upper()} {prefix}*, {layers} layer(s), "
                f"hidden {hidden}{'' if bias else ', no bias'}",
                "input": f"embedding {embed} [{vocab_size}x{input_size}]" if embed
                else f"one-hot of {vocab_size}",
                "head": head + ("" if head_bias in tensors else " (no bias)")}
    if wrapper:
        detected["wrapper"] = wrapper
    if tied:
        detected["tied"] = "; ".join(tied)
    if dtypes != ["float32"]:
        detected["dtype"] = f"{', '.join(dtypes)} (computed in float32)"
    if cell == "rnn":
        detected["nonlinearity"] = nonlinearity + ("" if options.nonlinearity else
                                                   " (default; pass --nonlinearity relu if not)")
    meta = {"format_version": FORMAT_VERSION, "kind": "char", "arch": config.arch(),
            "vocab": vocab.to_json(), "detected": detected}
    checkpoint = Checkpoint("char", module, vocab, meta, path)
    checkpoint.warnings += nonfinite_warning(str(path), tensors)
    return checkpoint


def load_state(path: Path, module: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
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
