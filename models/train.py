"""Training: one seeded loop for every task, a rich progress bar, held-out figures at the end."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn

from models import tasks
from models.char_rnn import CharRNN, CharRNNConfig
from models.mlp import MLPBaseline, MLPConfig
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.vocab import BOS, EOS, CharVocab

EVAL_SEED_OFFSET = 1_000_003  # held-out data never shares the training generator's stream

# Bounds checked before anything is allocated, so a typo (`--hidden 64000`) is one line, not an
# out-of-memory kill minutes later. Layers match CharRNNConfig's own limit.
LIMITS = {"layers": (1, 8), "hidden": (1, 4096), "embed": (0, 4096), "steps": (1, 10_000_000),
          "batch": (1, 4096), "seq_len": (1, 65_536), "seed": (0, 2**64 - 1)}
MAX_ACTIVITY_L1 = 100.0
MAX_LR = 10.0  # Adam with a larger step only diverges (and 1e39 overflows torch's float32)
MAX_VOCAB = 10_000  # distinct characters a text-task vocabulary may hold
MAX_PARAMETERS = 100_000_000
MAX_ACTIVATIONS = 250_000_000  # floats one training step keeps for backward (~1 GB)


@dataclass(frozen=True)
class TrainConfig:
    task: str
    cell: str = "lstm"  # rnn | lstm | gru | mlp
    layers: int = 1
    hidden: int = 64
    embed: int = 16
    nonlinearity: str = "tanh"
    steps: int = 2000
    batch: int = 64
    seq_len: int = 64  # characters per window (text, shift); doubled uses pairs
    lr: float = 3e-3
    seed: int = 0
    bridge: str = "identity"
    corpus: str | None = None
    # An L1 penalty on the top layer's outputs: this times mean |h| is added to the loss (an
    # ordinary regulariser favouring sparse activations; 0 leaves the loss as it was).
    activity_l1: float = 0.0

    def __post_init__(self) -> None:
        if self.task not in tasks.TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose one of {', '.join(tasks.TASKS)}")
        if self.cell == "mlp" and self.task in ("reverse",):
            raise ValueError("the reverse task needs a recurrent cell (rnn, lstm or gru)")


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite: the weights are junk and must not be saved."""


def check_numbers(config) -> None:
    """The numeric options of a training config (`TrainConfig` or a pairs config: those of
    LIMITS it has, and `lr`) within their bounds, else a ValueError naming the option as the
    command spells it. A learning rate above MAX_LR is refused too: Adam's step would overflow
    float32 (`--lr 1e308` raised inside torch) long before it could train anything."""
    for name, (low, high) in LIMITS.items():
        value = getattr(config, name, None)
        if value is not None and not low <= value <= high:
            raise ValueError(f"--{name.replace('_', '-')} must be between {low:,} and {high:,}, "
                             f"not {value:,}")
    if not (math.isfinite(config.lr) and 0 < config.lr <= MAX_LR):
        raise ValueError(f"--lr must be a positive finite number at most {MAX_LR:g}, not "
                         f"{config.lr:g}")


def validate(config: TrainConfig) -> None:
    """Refuse, before anything is allocated, a configuration that cannot train a real model
    (ValueError naming the option as the command spells it)."""
    check_numbers(config)
    if not (math.isfinite(config.activity_l1) and 0 <= config.activity_l1 <= MAX_ACTIVITY_L1):
        raise ValueError(f"--activity-l1 must be a finite number from 0 to {MAX_ACTIVITY_L1:g}, "
                         f"not {config.activity_l1:g}")
    if config.activity_l1 and (config.cell == "mlp" or config.task == "reverse"):
        raise ValueError("--activity-l1 penalises a recurrent character model's top layer; "
                         f"`train {config.task} --cell {config.cell}` has none")
    if config.cell == "mlp" and config.embed == 0:
        raise ValueError("--embed 0 (one-hot) is for recurrent cells; the MLP needs --embed 1 or "
                         "more")


def check_size(config: TrainConfig, vocab_size: int) -> None:
    """Bound the vocabulary and the parameter count before the module is built."""
    if vocab_size > MAX_VOCAB:
        raise ValueError(f"{corpus_name(config)}: {vocab_size - 1:,} distinct characters; a "
                         f"vocabulary holds at most {MAX_VOCAB:,} (--corpus)")
    count = parameter_estimate(config, vocab_size)
    if count > MAX_PARAMETERS:
        raise ValueError(f"that model would have {count:,} parameters, more than "
                         f"{MAX_PARAMETERS:,}; lower --hidden, --layers or --embed")
    kept = activation_estimate(config, vocab_size)
    if kept > MAX_ACTIVATIONS:
        raise ValueError(f"one training step would keep {kept:,} activations, more than "
                         f"{MAX_ACTIVATIONS:,}; lower --batch, --seq-len or --hidden")


def activation_estimate(config: TrainConfig, vocab_size: int) -> int:
    """Floats a step's forward keeps for backward: per position, each layer's gates and state,
    the input vectors and the logits."""
    length = {"doubled": 64, "reverse": 2 * (tasks.MAX_REVERSE_LEN + 1)}.get(config.task,
                                                                             config.seq_len)
    gates = {"rnn": 1, "lstm": 4, "gru": 3, "mlp": 1}[config.cell]
    layers = 1 if config.cell == "mlp" else config.layers
    per_position = layers * (gates + 2) * config.hidden + (config.embed or vocab_size) + \
        2 * vocab_size
    return config.batch * length * per_position


def parameter_estimate(config: TrainConfig, vocab_size: int) -> int:
    """Weights of the model `build` would make (an upper bound: biases and bridges included)."""
    hidden, embed = config.hidden, config.embed
    if config.cell == "mlp":
        return vocab_size * embed + (embed + 1) * hidden + (hidden + 1) * vocab_size
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[config.cell]
    inputs = embed or vocab_size
    stack = gates * hidden * (inputs + hidden + 2) + (config.layers - 1) * gates * hidden * (
        2 * hidden + 2)
    half = vocab_size * embed + stack
    head = (hidden + 1) * vocab_size
    if config.task == "reverse":
        return 2 * half + head + 2 * hidden * (hidden + 1)
    return half + head


@dataclass
class TrainResult:
    kind: str
    module: nn.Module
    vocab: CharVocab
    facts: dict = field(default_factory=dict)  # the checkpoint's "train" block
    summary: str = ""
    interrupted: bool = False  # Ctrl-C stopped training: `facts["steps"]` says how far it got


def build(config: TrainConfig, vocab: CharVocab) -> tuple[str, nn.Module]:
    if config.task == "reverse":
        return "seq2seq", Seq2Seq(Seq2SeqConfig(len(vocab), len(vocab), config.cell, config.layers,
                                                config.hidden, config.embed, config.bridge))
    if config.cell == "mlp":
        return "mlp", MLPBaseline(MLPConfig(len(vocab), config.embed, config.hidden))
    return "char", CharRNN(CharRNNConfig(len(vocab), config.cell, config.layers, config.hidden,
                                         config.embed, config.nonlinearity))


def vocab_for(config: TrainConfig, corpus: str | None) -> CharVocab:
    if config.task == "reverse":
        return tasks.seq2seq_vocab()
    if config.task == "text":
        return CharVocab.from_text(corpus or "")
    if config.task == "flipflop":
        return tasks.flipflop_vocab()
    return tasks.letters_vocab()


def char_batch(config: TrainConfig, rng: np.random.Generator, vocab: CharVocab,
               encoded: np.ndarray | None) -> tasks.CharBatch:
    if config.task == "shift":
        return tasks.shift_batch(rng, vocab, config.batch, config.seq_len)
    if config.task == "doubled":
        return tasks.doubled_batch(rng, vocab, config.batch, int(rng.integers(4, 33)))
    if config.task == "flipflop":
        return tasks.flipflop_batch(rng, vocab, config.batch, config.seq_len)
    return tasks.text_batch(rng, encoded, config.batch, config.seq_len)


def train(config: TrainConfig, *, progress: bool = True) -> TrainResult:
    """Train a model for `config.task`; deterministic for a given seed.

    Ctrl-C stops training and returns the model so far (`interrupted`), so the caller can save
    it; a loss that goes NaN or infinite raises TrainingDiverged rather than return junk."""
    validate(config)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    corpus = tasks.load_corpus(config.corpus) if config.task == "text" else None
    train_text, held_text = tasks.split_corpus(corpus) if corpus else (None, None)
    if corpus is not None and len(train_text) <= config.seq_len + 1:
        raise ValueError(f"{corpus_name(config)}: the corpus has {len(corpus):,} characters; the "
                         f"text task needs more than {config.seq_len + 1:,} for training windows "
                         "(lower --seq-len)")
    # Counted before the vocabulary (and the embedding sized by it) is made.
    check_size(config, len(set(corpus)) + 1 if corpus is not None else
               len(vocab_for(config, None)))
    vocab = vocab_for(config, corpus)
    encoded = np.array(vocab.encode(train_text), dtype=np.int64) if train_text else None
    kind, module = build(config, vocab)
    optimiser = torch.optim.Adam(module.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr,
                                                   total_steps=max(config.steps, 1),
                                                   pct_start=0.1)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"),
               TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.3f}"),
               TimeRemainingColumn())
    module.train()
    done, last_loss = 0, math.nan
    try:
        with Progress(*columns, disable=not progress, transient=False) as bar:
            job = bar.add_task(f"train {config.task}", total=config.steps, loss=math.nan,
                               acc=0.0)
            for _ in range(config.steps):
                if kind == "seq2seq":
                    loss, acc = seq2seq_loss(module, tasks.reverse_batch(rng, vocab, config.batch))
                else:
                    loss, acc = char_loss(module, char_batch(config, rng, vocab, encoded),
                                          config.activity_l1)
                value = loss.item()
                if not math.isfinite(value):
                    raise TrainingDiverged(f"training diverged: the loss became {value} at step "
                                           f"{done + 1:,} of {config.steps:,}; nothing saved "
                                           f"(try a lower --lr than {config.lr:g})")
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(module.parameters(), 1.0)
                optimiser.step()
                schedule.step()
                done, last_loss = done + 1, value
                bar.update(job, advance=1, loss=value, acc=acc)
        module.eval()
        check_finite(module)
        facts, summary = evaluate(config, kind, module, vocab, held_text)
    except KeyboardInterrupt:
        module.eval()
        check_finite(module)
        facts = {"steps": done, "loss": round(last_loss, 6) if done else None, "seed": config.seed,
                 "batch": config.batch, "lr": config.lr, "interrupted": True}
        return TrainResult(kind, module, vocab, facts,
                           f"interrupted after step {done:,} of {config.steps:,}",
                           interrupted=True)
    facts = {"steps": config.steps, "loss": round(last_loss, 6), "seed": config.seed,
             "batch": config.batch, "lr": config.lr, **facts}
    if config.activity_l1:
        facts["activity_l1"] = config.activity_l1
    return TrainResult(kind, module, vocab, facts, summary)


def corpus_name(config: TrainConfig) -> str:
    return str(config.corpus) if config.corpus else "the bundled corpus"


def check_finite(module: nn.Module) -> None:
    """Weights that are NaN or infinite are never returned to be saved."""
    bad = [name for name, value in module.state_dict().items()
           if value.is_floating_point() and not bool(torch.isfinite(value).all())]
    if bad:
        raise TrainingDiverged(f"training diverged: {', '.join(bad[:3])} hold NaN or infinite "
                               "values; nothing saved (try a lower --lr)")


def char_loss(module: nn.Module, batch: tasks.CharBatch,
              activity_l1: float = 0.0) -> tuple[torch.Tensor, float]:
    """Cross-entropy per character (plus `activity_l1` x mean |top-layer output|, if given)."""
    inputs = torch.from_numpy(batch.inputs)
    targets = torch.from_numpy(batch.targets)
    if activity_l1:
        outputs, _ = module.run(inputs)
        logits = module.head(outputs)
    else:
        logits, _ = module(inputs)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    if activity_l1:
        loss = loss + activity_l1 * outputs.abs().mean()
    acc = (logits.argmax(-1) == targets).float().mean().item()
    return loss, acc


def seq2seq_loss(module: Seq2Seq, batch: tasks.Seq2SeqBatch) -> tuple[torch.Tensor, float]:
    # Sources are right-padded; pack them so the handoff is the state after each source's own end.
    source = torch.from_numpy(batch.source)
    lengths = torch.from_numpy(batch.source_lengths)
    packed = nn.utils.rnn.pack_padded_sequence(module.encoder.input_vectors(source), lengths,
                                               batch_first=True, enforce_sorted=False)
    _, state = module.encoder.rnn(packed)
    logits, _ = module.decoder(torch.from_numpy(batch.decoder_input), module.bridge(state))
    targets = torch.from_numpy(batch.targets)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=-100)
    mask = targets != -100
    acc = ((logits.argmax(-1) == targets) & mask).sum().item() / max(mask.sum().item(), 1)
    return loss, acc


@torch.no_grad()
def char_accuracy(module: nn.Module, batch: tasks.CharBatch) -> float:
    logits, _ = module(torch.from_numpy(batch.inputs))
    return (logits.argmax(-1) == torch.from_numpy(batch.targets)).float().mean().item()


@torch.no_grad()
def predict_text(module: nn.Module, vocab: CharVocab, text: str) -> str:
    """The model's argmax prediction after each character of `text`, from h = 0."""
    logits, _ = module(torch.tensor([vocab.encode(text)]))
    return vocab.decode(logits[0].argmax(-1).tolist(), strip_specials=False)


@torch.no_grad()
def reverse_exact_match(module: Seq2Seq, vocab: CharVocab, words: list[str]) -> float:
    """Greedy-decode every word (batched by length, so no padding enters the handoff)."""
    by_length: dict[int, list[str]] = {}
    for word in words:
        by_length.setdefault(len(word), []).append(word)
    hits = 0
    for group in by_length.values():
        outputs = module.greedy(torch.tensor([vocab.encode(w) for w in group]), vocab.id(BOS),
                                vocab.id(EOS), max_len=tasks.MAX_REVERSE_LEN + 8)
        hits += sum(vocab.decode(out) == word[::-1] for word, out in zip(group, outputs))
    return hits / len(words)


@torch.no_grad()
def bits_per_char(module: nn.Module, vocab: CharVocab, text: str, chunk: int = 2048) -> float:
    ids = torch.tensor(vocab.encode(text))
    total, count, hidden = 0.0, 0, None
    for start in range(0, len(ids) - 1, chunk):
        inputs = ids[start:start + chunk][None]
        targets = ids[start + 1:start + chunk + 1][None]
        inputs = inputs[:, : targets.shape[1]]
        logits, hidden = module(inputs, hidden)
        total += F.cross_entropy(logits[0], targets[0], reduction="sum").item()
        count += targets.shape[1]
    return total / count / math.log(2)


def evaluate(config: TrainConfig, kind: str, module: nn.Module, vocab: CharVocab,
             held_text: str | None) -> tuple[dict, str]:
    """Held-out figures for the checkpoint and the one-line summary `train` ends with."""
    rng = np.random.default_rng(config.seed + EVAL_SEED_OFFSET)
    if config.task == "reverse":
        exact = reverse_exact_match(module, vocab, tasks.random_words(rng, 1000))
        return {"accuracy": exact}, f"held-out exact match: {exact:.1%} of 1000 reversed strings"
    if config.task == "text":
        bpc = bits_per_char(module, vocab, held_text)
        return {"bits_per_char": round(bpc, 4)}, f"held-out bits/char: {bpc:.3f}"
    if config.task == "shift":
        acc = char_accuracy(module, tasks.shift_batch(rng, vocab, 200, 64))
        return {"accuracy": acc}, f"held-out accuracy: {acc:.1%} per character"
    if config.task == "flipflop":  # longer than training windows: the bits must be held
        acc = char_accuracy(module, tasks.flipflop_batch(rng, vocab, 200, 4 * config.seq_len))
        return {"accuracy": acc}, f"held-out accuracy: {acc:.1%} per character"
    accs = [char_accuracy(module, tasks.doubled_batch(rng, vocab, 50, pairs)) for pairs in
            range(1, 27)]
    acc = float(np.mean(accs))
    seed = tasks.doubled_source(0, 26)
    seed_ok = predict_text(module, vocab, seed) == tasks.doubled_target(0, 26)
    return ({"accuracy": acc, "seed_sequence": seed_ok},
            f"held-out accuracy: {acc:.1%} per character; seed sequence aabb…zz "
            f"{'predicted exactly' if seed_ok else 'NOT predicted exactly'}")


def save_result(result: TrainResult, config: TrainConfig, out: str | Path) -> Path:
    from models.checkpoint import save_checkpoint

    return save_checkpoint(out, result.kind, result.module, result.vocab, task=config.task,
                           train=result.facts)
