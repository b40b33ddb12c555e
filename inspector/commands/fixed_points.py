"""`rnn-inspect fixed-points MODEL --hold CHAR`: states the model keeps when CHAR is held."""

from __future__ import annotations

import argparse

import numpy as np

from inspector.commands.analysis_support import (
    add_common,
    check_text,
    open_char_model,
    print_json,
    read_input,
)
from inspector.commands.common import CommandError

STARTS = 256
ITERATIONS = 200  # inspector.analysis.fixed_points.ITERATIONS, without importing torch here
SETTLE = 300  # inspector.analysis.fixed_points.SETTLE


def add_parser(sub: argparse._SubParsersAction) -> None:
    points = sub.add_parser("fixed-points", help="fixed points of the state with one input "
                                                 "held, and their stability")
    add_common(points, input_required=False)
    points.add_argument("--hold", required=True, metavar="CHAR", help="the input held")
    points.add_argument("--period", type=int, choices=(1, 2), default=1,
                        help="2: points of F∘F (2-cycles) instead of F")
    points.add_argument("--starts", type=int, default=STARTS, metavar="N",
                        help=f"visited states the search starts from (default {STARTS}); "
                             "from --input, else from the model's own task's inputs")
    points.add_argument("--iterations", type=int, default=ITERATIONS, metavar="N",
                        help=f"optimiser steps before the Newton refinement (default "
                             f"{ITERATIONS})")
    points.add_argument("--settle", type=int, default=SETTLE, metavar="K",
                        help="also search from where K steps of the held input take each "
                             f"start (default {SETTLE}; 0: from the visited states only)")


def visited_states(model, text: str, count: int) -> np.ndarray:
    """`count` states the model passes through on `text`, evenly spaced, stacked [h; c];
    streamed, so a long --input costs one chunk of memory."""
    from inspector.analysis.activations import activation_chunks
    from inspector.analysis.fixed_points import StepMap

    names = StepMap(model, 0).names()
    wanted = np.unique(np.linspace(0, len(text) - 1, min(count, len(text))).astype(int))
    rows = []
    for start, arrays in activation_chunks(model, text, names):
        length = len(arrays[names[0]])
        pick = wanted[(wanted >= start) & (wanted < start + length)] - start
        rows.append(np.concatenate([arrays[name][pick] for name in names], axis=1))
    return np.concatenate(rows).astype(np.float64)


def run(args: argparse.Namespace) -> int:
    from inspector.analysis.fixed_points import find_fixed_points
    from inspector.engine import NativeModel
    from models import tasks

    checkpoint, model = open_char_model(args)
    if not isinstance(model, NativeModel):
        raise CommandError(f"{model.name}: the fixed-point search needs the model's own "
                           "weights; a model with its own forward is not supported")
    if model.cell == "mlp":
        raise CommandError(f"{model.name} is an MLP: it has no state, so no fixed points")
    if args.starts < 1 or args.iterations < 0 or args.settle < 0:
        raise CommandError("--starts must be at least 1, --iterations and --settle at least 0")
    if len(args.hold) != 1 or args.hold not in model.vocab:
        raise CommandError(f"--hold {args.hold!r}: name one character of {model.name}'s "
                           "vocabulary")
    if args.input is not None:
        text = read_input(args)
    else:
        task = (checkpoint.meta or {}).get("task")
        if task not in tasks.TASKS:
            raise CommandError(f"{model.name} names no task: give --input TEXT for the states "
                               "to start from")
        text = tasks.sample_text(task)
    check_text(model, text)
    result = find_fixed_points(model, args.hold, visited_states(model, text, args.starts),
                               period=args.period, iterations=args.iterations,
                               settle=args.settle)
    if args.json:
        print_json(result.to_json())
        return 0
    stable = sum(p.stable for p in result.points)
    print(f"{'period-2 points' if args.period == 2 else 'fixed points'} under {args.hold!r} "
          f"from {result.starts} visited states"
          + (f" and where {args.settle} steps take them" if args.settle else "")
          + f": {stable} stable, "
          f"{len(result.points) - stable} unstable")
    print(f"{'stable':<7} {'q':>9}  {'max|λ|':>7}  output" + ("  period" if args.period == 2
                                                             else ""))
    for p in result.points:
        line = f"{'yes' if p.stable else 'no':<7} {p.q:9.1e}  {p.max_abs_eig:7.3f}  {p.output!r}"
        print(line + (f"  {p.period}" if args.period == 2 else ""))
    return 0

