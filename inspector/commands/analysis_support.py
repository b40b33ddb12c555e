"""What the analysis commands (units, probe, pca, fixed-points, saliency) share: the input text,
the model, the feature, and JSON that never holds a bare NaN."""

from __future__ import annotations

import argparse
import sys

from inspector.commands.common import CommandError, add_model_options, source_from, warn
from inspector.loading import open_model
from models.vocab import UnknownCharacterError


def add_common(parser: argparse.ArgumentParser, *, input_required: bool = True) -> None:
    add_model_options(parser)
    parser.add_argument("--input", required=input_required, metavar="TEXT",
                        help="the text, or - for stdin")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_feature(parser: argparse.ArgumentParser) -> None:
    from inspector.analysis.features import NAMES

    parser.add_argument("--feature", required=True, metavar="F",
                        help=f"what to look for: {', '.join(NAMES)}")


def read_input(args: argparse.Namespace) -> str:
    text = sys.stdin.read() if args.input == "-" else args.input
    if not text:
        raise CommandError("the input is empty: nothing to analyse (--input)")
    return text


def open_char_model(args: argparse.Namespace):
    """(checkpoint, model) for a char or MLP model; a seq2seq pair is refused in one line."""
    from inspector.engine import inspectable

    checkpoint = open_model(source_from(args))
    warn(checkpoint.warnings)
    model = inspectable(checkpoint)
    if model.kind == "seq2seq":
        raise CommandError(f"{checkpoint.name} is a seq2seq model: the analyses read one "
                           "recurrent stack (a char or MLP model)")
    if getattr(model, "whole_input", False):
        raise CommandError(f"{checkpoint.name} is bidirectional: the analyses step a model "
                           "through its input, and its every step depends on the whole input; "
                           "trace it with rnn-inspect trace MODEL --input TEXT")
    return checkpoint, model


def check_text(model, text: str) -> None:
    try:
        model.vocab.encode(text)
    except UnknownCharacterError as exc:
        raise CommandError(f"{model.name}: {exc}; it has no <unk> token") from None


def feature_of(spec: str, text: str):
    from inspector.analysis.features import FeatureError, feature

    try:
        return feature(spec, text)
    except FeatureError as exc:
        raise CommandError(f"--feature {exc}") from None


def print_json(data: dict) -> None:
    from inspector.engine.export import dumps

    print(dumps(data))
