"""Key-to-frame with an analysis panel on view (probe, trajectory, saliency, diff), as ratios
against the bare Textual app measured in the same run (issue 16: key->frame stays within the
one-owner issue's goal, p50 <= 4x and p99 <= 8x the bare app at a 2x512 LSTM, 120x40).

Each row runs `benchmarks/panel_host.py MODEL PANEL` under `shared/tools/keylat.py`: every key
is fed to a Session and the dock gets the frame's PanelInput, so the panel computes in its worker
while keys come in. `none` is the same host with the dock hidden: the panels' own cost is the
difference between a row and `none`.

    .venv/bin/python benchmarks/bench_panels.py [--n 150] [--model doubled-lstm] [--gap-ms 600]

`--gap-ms 600` pauses before every key, longer than the panels' quiet time (0.25 s): each
panel's computation, and the trajectory's fixed-point search (a bounded one, ~20 s of one core
at 2x512, cancelled by the next frame), is running when the next key comes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_tui import build_checkpoint, keylat  # noqa: E402

PANELS = ("none", "probe", "trajectory", "saliency", "diff")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=150, help="keys per measurement")
    parser.add_argument("--model", default=None,
                        help="a checkpoint or zoo name (default: an untrained 2x512 LSTM)")
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--panels", default=",".join(PANELS))
    parser.add_argument("--gap-ms", type=float, default=None,
                        help="pause before each key (keylat's --gap-ms)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = args.model or str(build_checkpoint(Path(folder)))
        gap = "" if args.gap_ms is None else f", {args.gap_ms:g} ms before each key"
        print(f"model {Path(model).name}, {args.size}, {args.n} keys a row{gap}")
        print(f"{'panel':<11} {'p50 ms':>7} {'p99 ms':>7} {'bare p50':>9} {'bare p99':>9} "
              f"{'p50 x':>6} {'p99 x':>6}")
        for panel in args.panels.split(","):
            row = keylat([sys.executable, str(HERE / "panel_host.py"), model, panel], args.n,
                         args.size, args.gap_ms)
            print(f"{panel:<11} {row['p50']:7.1f} {row['p99']:7.1f} {row['ref50']:9.1f} "
                  f"{row['ref99']:9.1f} {row['p50'] / row['ref50']:6.2f} "
                  f"{row['p99'] / row['ref99']:6.2f}", flush=True)


if __name__ == "__main__":
    main()
