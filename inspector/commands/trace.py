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
    given = trace.add_mutually_exclusive_group(required=True)
    given.add_argument("--input", metavar="TEXT", help="the text, or - for stdin")
    given.add_argument("--input-array", metavar="FILE.npy",
                       help="real-valued inputs [T, features] (a time series), one row a step")
    trace.add_argument("--format", choices=("json", "jsonl", "npz"), default="json",
                       help="jsonl: a header line, then one step per line, written as it goes")
    trace.add_argument("--out", metavar="FILE", help="output file (default: stdout for json)")
    trace.add_argument("--splits", action="store_true",
                       help="also export each gate's input and memory parts")
    trace.add_argument("--encoder-from", metavar="OTHER",
                       help="seq2seq: OTHER's encoder hands over to MODEL's decoder")
    trace.add_argument("--intervene", action="append", default=[], metavar="EDIT",
                       help='e.g. "t=3 set l0.h[7]=5": edit the state step 3 starts from, as '
                            "F5 does while viewing step 2 (repeatable; also zero, scale, clamp, "
                            "release)")


def parse_intervene(value: str):
    """`t=3 set l0.h[7]=5` -> (3, the Intervention), in the TUI's dialog grammar."""
    from inspector.tui.edits import EditError, parse_intervention

    when, _, line = value.strip().partition(" ")
    if not (when.startswith("t=") and when[2:].isdigit()):
        raise CommandError(f"--intervene {value!r}: start with the step, e.g. "
                           "\"t=3 set l0.h[7]=5\"")
    try:
        return int(when[2:]), parse_intervention(line)
    except EditError as exc:
        raise CommandError(f"--intervene {value!r}: {exc}") from None


def intervened_session(model, text: str, edits):
    """`text` fed with each (t, intervention) made before step t: the session the TUI holds
    after the same keys and F5 edits, so its trace is the one ctrl+e writes."""
    from inspector.engine import Session

    session = Session(model)
    fed = 0
    for t, iv in sorted(edits, key=lambda edit: edit[0]):
        if t > len(text):
            raise CommandError(f"--intervene t={t}: the input has only {len(text)} steps")
        session.feed(text[fed:t])
        fed = t
        try:
            session.intervene(iv)
        except ValueError as exc:
            raise CommandError(f"--intervene t={t} {iv.describe()}: {exc}") from None
    session.feed(text[fed:])
    return session


def run(args: argparse.Namespace) -> int:
    from inspector.engine import write_trace

    if args.format == "npz" and not args.out:
        raise CommandError("--format npz needs --out FILE")
    if args.out:
        output_target(args.out)
    edits = [parse_intervene(value) for value in args.intervene]
    inputs = read_array(args.input_array) if args.input_array else None
    if edits and inputs is not None:
        raise CommandError("--intervene edits a token model's state; it cannot be combined "
                           "with --input-array yet")
    text = "" if inputs is not None else read_input(args.input)
    checkpoint = open_source(source_from(args))
    encoder_from = other_encoder(checkpoint, args.encoder_from) if args.encoder_from else None
    stdout = sys.stdout  # the trace's; user code running meanwhile prints to stderr
    try:
        with user_code_output():
            if edits:
                write_intervened(checkpoint, text, edits, args, stdout)
            else:
                write_trace(checkpoint, text, fmt=args.format, out=args.out,
                            splits=args.splits, encoder_from=encoder_from, stdout=stdout,
                            inputs=inputs)
    except UnknownCharacterError as exc:  # before ValueError: it is one
        raise CommandError(f"{checkpoint.name}: {exc}; it has no <unk> token") from None
    except ValueError as exc:  # real-valued inputs a model cannot take, or of the wrong width
        if inputs is None:
            raise
        raise CommandError(f"--input-array {args.input_array}: {exc}") from None
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


def read_array(path: str):
    """A `.npy` of real values [T, features] (or [T]), never unpickled."""
    import numpy as np

    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file (--input-array)") from None
    except (OSError, ValueError) as exc:
        raise CommandError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiu" or array.ndim not in (
            1, 2) or not len(array):
        raise CommandError(f"{path}: --input-array needs a non-empty real-valued array of shape "
                           "[T, features] or [T]")
    if not np.all(np.isfinite(array)):
        raise CommandError(f"{path}: --input-array holds NaN or infinite values")
    return array.astype(np.float32)
def write_intervened(checkpoint, text: str, edits, args: argparse.Namespace, stdout) -> None:
    from inspector.engine import inspectable
    from inspector.engine.export import write_session_trace
    from inspector.provenance import source_block

    model = inspectable(checkpoint)
    if model.kind == "seq2seq":
        raise CommandError(f"{checkpoint.name}: --intervene edits a character model's state; "
                           "a seq2seq model's handoff is edited in the TUI (F5)")
    if getattr(model, "whole_input", False):
        raise CommandError(f"{checkpoint.name}: --intervene edits the state a step starts from; "
                           "a bidirectional model's every step depends on the whole input, so "
                           "there is no such state to edit")
    if args.splits:
        raise CommandError("--intervene and --splits cannot be combined yet")
    write_session_trace(intervened_session(model, text, edits), args.format, args.out,
                        source=source_block(checkpoint), stdout=stdout)
