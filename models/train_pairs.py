"""Training on a pairs file: a step model for aligned pairs, an encoder–decoder otherwise.

The held-out pairs are scored every few steps and never trained on; training stops early once
every held-out pair is exactly right, or when held-out accuracy has stopped improving (the best
weights seen are the ones kept). The checkpoint records the held-out figures in `train.holdout`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn

from models.char_rnn import CELLS, CharRNN, CharRNNConfig
from models.mlp import MLPBaseline, MLPConfig
from models.pairs import IGNORE, PairsData, PairsError, Split, seq2seq_batch, step_batch
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.train import TrainResult, check_numbers, seq2seq_loss
from models.vocab import CharVocab

KINDS = ("auto", "step", "seq2seq")
EVAL_CHUNK = 512  # held-out pairs scored per forward pass


@dataclass(frozen=True)
class PairsConfig:
    cell: str = "lstm"  # rnn | lstm | gru | mlp
    kind: str = "auto"  # auto: step model when every pair is aligned, else seq2seq
    layers: int = 1
    hidden: int = 64
    embed: int = 16
    nonlinearity: str = "tanh"
    bridge: str = "identity"
    steps: int = 2000
    batch: int = 64
    lr: float = 3e-3
    seed: int = 0
    holdout: float = 0.1
    patience: int = 20  # held-out evaluations without improvement before stopping; 0: never
    eval_every: int = 0  # steps between held-out evaluations; 0: about 50 over the run

    def __post_init__(self) -> None:
        if self.cell not in (*CELLS, "mlp"):
            raise ValueError(f"cell must be one of {', '.join((*CELLS, 'mlp'))}, not "
                             f"{self.cell!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        check_numbers(self)

    @property
    def evaluation_interval(self) -> int:
        return self.eval_every or max(1, self.steps // 50)


@dataclass(frozen=True)
class Holdout:
    token_accuracy: float  # fraction of held-out target tokens predicted
    sequence_accuracy: float  # fraction of held-out pairs entirely right
    pairs: int

    def key(self) -> tuple[float, float]:
        return self.sequence_accuracy, self.token_accuracy

    def as_facts(self) -> dict:
        return {"token_accuracy": round(self.token_accuracy, 6),
                "sequence_accuracy": round(self.sequence_accuracy, 6), "pairs": self.pairs}


def model_kind(config: PairsConfig, data: PairsData) -> str:
    """`step` or `seq2seq` for this data; a step model on unaligned data is a PairsError."""
    unaligned = data.first_unaligned
    kind = config.kind
    if kind == "auto":
        kind = "step" if unaligned is None or config.cell == "mlp" else "seq2seq"
    if kind == "step" and unaligned is not None:
        model = "an MLP" if config.cell == "mlp" else "a step model"
        raise PairsError(f"{data.path}:{unaligned.line}: input has {len(unaligned.source)} "
                         f"tokens, target {len(unaligned.target)}; {model} needs one target "
                         "token per input token")
    if kind == "seq2seq" and config.cell == "mlp":
        raise PairsError("an MLP is a step model: an encoder–decoder needs --cell rnn, lstm or "
                         "gru")
    return kind


def build_model(config: PairsConfig, kind: str, vocab: CharVocab) -> tuple[str, nn.Module]:
    """The checkpoint kind (`mlp`, `char`, `seq2seq`) and an untrained module."""
    if kind == "seq2seq":
        if config.nonlinearity != "tanh":
            raise ValueError("encoder–decoders here use tanh; --nonlinearity relu is for a step "
                             "model")
        return "seq2seq", Seq2Seq(Seq2SeqConfig(len(vocab), len(vocab), config.cell,
                                                config.layers, config.hidden, config.embed,
                                                config.bridge))
    if config.cell == "mlp":
        return "mlp", MLPBaseline(MLPConfig(len(vocab), config.embed, config.hidden))
    return "char", CharRNN(CharRNNConfig(len(vocab), config.cell, config.layers, config.hidden,
                                         config.embed, config.nonlinearity))


def step_loss(module: nn.Module, data: PairsData, vocab: CharVocab,
              indices) -> torch.Tensor:
    batch = step_batch(data, vocab, indices)
    logits, _ = module(torch.from_numpy(batch.inputs))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                           torch.from_numpy(batch.targets).reshape(-1), ignore_index=IGNORE)


@torch.no_grad()
def score_step(module: nn.Module, data: PairsData, vocab: CharVocab, indices) -> Holdout:
    hits = tokens = exact = 0
    for start in range(0, len(indices), EVAL_CHUNK):
        batch = step_batch(data, vocab, indices[start:start + EVAL_CHUNK])
        targets = torch.from_numpy(batch.targets)
        right = module(torch.from_numpy(batch.inputs))[0].argmax(-1) == targets
        mask = targets != IGNORE
        hits += int((right & mask).sum())
        tokens += int(mask.sum())
        exact += int((right | ~mask).all(dim=1).sum())
    return Holdout(hits / tokens, exact / len(indices), len(indices))


@torch.no_grad()
def score_seq2seq(module: Seq2Seq, data: PairsData, vocab: CharVocab, indices) -> Holdout:
    """Per token teacher-forced (the end token counts), exact match greedily decoded; sources
    are scored in groups of one length, so no padding enters a handoff."""
    by_length: dict[int, list[int]] = {}
    for i in indices:
        by_length.setdefault(len(data.pairs[i].source), []).append(i)
    longest = max(len(data.pairs[i].target) for i in indices)
    hits = tokens = exact = 0
    for group in by_length.values():
        for start in range(0, len(group), EVAL_CHUNK):
            rows = group[start:start + EVAL_CHUNK]
            batch = seq2seq_batch(data, vocab, rows)
            source = torch.from_numpy(batch.source)
            targets = torch.from_numpy(batch.targets)
            mask = targets != IGNORE
            logits = module(source, torch.from_numpy(batch.decoder_input))
            hits += int(((logits.argmax(-1) == targets) & mask).sum())
            tokens += int(mask.sum())
            outputs = module.greedy(source, vocab.bos_id, vocab.eos_id, max_len=longest + 1)
            exact += sum(out == [vocab.id(t) for t in data.pairs[i].target]
                         for i, out in zip(rows, outputs))
    return Holdout(hits / tokens, exact / len(indices), len(indices))


def train_pairs(config: PairsConfig, data: PairsData, split: Split, *,
                progress: bool = True) -> TrainResult:
    """Train on `split.train` only; deterministic for a given seed."""
    kind = model_kind(config, data)
    vocab = data.vocab(seq2seq=kind == "seq2seq")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    checkpoint_kind, module = build_model(config, kind, vocab)
    score = score_seq2seq if kind == "seq2seq" else score_step
    optimiser = torch.optim.Adam(module.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr,
                                                   total_steps=max(config.steps, 1),
                                                   pct_start=0.1)
    train_rows = np.array(split.train)
    held = list(split.held_out)
    best: tuple[Holdout, dict] | None = None
    stale, step, stopped = 0, 0, "steps"
    columns = (TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"),
               TextColumn("loss {task.fields[loss]:.4f}  held-out {task.fields[held]}"),
               TimeRemainingColumn())
    with Progress(*columns, disable=not progress, transient=False) as bar:
        job = bar.add_task(f"train {config.cell}", total=config.steps, loss=math.nan,
                           held="—" if held else "none")
        for step in range(1, config.steps + 1):
            module.train()
            rows = rng.choice(train_rows, size=config.batch, replace=len(train_rows) < config.batch)
            if kind == "seq2seq":
                loss, _ = seq2seq_loss(module, seq2seq_batch(data, vocab, rows))
            else:
                loss = step_loss(module, data, vocab, rows)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            bar.update(job, advance=1, loss=loss.item())
            if not held or (step % config.evaluation_interval and step != config.steps):
                continue
            module.eval()
            now = score(module, data, vocab, held)
            bar.update(job, held=f"{now.token_accuracy:.1%} (exact {now.sequence_accuracy:.1%})")
            if best is None or now.key() > best[0].key():
                best, stale = (now, copy.deepcopy(module.state_dict())), 0
            else:
                stale += 1
            if now.sequence_accuracy == 1.0:
                stopped = "held-out 100%"
                break
            if config.patience and stale >= config.patience:
                stopped = f"no improvement in {stale} evaluations"
                break
    if best is not None:
        module.load_state_dict(best[1])
    module.eval()
    facts = {"steps": step, "loss": round(loss.item(), 6), "seed": config.seed,
             "batch": config.batch, "lr": config.lr, "data": data.path.name,
             "pairs": len(split.train), "stopped": stopped}
    if best is not None:
        facts["accuracy"] = round(best[0].token_accuracy, 6)
        facts["holdout"] = best[0].as_facts()
        summary = (f"held-out {best[0].token_accuracy:.1%} per token, "
                   f"{best[0].sequence_accuracy:.1%} exact ({best[0].pairs} pairs never "
                   f"trained on); stopped: {stopped} at step {step}")
    else:
        summary = f"no held-out split (--holdout 0); {step} steps"
    return TrainResult(checkpoint_kind, module, vocab, facts, summary)


def save_pairs_result(result: TrainResult, data: PairsData, out: str | Path,
                      task: str = "pairs") -> Path:
    from models.checkpoint import save_checkpoint

    return save_checkpoint(out, result.kind, result.module, result.vocab, task=task,
                           train=result.facts, tokens=data.tokens)
