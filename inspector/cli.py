"""The `rnn-inspect` command: the TUI by default, plus the subcommands in `inspector/commands/`."""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

# Only modules free of torch here: a Ctrl-C during the heavy imports (which happen inside main)
# must reach main's handler and end quietly with 130, not print a traceback.
from inspector.commands.common import (
    EXIT_USAGE,
    CommandError,
    add_model_options,
    open_models,
    other_encoder,
    source_from,
)
from models.errors import CheckpointError, StepRefused

# Each name is a module in inspector/commands with add_parser(subparsers) and run(args).
COMMANDS = ("train", "trace", "info", "zoo", "replay", "serve",
            "units", "probe", "pca", "fixed-points", "saliency")
EXIT_INTERRUPTED = 130

__all__ = ["COMMANDS", "CommandError", "entry", "main"]


class OneLineParser(argparse.ArgumentParser):
    """argparse's errors as one line (`rnn-inspect trace: error: …`), like every other error,
    instead of a usage block; `--help` still shows the usage."""

    def error(self, message: str):
        raise CommandError(f"{self.prog.removeprefix('rnn-inspect').strip() or 'usage'}: "
                           f"{message} (see {self.prog} --help)")


def app_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="rnn-inspect",
        description="Step through a recurrent neural network one character at a time.",
        epilog=f"commands: rnn-inspect {{{','.join(COMMANDS)}}} --help")
    add_model_options(parser)
    parser.add_argument("--compare", metavar="OTHER", help="feed the same keys to a second model")
    parser.add_argument("--encoder-from", metavar="OTHER",
                        help="seq2seq: OTHER's encoder hands over to MODEL's decoder")
    parser.add_argument("--log", metavar="FILE", type=Path,
                        help="write the app's unexpected errors (with tracebacks) to FILE")
    return parser


def command_module(name: str):
    return importlib.import_module(f"inspector.commands.{name.replace('-', '_')}")


def command_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="rnn-inspect")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        command_module(name).add_parser(sub)
    return parser


def run_app(args: argparse.Namespace) -> int:
    from inspector.loading import ModelSource
    from inspector.tui.app import run_app as launch

    source = source_from(args)
    if source.model is None and source.factory is None:
        source = ModelSource("doubled-lstm")
    compare = replace(source, model=args.compare, factory=None) if args.compare else None
    # Open before the terminal is taken over, so a bad file is one line on stderr and exit 2;
    # the app takes the opened models as they are (a factory's code runs once).
    if args.log is not None:
        check_log_file(args.log)
    opened, compare_opened = open_models(source, compare)
    encoder_from = other_encoder(opened, args.encoder_from) if args.encoder_from else None
    return launch(source, compare=compare, opened=opened, compare_opened=compare_opened,
                  encoder_from=encoder_from, log_file=args.log)


def check_log_file(path: Path) -> None:
    """`--log FILE` must name a file that can be appended to, in an existing folder."""
    if path.is_dir():
        raise CommandError(f"--log {path}: is a folder, not a file")
    if not path.parent.is_dir():
        raise CommandError(f"--log {path}: folder {path.parent} does not exist")
    if path.exists() and not path.is_file():
        raise CommandError(f"--log {path}: not a regular file")
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise CommandError(f"--log {path}: cannot write it ({exc.strerror})") from None


def unknown_command(word: str) -> None:
    """`rnn-inspect tarce …`: a word that is no file, no zoo model and nearly a command."""
    from models.zoo import zoo_names

    if word.startswith("-") or os.path.lexists(word) or word in zoo_names():
        return
    close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.6)
    if close:
        raise CommandError(f"{word}: no such command, file or zoo model; did you mean "
                           f"`rnn-inspect {close[0]}`?")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if sys.stdout is None:  # started with stdout closed (`>&-`): nothing could be shown
            raise CommandError("standard output is closed; redirect it to a file or /dev/null")
        if argv and argv[0] in COMMANDS:
            args = command_parser().parse_args(argv)
            status = command_module(args.command).run(args)
            sys.stdout.flush()  # a closed pipe shows here, inside the handler below
            return status
        if argv:
            unknown_command(argv[0])
        return run_app(app_parser().parse_args(argv))
    except (CheckpointError, CommandError, StepRefused) as exc:
        # StepRefused: a model's own forward raised, broke the protocol or hung mid-run
        print(f"rnn-inspect: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except json.JSONDecodeError as exc:
        print(f"rnn-inspect: invalid JSON ({exc})", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `rnn-inspect trace … | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # what no command expected: stdout on a full disk (`> /dev/full`), …
        where = f"{exc.filename}: " if exc.filename else "cannot write the output: "
        print(f"rnn-inspect: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
