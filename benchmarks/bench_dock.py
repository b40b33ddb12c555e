"""Key->frame on the real main screen with the analysis dock open (issue 16):
`shared/tools/keylat.py` types into the inspector on a 2x512 LSTM at 120x40 with the dock on
each panel (`benchmarks/panel_app.py`: the app itself, its controller, maps and tape), and into
the bare Textual app in the same run. Issue 11's goal holds with panels open: p50 <= 4x,
p99 <= 8x. (`bench_panels.py` measures 16b's panels in a host of their own.)

    .venv/bin/python benchmarks/bench_dock.py [--n 200] [--runs 3] [--panels none,text,units]

Each panel is measured `--runs` times (each run against the bare app in that run) and the
median of the runs' ratios is its result: a single run's ratio moves by ±15% on a shared
machine, mostly with the bare app's own figure.

Each panel computes in a worker thread after every key (the units panel re-ranks every unit
of every activation against `char=a`); the ratio is of the frame, which must not wait for it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tui import build_checkpoint, keylat_median  # noqa: E402

APP = Path(__file__).resolve().parent / "panel_app.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--panels",
                        default="none,text,units,sort,tape,probe,trajectory,saliency,diff")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = build_checkpoint(Path(folder))
        for panel in args.panels.split(","):
            command = [sys.executable, str(APP), str(checkpoint), panel]
            if panel in ("units", "probe"):
                command.append("char=a")
            keylat_median(f"dock on {panel}, 2x512 LSTM at {args.size}", command, args.n,
                          args.size, args.runs, "goal p50 <= 4x, p99 <= 8x")


if __name__ == "__main__":
    main()
