"""Analysis and streamed-trace benchmarks, each against plain PyTorch in the same run.

    python benchmarks/bench_analysis.py [--steps 1000000] [--only units|fixed|trace] [--threads N]

1. `rnn-inspect units` over N steps of a 2x512 LSTM, every activation (h, c, the four gates,
   both layers) vs the bare fused nn.LSTM forward + head over the same text, chunked the same
   way; each runs in its own process, so each peak RSS (VmHWM) is its own. Goal: ≤ 2x the
   time, ≤ 1 GB. The full size (1,000,000 steps, the default): `--only units --threads 1` takes
   about 8 minutes of CPU (~5.5 for units, ~3 for the bare forward, measured at 150,000 steps
   on a busy machine); `--steps 50000` checks the ratio in under a minute.
2. `fixed-points` on a 1x64 tanh RNN (the zoo's doubled-rnn), 256 starts: goal ≤ 10 s.
3. `trace` of a 2x64 LSTM written as npz and as JSON lines at two lengths: peak RSS must not grow
   with the length (goal < 600 MB at any length).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETUP = """
import sys, time, numpy as np, torch
sys.path.insert(0, {root!r})
from models import tasks
torch.manual_seed(0)
if {threads}:
    torch.set_num_threads({threads})
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
corpus = tasks.load_corpus()
text = (corpus * ({steps} // len(corpus) + 1))[:{steps}]
del corpus
"""

UNITS = SETUP + """
import io, json, contextlib
from inspector.cli import main
out = io.StringIO()
start, cpu = time.perf_counter(), time.process_time()
with contextlib.redirect_stdout(out):
    status = main(["units", {model!r}, "--input", text, "--feature", "in-quotes", "--top", "0",
                   "--json"])  # --top 0: every unit is listed, so the count shows all were ranked
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
assert status == 0
result = json.loads(out.getvalue())
assert result["steps"] == len(text)
names = {{u["name"].split("[")[0] for u in result["units"]}}
print(seconds, rss_mb(), result["units"][0]["name"], len(names), cpu, len(result["units"]))
"""

BARE = SETUP + """
from models.char_rnn import CharRNN, CharRNNConfig
from models.vocab import CharVocab
vocab = CharVocab.from_text(tasks.load_corpus())
module = CharRNN(CharRNNConfig(len(vocab), "lstm", 2, 512, 32)).eval()
ids = torch.tensor(vocab.encode(text))
start, cpu = time.perf_counter(), time.process_time()
hidden = None
with torch.no_grad():
    for s in range(0, len(ids), {chunk}):
        out, hidden = module.rnn(module.embed(ids[s:s + {chunk}])[None], hidden)
        probs = torch.softmax(module.head(out), -1)
print(time.perf_counter() - start, rss_mb(), time.process_time() - cpu)
"""

TRACE = SETUP + """
from inspector.cli import main
start = time.perf_counter()
assert main(["trace", {model!r}, "--input", text, "--format", {fmt!r}, "--out", {out!r}]) == 0
print(time.perf_counter() - start, rss_mb())
"""


def run(code: str, stdin: str | None = None) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         input=stdin, check=False)
    if out.returncode:
        raise SystemExit(out.stderr)
    return out.stdout.split()


def bench_units(steps: int, threads: int) -> None:
    """`rnn-inspect units` itself (in-process `main`, the text as --input) in one process, the
    bare forward in another: each peak RSS (VmHWM, the child's ru_maxrss) is that run's own."""
    from inspector.engine.bulk import CHUNK
    from models.char_rnn import CharRNN, CharRNNConfig
    from models.checkpoint import save_checkpoint
    from models.tasks import load_corpus
    from models.vocab import CharVocab

    vocab = CharVocab.from_text(load_corpus())
    with tempfile.TemporaryDirectory(dir=ROOT) as folder:
        torch_seed(0)
        model = str(save_checkpoint(Path(folder) / "lstm.safetensors", "char",
                                    CharRNN(CharRNNConfig(len(vocab), "lstm", 2, 512, 32)),
                                    vocab))
        ours = run(UNITS.format(root=str(ROOT), steps=steps, threads=threads, model=model))
    bare = run(BARE.format(root=str(ROOT), steps=steps, chunk=CHUNK, threads=threads))
    ratio = float(ours[0]) / float(bare[0])
    cpu_ratio = float(ours[4]) / float(bare[2])
    print(f"units, 2x512 LSTM, {steps:,} steps, {ours[3]} activations, {ours[5]} units ranked, "
          f"best {ours[2]}: {float(ours[0]):.1f} s ({float(ours[4]):.1f} s CPU), peak RSS "
          f"{float(ours[1]):.0f} MB; bare fused forward + head {float(bare[0]):.1f} s "
          f"({float(bare[2]):.1f} s CPU), {float(bare[1]):.0f} MB; ratio {ratio:.2f}x wall, "
          f"{cpu_ratio:.2f}x CPU (goal <= 2x, <= 1024 MB)", flush=True)


def torch_seed(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def bench_fixed_points() -> None:
    code = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from inspector.cli import main
start, cpu = time.perf_counter(), time.process_time()
assert main(["fixed-points", "doubled-rnn", "--hold", "a", "--json"]) == 0
print(time.perf_counter() - start, time.process_time() - cpu, file=sys.stderr)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    import json

    points = json.loads(out.stdout)["points"]
    stable = sum(p["stable"] for p in points)
    seconds, cpu = (float(v) for v in out.stderr.split()[-2:])
    print(f"fixed-points, 1x64 tanh RNN, 256 starts: {seconds:.1f} s ({cpu:.1f} s CPU; goal "
          f"<= 10 s); {len(points)} points, {stable} stable", flush=True)


def bench_trace(steps: int, threads: int) -> None:
    from models.char_rnn import CharRNN, CharRNNConfig
    from models.checkpoint import save_checkpoint
    from models.tasks import load_corpus
    from models.vocab import CharVocab

    vocab = CharVocab.from_text(load_corpus())
    with tempfile.TemporaryDirectory(dir=ROOT) as folder:
        model = str(save_checkpoint(Path(folder) / "lstm.safetensors", "char",
                                    CharRNN(CharRNNConfig(len(vocab), "lstm", 2, 64, 16)),
                                    vocab))
        for fmt, lengths in (("npz", (steps // 10, steps)), ("jsonl", (steps // 100,
                                                                       steps // 20))):
            for length in lengths:
                out = str(Path(folder) / f"t.{fmt}")
                seconds, rss = run(TRACE.format(root=str(ROOT), steps=length, model=model,
                                                fmt=fmt, out=out, threads=threads))[:2]
                size = Path(out).stat().st_size / 1e6
                print(f"trace --format {fmt}, 2x64 LSTM, {length:,} steps: {float(seconds):.1f} s,"
                      f" peak RSS {float(rss):.0f} MB (goal < 600), file {size:,.0f} MB")
                Path(out).unlink()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("units", "fixed", "trace"))
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads in every timed process (0: torch's default); on a "
                             "busy machine 1 wastes less time waiting between threads")
    args = parser.parse_args()
    if args.only in (None, "fixed"):
        bench_fixed_points()
    if args.only in (None, "trace"):
        bench_trace(args.steps, args.threads)
    if args.only in (None, "units"):
        bench_units(args.steps, args.threads)


if __name__ == "__main__":
    main()
