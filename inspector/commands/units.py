"""`rnn-inspect units MODEL --input TEXT --feature F`: the units that follow a feature."""

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
    units = sub.add_parser("units", help="rank every unit by how well it follows a feature")
    add_common(units)
    add_feature(units)
    units.add_argument("--top", type=int, default=20, metavar="K",
                       help="how many units to show (0: all); default 20")
    units.add_argument("--by", choices=("r", "jaccard"), default="r",
                       help="rank by |r| (default) or, for a binary feature, by Jaccard index")


def run(args: argparse.Namespace) -> int:
    from inspector.analysis.features import FeatureError
    from inspector.analysis.units import rank_units

    if args.top < 0:
        raise CommandError("--top must be 0 (all) or more")
    text = read_input(args)
    _, model = open_char_model(args)
    check_text(model, text)
    feature = feature_of(args.feature, text)
    try:
        ranking = rank_units(model, text, feature, top=args.top or None, by=args.by)
    except FeatureError as exc:
        raise CommandError(f"--feature {exc}") from None
    if args.json:
        print_json(ranking.to_json())
        return 0
    print(f"{ranking.feature} over {ranking.steps} steps ({feature.kind}): units by "
          f"{'Jaccard index' if args.by == 'jaccard' else '|r|'}")
    width = max([len(u.name) for u in ranking.units] + [4])
    binary = feature.kind == "binary"
    print(f"{'unit':<{width}}  {'r':>7}" + ("  jaccard  on when" if binary else ""))
    for u in ranking.units:
        line = f"{u.name:<{width}}  {u.r:+7.3f}"
        if binary:
            line += f"  {u.jaccard:7.3f}  {'>' if u.above else '<'} {u.threshold:+.3f}"
        print(line)
    return 0
