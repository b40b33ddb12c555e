"""`rnn-inspect trace MODEL --input TEXT`: run a model over text and export every activation."""

from __future__ import annotations

import argparse
import sys

from inspector.commands.common import (
    CommandError,
    add_model_options,
    other_encoder,
    output_target,
    source_from,
    warn,
)
from inspector.loading import open_model
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
    text = sys.stdin.read() if args.input == "-" else args.input
    if not text:
        raise CommandError("the input is empty: nothing to trace (--input)")
    checkpoint = open_model(source_from(args))
    warn(checkpoint.warnings)
    encoder_from = other_encoder(checkpoint, args.encoder_from) if args.encoder_from else None
    try:
        write_trace(checkpoint, text, fmt=args.format, out=args.out, splits=args.splits,
                    encoder_from=encoder_from)
    except UnknownCharacterError as exc:
        raise CommandError(f"{checkpoint.name}: {exc}; it has no <unk> token") from None
    except BrokenPipeError:
        raise  # a closed stdout, not a file problem: main() ends quietly
    except OSError as exc:
        raise CommandError(f"{args.out}: cannot write the trace ({exc.strerror or exc})") from None
    return 0

