"""PyTorch files: plain state_dicts and checkpoint dicts, recognised from their key names and
shapes.

An embedding (or one-hot input) + `nn.RNN|LSTM|GRU` + `nn.Linear` head, under any module names,
is renamed onto our `CharRNN` (`embed.`, `rnn.`, `head.`), so the engine inspects it natively
with exact numbers. Anything ambiguous or unsupported is refused with one line naming the keys,
never guessed.
"""

from __future__ import annotations

import pickle
import pickletools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from inspector.loading.files import (
    first_duplicate,
    importable_cwd,
    read_labels,
    read_vocab,
)
from models.char_rnn import CharRNN, CharRNNConfig
from models.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    CheckpointError,
    first_line,
    nonfinite_warning,
)
from models.vocab import CharVocab

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
    """A `torch.save` file: a state_dict, a training checkpoint's dict around one (with the
    vocabulary it may keep), an `{'encoder': sd, 'decoder': sd}` pair, a state_dict with its
    decoder in `--decoder FILE`, or (only with --trust-pickle) a whole module, inspected through
    its own forward (or, when its class has no forward, through its state_dict)."""
    obj = torch_load(path, source.trust_pickle)
    stored = stored_vocab(path, obj) if isinstance(obj, dict) else None
    labels = stored_labels(path, obj) if isinstance(obj, dict) else None
    kind = f"PyTorch state_dict ({path.suffix or 'no suffix'})"
    halves = encoder_decoder(path, obj)
    if halves is not None:
        checkpoint = detect(path, halves, source, kind, "{'encoder': …, 'decoder': …}", [],
                            vocab=stored)
    else:
        content, wrapper = unwrap(path, obj)
        if isinstance(content, torch.nn.Module) and has_forward(content):
            from inspector.loading.factory import from_module

            checkpoint = from_module(path, content, source)
        else:
            if isinstance(content, torch.nn.Module):
                wrapper = f"{type(content).__name__} without a forward: its state_dict"
                content = content.state_dict()
            tensors = dict(content)
            if source.decoder is not None:
                tensors = with_decoder(path, tensors, source)
                wrapper = f"encoder {path.name} + --decoder {source.decoder}"
            checkpoint = detect(path, tensors, source, kind, wrapper, [], vocab=stored,
                                labels=labels)
    if source.trust_pickle:  # a warning like the others: stderr for commands, a note in the TUI
        checkpoint.warnings.insert(0, f"{path}: unpickled with --trust-pickle, which runs code "
                                      "from the file; do this only for files you made")
    return checkpoint


def has_forward(module: torch.nn.Module) -> bool:
    """A class that defines its forward (TorchScript's are compiled: refused as such)."""
    if isinstance(module, torch.jit.ScriptModule):
        return True
    return type(module).forward is not torch.nn.Module.forward


def state_of(value: Any) -> dict[str, torch.Tensor] | None:
    """A state_dict, or a module's, or None."""
    if isinstance(value, torch.nn.Module):
        return value.state_dict()
    if isinstance(value, dict) and value and all(isinstance(v, torch.Tensor)
                                                 for v in value.values()):
        return value
    return None


def encoder_decoder(path: Path, obj: Any) -> dict[str, torch.Tensor] | None:
    """`{'encoder': sd, 'decoder': sd}` (state_dicts or modules) as one prefixed state_dict."""
    if not isinstance(obj, dict):
        return None
    halves = {side: state_of(obj.get(side)) for side in ("encoder", "decoder")}
    if any(half is None for half in halves.values()):
        return None
    return prefixed(halves["encoder"], halves["decoder"])


def prefixed(encoder: dict, decoder: dict) -> dict[str, torch.Tensor]:
    return {f"encoder.{k}": v for k, v in encoder.items()} | {
        f"decoder.{k}": v for k, v in decoder.items()}


def with_decoder(path: Path, encoder: dict[str, torch.Tensor], source: ModelSource
                 ) -> dict[str, torch.Tensor]:
    """`MODEL --decoder FILE`: the two halves of a seq2seq model saved apart."""
    from inspector.loading.files import readable_file

    decoder_path = readable_file(source.decoder)
    decoder = state_of(unwrap(decoder_path, torch_load(decoder_path, source.trust_pickle))[0])
    if decoder is None:
        raise CheckpointError(f"{decoder_path}: --decoder holds no state_dict")
    return prefixed(encoder, decoder)


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
            raise refused_pickle(path, names) from None
        raise CheckpointError(f"{path}: not a readable PyTorch file "
                              f"({unpickler_reason(exc)})") from None
    except ModuleNotFoundError as exc:  # the pickled model's class lives in the user's code
        raise CheckpointError(f"{path}: the pickled model needs the module {exc.name!r}, which is "
                              "not importable: run from the folder of the code that saved it, "
                              "or set PYTHONPATH to it") from None
    except Exception as exc:  # garbage makes torch.load raise almost anything (struct.error, …)
        if "TorchScript" in str(exc):
            raise torchscript_error(path) from None
        raise CheckpointError(f"{path}: not a readable PyTorch file "
                              f"({first_line(exc)})") from None


def refused_pickle(path: Path, names: list[str]) -> CheckpointError:
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return CheckpointError(
        f"{path}: holds pickled Python objects ({shown}); loading them would run code, so it is "
        "refused: re-save it with torch.save(model.state_dict(), PATH), or pass --trust-pickle "
        "if you made this file yourself")


def plain_pickle_globals(path: Path) -> list[str]:
    """The classes and functions a plain pickle would import, read from its opcodes without
    running any (any protocol; torch's weights-only reader stops at protocol 4's frames)."""
    names: list[str] = []
    strings: list[str] = []
    try:
        with path.open("rb") as f:
            for opcode, arg, _ in pickletools.genops(f):
                if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                    strings = [*strings[-1:], str(arg)]
                elif opcode.name in ("GLOBAL", "INST"):
                    names.append(str(arg).replace(" ", "."))
                elif opcode.name.startswith("EXT"):  # copyreg's registry: a callable by number
                    names.append(f"extension code {arg}")
                elif opcode.name == "STACK_GLOBAL" and len(strings) == 2:
                    names.append(".".join(strings))
    except Exception as exc:  # pickletools raises ValueError and friends on damaged bytes
        raise CheckpointError(f"{path}: not a readable pickle ({type(exc).__name__}: "
                              f"{first_line(exc)})") from None
    return sorted(set(names))


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


CELL_KEY = re.compile(r"^(?P<prefix>.*?)weight_ih$")
CELL_NAMES = {"lstm": "nn.LSTMCell", "gru": "nn.GRUCell", "rnn": "nn.RNNCell"}


def natural(name: str) -> list:
    """`cells.10.` after `cells.9.`, `lstm2.` after `lstm1.`."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def cell_stack(path: Path, tensors: dict[str, torch.Tensor]
               ) -> tuple[dict[str, torch.Tensor], str | None]:
    """nn.LSTMCell / GRUCell / RNNCell weights (`lstm1.weight_ih`, `lstm2.weight_ih`, …) as
    the layers of one stack (`lstm1+lstm2.weight_ih_l0`, `_l1`, …), which computes exactly what
    the cells compute when each is fed the h of the one before: taken in name order, refused
    unless their widths chain so. Returns the tensors and what was read (None: no cells)."""
    prefixes = sorted((m["prefix"] for key in tensors if (m := CELL_KEY.match(key))),
                      key=natural)
    if not prefixes:
        return tensors, None
    if any(RECURRENT_KEY.match(key) for key in tensors):
        raise CheckpointError(f"{path}: both recurrent cells ({prefixes[0]}weight_ih) and "
                              "nn.RNN/LSTM/GRU layers; use --factory module:callable for this "
                              "model")
    cells, widths = [], []
    for prefix in prefixes:
        w_ih, w_hh = tensors[f"{prefix}weight_ih"], tensors.get(f"{prefix}weight_hh")
        if w_hh is None or w_hh.ndim != 2 or w_ih.ndim != 2 or not w_hh.shape[1] or \
                w_ih.shape[0] % w_hh.shape[1] or w_ih.shape[0] // w_hh.shape[1] not in GATE_COUNT:
            raise CheckpointError(f"{path}: {prefix}weight_ih has no matching {prefix}weight_hh "
                                  "of a recurrent cell")
        cells.append(GATE_COUNT[w_ih.shape[0] // w_hh.shape[1]])
        widths.append((w_ih.shape[1], w_hh.shape[1]))
    names = ", ".join(f"{p}*" for p in prefixes)
    if len({p.rstrip(".").rpartition(".")[0] for p in prefixes}) != 1:
        raise CheckpointError(f"{path}: recurrent cells {names} live in different modules (an "
                              "encoder and a decoder?); use --factory module:callable for this "
                              "model")
    if len(set(cells)) != 1 or len({hidden for _, hidden in widths}) != 1:
        raise CheckpointError(f"{path}: recurrent cells {names} of different kinds or sizes; "
                              "use --factory module:callable for this model")
    hidden = widths[0][1]
    fed = [k for k, (inputs, _) in enumerate(widths) if k and inputs != hidden]
    if fed:
        raise CheckpointError(f"{path}: cell {prefixes[fed[0]]}* takes {widths[fed[0]][0]} inputs, "
                              f"not the {hidden} of the cell before it, so it is not a plain stack "
                              "(input feeding?); use --factory module:callable for this model")
    stack = "+".join(p.rstrip(".") or "cell" for p in prefixes) + "."
    renamed = {k: v for k, v in tensors.items()
               if not any(k.startswith(p) and k[len(p):] in CELL_PARAMS for p in prefixes)}
    for layer, prefix in enumerate(prefixes):
        for name in CELL_PARAMS:
            if f"{prefix}{name}" in tensors:
                renamed[f"{stack}{name}_l{layer}"] = tensors[f"{prefix}{name}"]
    return renamed, (f"{CELL_NAMES[cells[0]]} {names}, stacked in that order (each fed the h of "
                     "the one before)")


CELL_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


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


FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
VOCAB_KEYS = ("tokens", "vocab", "chars", "itos", "int2char", "idx2char", "char2int", "stoi",
              "char_to_ix", "ix_to_char", "idx2word", "word2idx", "word_to_ix", "ix_to_word")
LABEL_KEYS = ("labels", "tags", "classes", "idx2label", "label2idx", "idx2tag", "tag2idx",
              "tag_to_ix", "ix_to_tag", "label_names", "all_categories")


def checked_tensors(path: Path, tensors: dict) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """What a state_dict must be before anything is built from it: string keys, dense CPU
    tensors with real storage, floating point. float8 weights are widened with a note; integer,
    bool and complex ones are refused (they are not weights of a recurrent layer)."""
    notes = {}
    for key, value in tensors.items():
        if not isinstance(key, str):
            raise CheckpointError(f"{path}: state_dict key {key!r} is a {type(key).__name__}, "
                                  "not a string")
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: {key} is a {type(value).__name__}, not a tensor")
        if value.layout != torch.strided:
            raise CheckpointError(f"{path}: {key} is a {str(value.layout).removeprefix('torch.')} "
                                  "tensor; save dense weights (tensor.to_dense())")
        if value.is_meta or value.device.type != "cpu":
            raise CheckpointError(f"{path}: {key} has no data (a {value.device.type} tensor); "
                                  "save the trained weights, not a shape-only model")
        if value.is_quantized or value.is_complex() or not value.is_floating_point():
            dtype = str(value.dtype).removeprefix("torch.")
            raise CheckpointError(f"{path}: {key} has dtype {dtype}; the weights of a recurrent "
                                  "model must be floating point")
    wide = sorted(k for k, v in tensors.items() if v.dtype not in FLOAT_DTYPES)
    if wide:
        dtypes = sorted({str(tensors[k].dtype).removeprefix("torch.") for k in wide})
        notes["converted"] = f"{', '.join(dtypes)} weights ({wide[0]}…) widened to float32"
        tensors = {k: v.to(torch.float32) if k in wide else v for k, v in tensors.items()}
    return tensors, notes


def zero_hidden_biases(stack: Stack, tensors: dict[str, torch.Tensor], facts: dict[str, str]
                       ) -> dict[str, torch.Tensor]:
    """Layers with bias_ih but no bias_hh (one bias, as hand-written and Keras cells keep):
    the missing bias is zero, which is exactly what the one-bias forward computes."""
    added = {}
    for layer in range(stack.layers):
        ih = tensors.get(f"{stack.prefix}bias_ih_l{layer}")
        if ih is not None and f"{stack.prefix}bias_hh_l{layer}" not in tensors:
            added[f"rnn.bias_hh_l{layer}"] = torch.zeros_like(ih)
    if added:
        facts["bias_hh"] = f"absent in {len(added)} layer(s): zero"
    return added


def stored_vocab(path: Path, obj: dict) -> list[str] | None:
    """A vocabulary a checkpoint dict keeps beside its weights, in index order: a list of
    tokens (`tokens`, `chars`, `itos`, a string of characters), or a mapping either way
    (`int2char` index -> token, `char2int` / `stoi` token -> index). None when there is none."""
    for key in VOCAB_KEYS:
        value = obj.get(key)
        if value is None or isinstance(value, torch.Tensor | int | float):  # a size, not a list
            continue
        if isinstance(value, str) and key == "chars":  # min-char-rnn-style: a string of them
            return list(value)
        if isinstance(value, list | tuple) and all(isinstance(t, str) for t in value):
            return list(value)
        if isinstance(value, dict) and value:
            return vocab_from_mapping(path, key, value)
        raise CheckpointError(f"{path}: {key!r} is a {type(value).__name__}, not a list of "
                              "tokens or a token-index mapping")
    return None


def stored_labels(path: Path, obj: dict) -> list[str] | None:
    """The names of the head's outputs a checkpoint dict keeps beside its weights (a tagger's
    `tags` / `tag_to_ix`, a classifier's `classes`), in index order; None when there are none."""
    for key in LABEL_KEYS:
        value = obj.get(key)
        if value is None or isinstance(value, torch.Tensor | int | float):
            continue
        if isinstance(value, list | tuple) and value and all(isinstance(t, str) for t in value):
            labels = list(value)
        elif isinstance(value, dict) and value:
            labels = vocab_from_mapping(path, key, value)
        else:  # not names (a training run's label ids, a count): not the head's labels
            continue
        duplicate = first_duplicate(labels)
        if duplicate is not None:
            raise CheckpointError(f"{path}: {key!r} names {duplicate!r} twice")
        return labels
    return None


def choose_labels(path: Path, given: str | None, stored: list[str] | None, outputs: int,
                  vocab_size: int) -> tuple[list[str] | None, str | None]:
    """The head's labels: --labels (cross-checked with labels the file stores), else the file's,
    else numbered 0..K-1 when the head is not the vocabulary; and where they came from."""
    if given is not None:
        labels = read_labels(given)
        if stored is not None and labels != stored:
            raise CheckpointError(f"{path}: --labels {given} differs from the labels stored in "
                                  f"the file ({len(stored)} labels); drop --labels or fix it")
        origin = f"--labels {given}" + (" (matches the file's)" if stored is not None else "")
    elif stored is not None:
        labels, origin = stored, "stored in the file"
    elif outputs != vocab_size:
        return [str(i) for i in range(outputs)], (
            f"{outputs} outputs, not the {vocab_size} tokens of the vocabulary: labelled "
            f"0…{outputs - 1} (name them with --labels FILE)")
    else:
        return None, None
    if len(labels) != outputs:
        raise CheckpointError(f"{path}: {origin.split(' (')[0]} names {len(labels)} labels, the "
                              f"head has {outputs} outputs")
    return labels, origin


def vocab_from_mapping(path: Path, key: str, mapping: dict) -> list[str]:
    items = list(mapping.items())
    if all(isinstance(k, int) and isinstance(v, str) for k, v in items):
        by_index = dict(items)
    elif all(isinstance(k, str) and isinstance(v, int) for k, v in items):
        by_index = {v: k for k, v in items}
        if len(by_index) != len(items):
            raise CheckpointError(f"{path}: {key!r} maps two tokens to the same index")
    else:
        raise CheckpointError(f"{path}: {key!r} is neither index -> token nor token -> index")
    if set(by_index) != set(range(len(by_index))):
        raise CheckpointError(f"{path}: {key!r} does not number its {len(by_index)} tokens "
                              "0..n-1")
    return [by_index[i] for i in range(len(by_index))]


def choose_vocab(path: Path, given: str | None, stored: list[str] | None, size: int,
                 needs: str, what: str = "--vocab") -> tuple[CharVocab, str]:
    """--vocab when given (cross-checked with a vocabulary the file stores), else the file's.
    Returns the vocabulary and where it came from, for `info`."""
    if given is None and stored is None:
        raise CheckpointError(f"{path}: a plain state_dict carries no vocabulary: pass {what} "
                              f"FILE, a JSON list of its {size} tokens in index order")
    if given is not None:
        vocab = read_vocab(given, what)
        if stored is not None and list(vocab.tokens) != stored:
            raise CheckpointError(f"{path}: {what} {given} differs from the vocabulary stored "
                                  f"in the file ({len(stored)} tokens); drop {what} or fix it")
        origin = f"{what} {given}" + (" (matches the file's)" if stored is not None else "")
    else:
        vocab = vocab_of(path, stored)
        given, origin = "the file's vocabulary", "stored in the file"
    if len(vocab) != size:
        raise CheckpointError(f"{path}: {given} has {len(vocab)} tokens, {needs}")
    return vocab, origin


def vocab_of(path: Path, tokens: list[str], what: str = "the vocabulary stored in the file"
             ) -> CharVocab:
    duplicate = first_duplicate(tokens)
    if duplicate is not None:
        raise CheckpointError(f"{path}: {what} has duplicate tokens: {duplicate!r}")
    try:
        return CharVocab(tuple(tokens))
    except ValueError as exc:
        raise CheckpointError(f"{path}: {what}: {exc}") from None


def detect(path: Path, tensors: dict[str, torch.Tensor], options: ModelSource, source: str,
           wrapper: str | None, tied: list[str], *, nonlinearity: str | None = None,
           facts: dict[str, str] | None = None, vocab: list[str] | None = None,
           labels: list[str] | None = None) -> Checkpoint:
    """Recognise embedding/one-hot + recurrent + head; rename onto CharRNN and load. A head of
    another size than the vocabulary is a tagger's or a classifier's, named by `labels`.

    `nonlinearity` is what the file itself says about a plain RNN (None: it cannot say), `facts`
    go to `info` as they are, `vocab` and `labels` are what the file stores."""
    tensors, notes = checked_tensors(path, strip_common(tensors))
    facts = {**(facts or {}), **notes}
    from inspector.loading.bidirectional import bidirectional_prefixes, detect_bidirectional

    if bidirectional_prefixes(tensors):
        return detect_bidirectional(path, tensors, options, source, wrapper, facts, vocab,
                                    labels)
    tensors, chain = cell_stack(path, tensors)
    if chain is not None:
        facts["cells"] = chain
    stacks = recurrent_stacks(path, tensors)
    if len(stacks) == 2:
        from inspector.loading.seq2seq_pairs import detect_pair

        return detect_pair(path, tensors, stacks, options, source, wrapper, tied, facts=facts,
                           vocab=vocab)
    if len(stacks) > 2:
        names = ", ".join(f"{stack.prefix}weight_ih_l0" for stack in stacks)
        raise CheckpointError(f"{path}: {len(stacks)} recurrent stacks ({names}); use "
                              "--factory module:callable for this model")
    stack = stacks[0]
    prefix, layers, cell, hidden = stack.prefix, stack.layers, stack.cell, stack.hidden
    input_size, bias, rnn_keys = stack.input_size, stack.bias, set(stack.keys)
    head = find_head(path, tensors, rnn_keys, hidden)
    head_bias = f"{head[:-len('weight')]}bias"
    outputs = tensors[head].shape[0]
    used = rnn_keys | {head, head_bias}
    embeds = [k for k in tensors if k not in used and tensors[k].ndim == 2
              and tensors[k].shape[1] == input_size]
    if len(embeds) > 1:
        raise CheckpointError(f"{path}: two candidate embeddings ({', '.join(embeds)}); keep one "
                              "or use --factory module:callable")
    embed = embeds[0] if embeds else None
    vocab_size = tensors[embed].shape[0] if embed else input_size
    used |= {embed} if embed else set()
    extra = sorted(set(tensors) - used)
    if extra:
        raise CheckpointError(f"{path}: tensors {', '.join(extra[:6])} are not part of embedding "
                              "+ RNN + Linear; use --factory module:callable for this model")
    needs = (f"the model's head {head} has {vocab_size} outputs" if outputs == vocab_size else
             f"the model's input ({embed or f'one-hot, {prefix}weight_ih_l0'}) takes "
             f"{vocab_size}")
    vocab, vocab_origin = choose_vocab(path, options.vocab, vocab, vocab_size, needs)
    labels, labels_origin = choose_labels(path, options.labels, labels, outputs, vocab_size)
    if options.nonlinearity and cell != "rnn":
        raise CheckpointError(f"{path}: --nonlinearity applies to a plain nn.RNN, this is a "
                              f"{cell.upper()}")
    stated = nonlinearity
    if stated and options.nonlinearity and stated != options.nonlinearity:
        raise CheckpointError(f"{path}: the file says its RNN uses {stated}, not "
                              f"--nonlinearity {options.nonlinearity}")
    nonlinearity = stated or options.nonlinearity or "tanh"
    config = CharRNNConfig(vocab_size, cell, layers, hidden, input_size if embed else 0,
                           nonlinearity, bias)
    renamed = {f"rnn.{k[len(prefix):]}": v for k, v in tensors.items() if k in rnn_keys}
    renamed |= zero_hidden_biases(stack, tensors, facts)
    renamed["head.weight"] = tensors[head]
    renamed["head.bias"] = tensors.get(head_bias, torch.zeros(outputs))
    if embed:
        renamed["embed.weight"] = tensors[embed]
    module = CharRNN(config)
    if outputs != vocab_size:  # a tagger's head: one output per label
        module.head = torch.nn.Linear(hidden, outputs)
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
        detected["nonlinearity"] = nonlinearity + (
            " (stated by the file)" if stated else "" if options.nonlinearity
            else " (assumes tanh: a state_dict cannot show it; pass --nonlinearity relu if not)")
    detected["vocab"] = vocab_origin
    if labels_origin:
        detected["labels"] = labels_origin
    detected |= facts
    meta = {"format_version": FORMAT_VERSION, "kind": "char", "arch": config.arch(),
            "vocab": vocab.to_json(), "detected": detected}
    if labels is not None:
        meta["labels"] = labels
    checkpoint = Checkpoint("char", module, vocab, meta, path)
    if "state_dict" in source:  # a PyTorch state_dict: only weights, none of the forward
        checkpoint.warnings.append(assumption(path, detected["input"], cell, cell == "rnn" and
                                              not options.nonlinearity and not stated,
                                              cells=chain is not None))
    checkpoint.warnings += nonfinite_warning(str(path), tensors)
    return checkpoint


def assumption(path: Path, inputs: str, cell: str, tanh_assumed: bool, *,
               cells: bool = False) -> str:
    """The one line (for stderr, on every command) saying what a state_dict cannot show about
    its forward, and the exact route."""
    recurrent = (f"{cell.upper()} cells stacked in name order, each fed the h of the one "
                 "before," if cells else cell.upper())
    line = (f"{path}: assumes its forward is {inputs} -> {recurrent} -> Linear head with "
            "nothing between (a state_dict cannot show parameter-free steps such as a ReLU or "
            "a scaling)")
    if tanh_assumed:
        line += " and tanh in the plain RNN (else --nonlinearity relu)"
    return line + "; for the model's exact forward use --factory module:callable"


def load_state(path: Path, module: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Load tensors into a module, with one-line errors for missing, extra or misshapen keys."""
    check_shapes(path, module, tensors)
    module.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()})


def check_shapes(path: Path, module: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """The tensors a module needs, by name and shape (works on a meta-device module too)."""
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
