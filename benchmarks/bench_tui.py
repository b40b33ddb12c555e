"""Key-to-frame latency and startup of the TUI, as ratios against references measured in the
same run (issue 5's performance goals).

- key->frame: `shared/tools/keylat.py` types into the inspector on a 2x512 LSTM at 120x40 (a real
  pty: Textual's headless driver renders no frames) and into `shared/tools/bare_textual.py`.
  Goals: p50 <= 5x and p99 <= 10x the bare app's.
- startup: process start -> first screen, against `python -c "import torch, textual.app"`.
  Goal: <= 1.5x. Printed for `rnn-inspect MODEL` (the CLI imports torch first) and for
  `python -m inspector.tui.app MODEL` (the first screen comes up before torch is imported; keys
  typed meanwhile are queued), each also with the time until the model is loaded and shown.

    .venv/bin/python benchmarks/bench_tui.py [--n 300]
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT.parent / "shared" / "tools"
KEYLAT_LINE = re.compile(r"startup (?P<startup>[\d.]+) s; key->frame p50 (?P<p50>[\d.]+) ms "
                         r"p99 (?P<p99>[\d.]+) ms; vs p50 (?P<ref50>[\d.]+) ms p99 "
                         r"(?P<ref99>[\d.]+) ms")


def build_checkpoint(folder: Path) -> Path:
    """An untrained, seeded 2x512 LSTM on the letters: the size the goals are stated for."""
    import torch

    from models.char_rnn import CharRNN, CharRNNConfig
    from models.checkpoint import save_checkpoint
    from models.vocab import CharVocab

    torch.manual_seed(0)
    vocab = CharVocab.letters()
    module = CharRNN(CharRNNConfig(len(vocab), "lstm", 2, 512, 16))
    return save_checkpoint(folder / "bench-lstm-2x512.safetensors", "char", module, vocab)


def keylat(command: list[str], n: int, size: str, gap_ms: float | None = None
           ) -> dict[str, float]:
    """keylat.py's figures for `command` and the bare Textual app; `gap_ms`: a pause before
    each key (keylat's --gap-ms), so work that starts when the keys pause is running when the
    next one comes."""
    bare = f"{sys.executable} {TOOLS / 'bare_textual.py'}"
    gap = [] if gap_ms is None else ["--gap-ms", str(gap_ms)]
    out = subprocess.run([sys.executable, str(TOOLS / "keylat.py"), "--size", size,
                          "--keys", "abcdefghijklmnopqrstuvwxyz", "--n", str(n), *gap,
                          "--vs", bare, "--", *command], capture_output=True, text=True,
                         check=True)
    line = out.stdout.strip().splitlines()[-1]
    match = KEYLAT_LINE.search(line)
    if match is None:
        raise SystemExit(f"unexpected keylat output: {line}")
    return {key: float(value) for key, value in match.groupdict().items()}


def keylat_median(label: str, command: list[str], n: int, size: str, runs: int,
                  goals: str) -> tuple[float, float]:
    """`keylat` `runs` times, each run printed with its own ratios to the bare app and the load
    before it; then the medians (of the runs' ratios: each run has its own bare figure).
    Returns (p50 ratio, p99 ratio)."""
    from drive import load_average

    got = []
    for run in range(runs):
        before = load_average()
        lat = keylat(command, n, size)
        got.append(lat)
        print(f"  {label} run {run + 1}: p50 {lat['p50']:.1f} ms p99 {lat['p99']:.1f} ms; bare "
              f"p50 {lat['ref50']:.1f} ms p99 {lat['ref99']:.1f} ms; ratio p50 "
              f"{lat['p50'] / lat['ref50']:.2f}x p99 {lat['p99'] / lat['ref99']:.2f}x ({before})",
              flush=True)
    p50 = statistics.median(r["p50"] / r["ref50"] for r in got)
    p99 = statistics.median(r["p99"] / r["ref99"] for r in got)
    print(f"key->frame, {label}, {n} keys, median of {runs} runs: p50 "
          f"{statistics.median(r['p50'] for r in got):.1f} ms ({p50:.2f}x the bare app), p99 "
          f"{statistics.median(r['p99'] for r in got):.1f} ms ({p99:.2f}x) ({goals}); "
          f"{load_average()}", flush=True)
    return p50, p99


def wall_time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def time_until_shown(command: list[str], marker: bytes, size: tuple[int, int]) -> float:
    """Seconds from process start until `marker` appears in the program's screen output."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                            close_fds=True, start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        while time.perf_counter() - start < 60:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                seen += os.read(master, 1 << 16)
                if marker in seen:
                    return time.perf_counter() - start
        raise SystemExit(f"{marker!r} not shown within 60 s")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
        os.close(master)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="keys typed per program")
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--runs", type=int, default=3, help="startup runs (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = str(build_checkpoint(Path(folder)))
        # `rnn-inspect MODEL`: the CLI imports torch before the app starts, so typing begins
        # once the model is on screen and every key measured is a real step.
        command = [sys.executable, "-m", "inspector.cli", checkpoint]
        module = [sys.executable, "-m", "inspector.tui.app", checkpoint]

        lat = keylat(command, args.n, args.size)
        p50_ratio, p99_ratio = lat["p50"] / lat["ref50"], lat["p99"] / lat["ref99"]
        print(f"key->frame, 2x512 LSTM at {args.size}, {args.n} keys: "
              f"p50 {lat['p50']:.1f} ms p99 {lat['p99']:.1f} ms; bare Textual p50 "
              f"{lat['ref50']:.1f} ms p99 {lat['ref99']:.1f} ms; ratio p50 {p50_ratio:.2f}x "
              f"(goal <= 5) p99 {p99_ratio:.2f}x (goal <= 10)")

        reference = statistics.median(
            wall_time([sys.executable, "-c", "import torch, textual.app"])
            for _ in range(args.runs))
        cols, rows = (int(v) for v in args.size.split("x"))
        print(f"startup reference `python -c \"import torch, textual.app\"`: {reference:.2f} s")
        for label, argv in (("rnn-inspect MODEL", command),
                            ("python -m inspector.tui.app MODEL", module)):
            first = statistics.median(time_until_shown(argv, b"loading", (cols, rows))
                                      for _ in range(args.runs))
            shown = statistics.median(time_until_shown(argv, "lstm 2×512".encode(), (cols, rows))
                                      for _ in range(args.runs))
            print(f"startup {label}: first screen {first:.2f} s ({first / reference:.2f}x), "
                  f"model shown {shown:.2f} s ({shown / reference:.2f}x) (goal <= 1.5x)")

if __name__ == "__main__":
    main()
