"""Rebuild the zoo with the project's own `rnn-inspect train`, from the commands in the manifest.

    python scripts/build_zoo.py [--as-shipped] [--out DIR] [NAME…]

An entry's `from_data` command trains it on a bundled pairs file (`models/data/shift.tsv`,
`doubled.tsv`: the seed's examples, written by `scripts/make_pair_files.py`) through
`rnn-inspect train pairs`, the path users train their own data on; entries without one use
`train`. `--as-shipped` runs every entry's `train` command instead: the one that made the
checkpoint shipped today (the doubled and shift ones predate the data files, so a from-data
rebuild gives other weights of the same architecture and task). The builder lives here, not in
`models/`, because it calls the CLI and `models` never imports `inspector`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from inspector.cli import main
from models.zoo import ZOO_DIR, manifest


def command(entry: dict, as_shipped: bool) -> list[str]:
    return shlex.split(entry["train"] if as_shipped else entry.get("from_data", entry["train"]))


def build(names: list[str], out: Path = ZOO_DIR, as_shipped: bool = False) -> int:
    entries = manifest()
    unknown = [n for n in names if n not in entries]
    if unknown:
        print(f"build_zoo: not in the manifest: {', '.join(unknown)}", file=sys.stderr)
        return 2
    for name in names or list(entries):
        status = main(["train", *command(entries[name], as_shipped),
                       "--out", str(out / f"{name}.safetensors")])
        if status:
            return status
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME")
    parser.add_argument("--out", type=Path, default=ZOO_DIR, help="folder (default: the zoo)")
    parser.add_argument("--as-shipped", action="store_true",
                        help="each entry's `train` command, as the shipped files were made")
    args = parser.parse_args()
    sys.exit(build(args.names, args.out, args.as_shipped))
