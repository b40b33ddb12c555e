"""`rnn-inspect info MODEL`: how the file was read (format, route, assumptions, dtype), then
architecture, vocabulary and training facts."""

from __future__ import annotations

import argparse

from inspector.commands.common import add_model_options, open_source, source_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    info = sub.add_parser("info", help="how the file was read, architecture, vocabulary, training")
    add_model_options(info)


def run(args: argparse.Namespace) -> int:
    from models.checkpoint import describe

    checkpoint = open_source(source_from(args))
    print("\n".join(describe(checkpoint)))
    return 0
