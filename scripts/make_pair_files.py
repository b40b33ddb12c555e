"""Write the seed's two examples as pairs files (`models/data/shift.tsv`, `doubled.tsv`).

    python scripts/make_pair_files.py

Each line is `input<TAB>target`: every window of the alphabet (wrapping z→a) from every letter.
shift: 1–26 letters, each followed by the next letter. doubled: 1–32 doubled letters, pair j
answering letters 2j and 2j+1 (aabb…zz → abc…zabc…z). The files are generated from
`models.tasks`, the one source of the task targets, so they and `train shift|doubled` agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from models.tasks import LETTERS, doubled_source, doubled_target, shift_target

DATA_DIR = Path(__file__).resolve().parent.parent / "models" / "data"


def shift_lines() -> list[str]:
    lines = []
    for length in range(1, 27):
        for start in range(26):
            source = "".join(LETTERS[(start + k) % 26] for k in range(length))
            lines.append(f"{source}\t{shift_target(source)}")
    return lines


def doubled_lines() -> list[str]:
    return [f"{doubled_source(start, pairs)}\t{doubled_target(start, pairs)}"
            for pairs in range(1, 33) for start in range(26)]


def main() -> int:
    for name, lines in (("shift.tsv", shift_lines()), ("doubled.tsv", doubled_lines())):
        (DATA_DIR / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {DATA_DIR / name}: {len(lines)} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
