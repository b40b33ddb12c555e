"""`rnn-inspect probe MODEL --input TEXT --feature F`: a linear probe per layer's h and c."""

from __future__ import annotations

import argparse

from inspector.commands.analysis_support import (
    add_common,
    add_feature,
    check_text,
    feature_of,
    open_char_model,
    print_json,
    read_input,
)
from inspector.commands.common import CommandError


def add_parser(sub: argparse._SubParsersAction) -> None:
    from inspector.analysis.probes import MAX_STEPS

    probe = sub.add_parser("probe", help="how well a linear probe reads a feature from each "
                                         "layer's h and c (held out, against the baseline)")
    add_common(probe)
    add_feature(probe)
    probe.add_argument("--split", type=float, default=0.75,
                       help="the share of the steps fitted on (the rest are scored); 0.75")
    probe.add_argument("--max-steps", type=int, default=MAX_STEPS, metavar="N",
                       help=f"steps kept for the fit, evenly spaced; default {MAX_STEPS}")


def run(args: argparse.Namespace) -> int:
    from inspector.analysis.features import FeatureError
    from inspector.analysis.probes import probe

    if not 0 < args.split < 1:
        raise CommandError("--split must be between 0 and 1")
    if args.max_steps < 4:
        raise CommandError("--max-steps must be at least 4")
    text = read_input(args)
    _, model = open_char_model(args)
    check_text(model, text)
    feature = feature_of(args.feature, text)
    try:
        result = probe(model, text, feature, split=args.split, max_steps=args.max_steps)
    except FeatureError as exc:
        raise CommandError(f"--feature {exc}") from None
    if args.json:
        print_json(result.to_json())
        return 0
    metric = "R²" if result.metric == "r2" else "accuracy"
    print(f"probe {result.feature}: fitted on {result.train_steps} steps, scored on "
          f"{result.test_steps} ({metric}; baseline: "
          f"{'the training mean' if result.metric == 'r2' else 'the majority class'})")
    for layer in result.layers:
        score = (f"{layer.accuracy:6.3f}  baseline {layer.baseline:6.3f}" if result.metric == "r2"
                 else f"{layer.accuracy:6.1%}  baseline {layer.baseline:6.1%}")
        units = ", ".join(f"{n} {w:+.2f}" for n, w in layer.top_units[:5])
        print(f"{layer.name:<6} {metric} {score}   top units {units}")
    return 0
