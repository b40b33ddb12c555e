"""The `rnn-inspect` command: the TUI by default, plus the subcommands in `inspector/commands/`."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace

from inspector.commands.common import (
    EXIT_USAGE,
    CommandError,
    add_model_options,
    other_encoder,
    source_from,
    warn,
)
from inspector.loading import CheckpointError, ModelSource, open_model

# Each name is a module in inspector/commands with add_parser(subparsers) and run(args).
COMMANDS = ("train", "trace", "info", "zoo", "replay", "serve",
            "units", "probe", "pca", "fixed-points", "saliency")

__all__ = ["COMMANDS", "CommandError", "entry", "main"]


def app_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnn-inspect",
        description="Step through a recurrent neural network one character at a time.",
        epilog=f"commands: rnn-inspect {{{','.join(COMMANDS)}}} --help")
    add_model_options(parser)
    parser.add_argument("--compare", metavar="OTHER", help="feed the same keys to a second model")
    parser.add_argument("--encoder-from", metavar="OTHER",
                        help="seq2seq: OTHER's encoder hands over to MODEL's decoder")
    return parser


def command_module(name: str):
    return importlib.import_module(f"inspector.commands.{name.replace('-', '_')}")


def command_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnn-inspect")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        command_module(name).add_parser(sub)
    return parser


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
    encoder_from = other_encoder(opened[0], args.encoder_from) if args.encoder_from else None
    return launch(source, compare=compare, opened=opened[0], compare_opened=opened[1],
                  encoder_from=encoder_from)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            args = command_parser().parse_args(argv)
            status = command_module(args.command).run(args)
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
