"""The `rnn-inspect` command: the TUI by default, plus train / trace / info / zoo."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from inspector.loading import CheckpointError, ModelSource, open_model
from models.checkpoint import first_line
from models.vocab import UnknownCharacterError

SUBCOMMANDS = ("train", "trace", "info", "zoo")
EXIT_USAGE = 2


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


def add_model_options(parser: argparse.ArgumentParser, *, model_required: bool = False) -> None:
    parser.add_argument("model", nargs=None if model_required else "?", metavar="MODEL",
                        help="checkpoint path (.safetensors, .pt, .pth) or zoo name")
    foreign = parser.add_argument_group("foreign checkpoints")
    foreign.add_argument("--vocab", metavar="FILE", help="JSON list of tokens in index order")
    foreign.add_argument("--target-vocab", metavar="FILE",
                         help="decoder vocabulary for a seq2seq model, when it differs")
    foreign.add_argument("--nonlinearity", choices=("tanh", "relu"),
                         help="nonlinearity of a plain nn.RNN (a state_dict cannot show it)")
    foreign.add_argument("--trust-pickle", action="store_true",
                         help="allow unpickling a whole saved module (runs code: own files only)")
    foreign.add_argument("--factory", metavar="MODULE:CALLABLE",
                         help="build a custom model with this callable instead of MODEL")


def source_from(args: argparse.Namespace) -> ModelSource:
    return ModelSource(model=args.model, vocab=args.vocab, target_vocab=args.target_vocab,
                       nonlinearity=args.nonlinearity, trust_pickle=args.trust_pickle,
                       factory=args.factory)


def app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnn-inspect",
        description="Step through a recurrent neural network one character at a time.",
        epilog="commands: rnn-inspect {train,trace,info,zoo} --help")
    add_model_options(parser)
    parser.add_argument("--compare", metavar="OTHER", help="feed the same keys to a second model")
    return parser


def command_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnn-inspect")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model on a task and save a checkpoint")
    train.add_argument("task", choices=("shift", "doubled", "reverse", "text"))
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

    trace = sub.add_parser("trace", help="run a model over text and export every activation")
    add_model_options(trace)
    trace.add_argument("--input", required=True, metavar="TEXT", help="the text, or - for stdin")
    trace.add_argument("--format", choices=("json", "npz"), default="json")
    trace.add_argument("--out", metavar="FILE", help="output file (default: stdout for json)")
    trace.add_argument("--splits", action="store_true",
                       help="also export each gate's input and memory parts")

    info = sub.add_parser("info", help="architecture, vocabulary and training facts")
    add_model_options(info)

    sub.add_parser("zoo", help="list the bundled models")
    return parser


def run_train(args: argparse.Namespace) -> int:
    from models.train import TrainConfig, save_result, train

    if args.steps < 1:
        raise CommandError("--steps must be at least 1")
    writable(Path(args.out))  # fail before training, not after: never lose the work
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


def writable(path: Path) -> None:
    """Raise CommandError unless a file can be created at `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".rnn-inspect-"):
            pass
    except OSError as exc:
        raise CommandError(f"{path}: cannot write there ({exc.strerror or exc})") from None


def warn(warnings: list[str]) -> None:
    for line in warnings:
        print(f"rnn-inspect: warning: {line}", file=sys.stderr)


def run_info(args: argparse.Namespace) -> int:
    from models.checkpoint import describe

    checkpoint = open_model(source_from(args))
    warn(checkpoint.warnings)
    print("\n".join(describe(checkpoint)))
    return 0


def run_zoo(_: argparse.Namespace) -> int:
    from models.zoo import manifest_rows

    rows = manifest_rows()
    if not rows:
        print("no bundled models")
        return 0
    width = max(len(r["name"]) for r in rows)
    for row in rows:
        print(f"{row['name']:<{width}}  {row['summary']}")
    return 0


def run_trace(args: argparse.Namespace) -> int:
    from inspector.engine import write_trace

    if args.format == "npz" and not args.out:
        raise CommandError("--format npz needs --out FILE")
    text = sys.stdin.read() if args.input == "-" else args.input
    checkpoint = open_model(source_from(args))
    warn(checkpoint.warnings)
    try:
        write_trace(checkpoint, text, fmt=args.format, out=args.out, splits=args.splits)
    except UnknownCharacterError as exc:
        raise CommandError(f"{checkpoint.name}: {exc}; it has no <unk> token") from None
    except BrokenPipeError:
        raise  # a closed stdout, not a file problem: main() ends quietly
    except OSError as exc:
        raise CommandError(f"{args.out}: cannot write the trace ({exc.strerror or exc})") from None
    return 0


def run_app(args: argparse.Namespace) -> int:
    from inspector.tui.app import run_app as launch

    source = source_from(args)
    if source.model is None and source.factory is None:
        source = ModelSource("doubled-lstm")
    # The compare model takes the same foreign-checkpoint options (--vocab, …) as MODEL.
    compare = replace(source, model=args.compare, factory=None) if args.compare else None
    # Open before the terminal is taken over, so a bad file is one line on stderr and exit 2;
    # the app takes the opened models as they are (a factory's code runs once).
    opened = [None if checked is None else open_model(checked) for checked in (source, compare)]
    for checkpoint in opened:
        if checkpoint is not None:
            warn(checkpoint.warnings)
    return launch(source, compare=compare, opened=opened[0], compare_opened=opened[1])


COMMANDS = {"train": run_train, "trace": run_trace, "info": run_info, "zoo": run_zoo}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            args = command_parser().parse_args(argv)
            status = COMMANDS[args.command](args)
            sys.stdout.flush()  # a closed pipe shows here, inside the handler below
            return status
        return run_app(app_parser().parse_args(argv))
    except (CheckpointError, CommandError) as exc:
        print(f"rnn-inspect: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except json.JSONDecodeError as exc:
        print(f"rnn-inspect: invalid JSON ({exc})", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `rnn-inspect trace … | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
