"""Key->frame latency in a real pty against the bare Textual app, median of three runs (issue 11's
goals: a 2x512 LSTM at 120x40, p50 <= 4x and p99 <= 8x; a 4x1024 LSTM at 200x60, p50 <= 6x).

Each run is one `shared/tools/keylat.py` call typing letters into `rnn-inspect MODEL` with
`--vs shared/tools/bare_textual.py`, so both programs are measured in the same run; the ratios are
of that run's figures, and the median of the runs' ratios is the result. The models are untrained
seeded checkpoints saved with the project's own code into a temporary folder. The bundled demo
(the README's first command opens it: a 2x64 LSTM whose maps are zoomed to fill the screen, so
every map is drawn on every key) is measured too, against 2x512's goal.

    .venv/bin/python benchmarks/bench_keylat.py [--n 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_tui import keylat_median  # noqa: E402
from drive import build_checkpoint  # noqa: E402

CASES = (("2x512 LSTM", 2, 512, "120x40", 4.0, 8.0), ("4x1024 LSTM", 4, 1024, "200x60", 6.0, None),
         ("the demo (doubled-lstm, 2x64)", None, None, "120x40", 4.0, 8.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="keys typed per program and run")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for label, layers, hidden, size, goal50, goal99 in CASES:
            model = ("doubled-lstm" if layers is None
                     else str(build_checkpoint(Path(folder), layers, hidden)))
            command = [sys.executable, "-m", "inspector.cli", model]
            goals = f"goal p50 <= {goal50:g}x" + (f", p99 <= {goal99:g}x" if goal99 else "")
            keylat_median(f"{label} at {size}", command, args.n, size, args.runs, goals)


if __name__ == "__main__":
    main()
