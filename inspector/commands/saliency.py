"""`rnn-inspect saliency MODEL --input TEXT [--at T]`: how much each input mattered."""

from __future__ import annotations

import argparse

from inspector.commands.analysis_support import (
    add_common,
    check_text,
    open_char_model,
    print_json,
    read_input,
)
from inspector.commands.common import CommandError


def add_parser(sub: argparse._SubParsersAction) -> None:
    saliency = sub.add_parser("saliency", help="for the prediction at step T, how much each "
                                               "earlier input mattered (squared gradient norm)")
    add_common(saliency)
    saliency.add_argument("--at", type=int, metavar="T",
                          help="the step whose prediction is explained (default: the last)")


def run(args: argparse.Namespace) -> int:
    from inspector.analysis.saliency import saliency

    text = read_input(args)
    _, model = open_char_model(args)
    check_text(model, text)
    try:
        result = saliency(model, text, args.at)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        print_json(result.to_json())
        return 0
    total = sum(result.scores) or 1.0
    print(f"prediction {result.prediction!r} at t={result.at}: share of the squared gradient "
          "by input step")
    order = sorted(range(len(result.scores)), key=lambda t: -result.scores[t])[:10]
    for t in sorted(order):
        share = result.scores[t] / total
        print(f"t={t:<6} {result.inputs[t]!r:<6} {share:6.1%}  {'█' * round(share * 40)}")
    return 0
