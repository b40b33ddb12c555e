"""`rnn-inspect pca MODEL --input TEXT`: principal components of h per layer and the path."""

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
    pca = sub.add_parser("pca", help="principal components of h per layer, the state's path")
    add_common(pca)
    pca.add_argument("--components", type=int, default=2, metavar="K",
                     help="how many components (default 2)")


def run(args: argparse.Namespace) -> int:
    from inspector.analysis.pca import pca

    text = read_input(args)
    _, model = open_char_model(args)
    if not 1 <= args.components <= model.hidden:
        raise CommandError(f"--components must be between 1 and {model.hidden}")
    check_text(model, text)
    result = pca(model, text, k=args.components)
    if args.json:
        print_json(result.to_json())
        return 0
    print(f"principal components of h over {result.steps} steps (--json for the path)")
    for layer in result.layers:
        shares = "  ".join(f"PC{i + 1} {share:5.1%}"
                           for i, share in enumerate(layer.components.explained))
        last = ", ".join(f"{v:+.3f}" for v in layer.path[-1])
        print(f"{layer.name:<6} {shares}   last step at ({last})")
    return 0
