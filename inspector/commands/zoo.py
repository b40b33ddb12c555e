"""`rnn-inspect zoo`: list the bundled models."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("zoo", help="list the bundled models")


def run(_: argparse.Namespace) -> int:
    from models.zoo import manifest_rows

    rows = manifest_rows()
    if not rows:
        print("no bundled models")
        return 0
    width = max(len(r["name"]) for r in rows)
    for row in rows:
        print(f"{row['name']:<{width}}  {row['summary']}")
    return 0
