"""`rnn-inspect train TASK`: train a model (progress bar) and save a checkpoint.

Everything that could stop the save is checked before the first step (never lose the work);
Ctrl-C saves the model so far as `NAME.interrupted.safetensors` beside the target.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspector.commands import pairs
from inspector.commands.common import CommandError, output_target
from models import tasks
from models.errors import first_line

# Suffixes that promise another format: a reader would torch.load / unpickle them.
OTHER_FORMATS = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".h5", ".keras", ".npz",
                 ".onnx", ".json")
EXIT_INTERRUPTED = 130


def add_parser(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a model on a task and save a checkpoint")
    train.add_argument("task", choices=(*tasks.TASKS, "pairs"),
                       help="a built-in task, or pairs: your own X → Y from --data FILE")
    train.add_argument("--cell", choices=("rnn", "lstm", "gru", "mlp"), default="lstm")
    # Defaults of None for options that only some models use, so giving one to a model that
    # ignores it is refused rather than silently dropped (see `refuse_unused`).
    train.add_argument("--layers", type=int, help="recurrent layers (default 1)")
    train.add_argument("--hidden", type=int, default=64)
    train.add_argument("--embed", type=int, default=16, help="embedding size; 0 for one-hot")
    train.add_argument("--nonlinearity", choices=("tanh", "relu"),
                       help="plain RNN only (default tanh)")
    train.add_argument("--bridge", choices=("identity", "linear"),
                       help="reverse (seq2seq) only (default identity)")
    train.add_argument("--steps", type=int, default=2000)
    train.add_argument("--batch", type=int, default=64)
    train.add_argument("--seq-len", type=int, help="window length for shift and text (default 64)")
    train.add_argument("--lr", type=float, default=3e-3)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--activity-l1", type=float, metavar="X",
                       help="add X times mean |h| of the top layer's outputs to the loss (an L1 "
                            "penalty on activations; recurrent character models; default 0)")
    train.add_argument("--corpus", metavar="FILE", help="text task: train on this file")
    train.add_argument("--out", metavar="FILE", required=True, help="where to save (.safetensors)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    pairs.add_options(train)


def run(args: argparse.Namespace) -> int:
    from models.train import train

    if args.task == "pairs":
        if args.activity_l1 is not None:
            raise CommandError("--activity-l1 is for the built-in tasks; train pairs does not "
                               "read it")
        return pairs.run(with_defaults(args))
    pairs.refuse_outside_pairs(args)
    config = config_from(args)
    out = checked_out(args.out)
    try:
        result = train(config, progress=not args.quiet)
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    if result.interrupted:
        return save_interrupted(result, config, out)
    save(result, config, out)
    print(f"saved {out}: {result.summary}")
    return 0


def config_from(args: argparse.Namespace):
    """The TrainConfig the options describe, validated before anything is allocated."""
    from models.train import TrainConfig, validate

    refuse_unused(args)
    given = {"layers": args.layers, "nonlinearity": args.nonlinearity, "bridge": args.bridge,
             "seq_len": args.seq_len, "corpus": args.corpus, "activity_l1": args.activity_l1}
    try:
        config = TrainConfig(args.task, args.cell, hidden=args.hidden, embed=args.embed,
                             steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed,
                             **{k: v for k, v in given.items() if v is not None})
        validate(config)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return config


def with_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """The options left unset (None, so that unused ones can be told apart) at their defaults."""
    defaults = {"layers": 1, "nonlinearity": "tanh", "bridge": "identity", "seq_len": 64}
    return argparse.Namespace(**{**vars(args), **{k: v for k, v in defaults.items()
                                                  if getattr(args, k) is None}})


def refuse_unused(args: argparse.Namespace) -> None:
    """Options the chosen task and cell would ignore: a silent no-op hides a mistake."""
    recurrent = "a plain RNN (--cell rnn)"
    unused = []
    if args.nonlinearity is not None and (args.cell != "rnn" or args.task == "reverse"):
        unused.append(("--nonlinearity", f"only {recurrent} on a character task has one to "
                                         "choose"))
    if args.layers is not None and args.cell == "mlp":
        unused.append(("--layers", "the MLP has one hidden layer"))
    if args.bridge is not None and args.task != "reverse":
        unused.append(("--bridge", "only the reverse task (seq2seq) has a bridge"))
    if args.corpus is not None and args.task != "text":
        unused.append(("--corpus", "only the text task reads a corpus"))
    if args.seq_len is not None and args.task in ("doubled", "reverse"):
        unused.append(("--seq-len", f"the {args.task} task makes its own lengths"))
    if unused:
        option, why = unused[0]
        raise CommandError(f"{option} does nothing for `train {args.task} --cell {args.cell}`: "
                           f"{why}; drop it")


def checked_out(out: str) -> Path:
    """Check `--out` (and where an interrupted run would go) before the first step."""
    path = Path(out)
    if path.suffix.lower() in OTHER_FORMATS:
        raise CommandError(f"{out}: train writes safetensors, not {path.suffix} (which readers "
                           f"would torch.load); name it {path.with_suffix('.safetensors')} (--out)")
    output_target(path)
    output_target(interrupted_path(path))
    return path


def interrupted_path(out: Path) -> Path:
    """`run.safetensors` -> `run.interrupted.safetensors`, beside the target."""
    stem = out.name[: -len(".safetensors")] if out.name.endswith(".safetensors") else out.name
    return out.with_name(f"{stem}.interrupted.safetensors")


def save(result, config, path: Path) -> None:
    from models.train import save_result

    try:
        save_result(result, config, path)
    except (CommandError, KeyboardInterrupt):
        raise
    except Exception as exc:  # safetensors raises its own error type for I/O failures
        raise CommandError(f"{path}: cannot save the checkpoint ({first_line(exc)})") from None


def save_interrupted(result, config, out: Path) -> int:
    """Ctrl-C: keep the model so far (if a step completed) and say where it went."""
    if not result.facts["steps"]:
        print("rnn-inspect: interrupted before the first training step; nothing saved",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    path = interrupted_path(out)
    save(result, config, path)
    print(f"rnn-inspect: {result.summary}: saved the model so far to {path}", file=sys.stderr)
    return EXIT_INTERRUPTED
