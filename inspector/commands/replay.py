"""`rnn-inspect replay SESSION`: recompute a saved session, check its numbers, write its trace."""

from __future__ import annotations

import argparse
import sys

from inspector.commands.common import (
    CommandError,
    add_model_options,
    open_source,
    output_target,
    source_from,
)

EXIT_MISMATCH = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    replay = sub.add_parser(
        "replay", help="recompute a saved session; --check verifies every number it recorded",
        description="Replay a session file (saved from the app or the Python API) on its model. "
                    "The model is the one the file names (a path not found is looked for beside "
                    "the file); MODEL and its options open another one instead.")
    replay.add_argument("session", metavar="SESSION", help="a session file (.json)")
    add_model_options(replay)
    replay.add_argument("--check", action="store_true",
                        help="verify every number the file recorded; exit 1 at the first "
                             "mismatch, naming the step and the activation")
    replay.add_argument("--atol", type=float, default=0.0, metavar="X",
                        help="with --check: accept differences up to X (another CPU's rounding); "
                             "the default is bit for bit")
    replay.add_argument("--ignore-hash", action="store_true",
                        help="replay even on weights whose hash differs from the saved one")
    replay.add_argument("--format", choices=("json", "jsonl", "npz"),
                        help="write the trace of the branch on view (rnn-inspect-trace/2)")
    replay.add_argument("--out", metavar="FILE",
                        help="where to write the trace (default: stdout for json and jsonl)")


def run(args: argparse.Namespace) -> int:
    from inspector import sessions

    if args.atol < 0 or args.atol != args.atol:
        raise CommandError(f"--atol {args.atol}: must be a number >= 0")
    if args.out and not args.format:
        raise CommandError("--out needs --format json|jsonl|npz")
    if args.format == "npz" and not args.out:
        raise CommandError("--format npz needs --out FILE")
    if args.out:
        output_target(args.out)
    try:
        opened = sessions.open_session(
            args.session, source_from(args) if args.model or args.factory else None,
            ignore_hash=args.ignore_hash, trust_pickle=args.trust_pickle, verify=args.check,
            atol=args.atol, opener=open_source)
    except sessions.SessionFileError as exc:
        raise CommandError(str(exc)) from None
    saved, checkpoint, session = opened.saved, opened.checkpoint, opened.session
    mismatch = opened.mismatch
    if mismatch is not None:
        hint = "" if args.atol else " (bit for bit; --atol allows another CPU's rounding)"
        print(f"rnn-inspect: replay --check: {saved.path}: {mismatch.describe()}{hint}",
              file=sys.stderr)
        return EXIT_MISMATCH
    if args.format:
        from inspector.engine.export import write_session_trace
        from inspector.provenance import source_block

        try:
            write_session_trace(session, args.format, args.out, source_block(checkpoint))
        except BrokenPipeError:
            raise  # a closed stdout: main() ends quietly
        except OSError as exc:
            raise CommandError(f"{args.out}: cannot write the trace "
                               f"({exc.strerror or exc})") from None
    summary = sessions.describe(session)
    verdict = "every recorded number matches" if args.check else "replayed"
    # the trace may be on stdout: then the summary goes to stderr
    print(f"{saved.path}: {verdict}: {summary}",
          file=sys.stderr if args.format and not args.out else sys.stdout)
    return 0
