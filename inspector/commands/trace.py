"""`rnn-inspect trace MODEL --input TEXT`: run a model over text and export every activation."""

from __future__ import annotations

import argparse
import sys

from inspector.commands.common import (
    CommandError,
    add_model_options,
    open_source,
    other_encoder,
    output_target,
    source_from,
    user_code_output,
)
from models.vocab import UnknownCharacterError


def add_parser(sub: argparse._SubParsersAction) -> None:
    trace = sub.add_parser("trace", help="run a model over text and export every activation")
    add_model_options(trace)
    trace.add_argument("--input", required=True, metavar="TEXT", help="the text, or - for stdin")
    trace.add_argument("--format", choices=("json", "jsonl", "npz"), default="json",
                       help="jsonl: a header line, then one step per line, written as it goes")
    trace.add_argument("--out", metavar="FILE", help="output file (default: stdout for json)")
    trace.add_argument("--splits", action="store_true",
                       help="also export each gate's input and memory parts")
    trace.add_argument("--encoder-from", metavar="OTHER",
                       help="seq2seq: OTHER's encoder hands over to MODEL's decoder")


def run(args: argparse.Namespace) -> int:
    from inspector.engine import write_trace

    if args.format == "npz" and not args.out:
        raise CommandError("--format npz needs --out FILE")
    if args.out:
        output_target(args.out)
    text = read_input(args.input)
    checkpoint = open_source(source_from(args))
    encoder_from = other_encoder(checkpoint, args.encoder_from) if args.encoder_from else None
    stdout = sys.stdout  # the trace's; user code running meanwhile prints to stderr
    try:
        with user_code_output():
            write_trace(checkpoint, text, fmt=args.format, out=args.out, splits=args.splits,
                        encoder_from=encoder_from, stdout=stdout)
    except UnknownCharacterError as exc:
        raise CommandError(f"{checkpoint.name}: {exc}; it has no <unk> token") from None
    except BrokenPipeError:
        raise  # a closed stdout, not a file problem: main() ends quietly
    except OSError as exc:
        raise CommandError(f"{args.out}: cannot write the trace ({exc.strerror or exc})") from None
    return 0


def read_input(option: str) -> str:
    """The text to trace: `--input TEXT`, or stdin for `-` (read as UTF-8, checked)."""
    if option != "-":
        text, where = option, "--input"
    elif sys.stdin is None:
        raise CommandError("--input -: standard input is closed")
    else:
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        where = "--input - (standard input)"
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError as exc:
            raise CommandError(f"{where}: not UTF-8 text (byte {data[exc.start]:#04x} at offset "
                               f"{exc.start:,})") from None
    if not text:
        raise CommandError(f"{where} is empty: give at least one character to trace")
    return text
