"""`rnn-inspect train TASK`: train a model (progress bar) and save a checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspector.commands import pairs
from inspector.commands.common import CommandError, output_target
from models import tasks
from models.checkpoint import first_line


def add_parser(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a model on a task and save a checkpoint")
    train.add_argument("task", choices=(*tasks.TASKS, "pairs"),
                       help="a built-in task, or pairs: your own X → Y from --data FILE")
    train.add_argument("--cell", choices=("rnn", "lstm", "gru", "mlp"), default="lstm")
    train.add_argument("--layers", type=int, default=1)
    train.add_argument("--hidden", type=int, default=64)
    train.add_argument("--embed", type=int, default=16, help="embedding size; 0 for one-hot")
    train.add_argument("--nonlinearity", choices=("tanh", "relu"), default="tanh")
    train.add_argument("--bridge", choices=("identity", "linear"), default="identity")
    train.add_argument("--steps", type=int, default=2000)
    train.add_argument("--batch", type=int, default=64)
    train.add_argument("--seq-len", type=int, default=64)
    train.add_argument("--lr", type=float, default=3e-3)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--corpus", metavar="FILE", help="text task: train on this file")
    train.add_argument("--out", metavar="FILE", required=True, help="where to save (.safetensors)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    pairs.add_options(train)


def run(args: argparse.Namespace) -> int:
    from models.train import TrainConfig, save_result, train

    if args.task == "pairs":
        return pairs.run(args)
    pairs.refuse_outside_pairs(args)
    if args.steps < 1:
        raise CommandError("--steps must be at least 1")
    output_target(args.out)  # fail before training, not after: never lose the work
    if args.corpus is not None and not Path(args.corpus).is_file():
        raise CommandError(f"{args.corpus}: no such file (--corpus)")
    try:
        config = TrainConfig(args.task, args.cell, args.layers, args.hidden, args.embed,
                             args.nonlinearity, args.steps, args.batch, args.seq_len, args.lr,
                             args.seed, args.bridge, args.corpus)
        result = train(config, progress=not args.quiet)
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    try:
        path = save_result(result, config, args.out)
    except Exception as exc:  # safetensors raises its own error type for I/O failures
        raise CommandError(f"{args.out}: cannot save the checkpoint ({first_line(exc)})") from None
    print(f"saved {path}: {result.summary}")
    return 0
