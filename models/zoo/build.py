"""Rebuild the zoo with the project's own `rnn-inspect train`.

    python -m models.zoo.build [NAME…]
"""

from __future__ import annotations

import shlex
import sys

from inspector.cli import main
from models.zoo import ZOO_DIR, manifest


def build(names: list[str]) -> int:
    entries = manifest()
    for name in names or list(entries):
        args = shlex.split(entries[name]["train"])
        status = main(["train", *args, "--out", str(ZOO_DIR / f"{name}.safetensors")])
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(build(sys.argv[1:]))
