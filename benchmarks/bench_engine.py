"""Engine benchmarks, each a ratio against plain PyTorch measured in the same run.

    python benchmarks/bench_engine.py [--quick]

1. One keystroke step of a 2x512 LSTM with full introspection vs a bare nn.LSTM single step
   plus the Linear head on the same state (both with torch.set_num_threads(1), as in the app).
2. Bulk trace of 10,000 characters with all gates vs the bare fused nn.LSTM forward + head.
3. The whole `rnn-inspect trace ... --format npz` command vs a bare Python process that loads the
   same weights, runs the fused forward + head and writes its outputs with np.savez.
4. RSS of a 1,000,000-character session, and the time to jump to a random step.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from inspector.engine import NativeModel, Session, inspectable, trace
from inspector.loading.native import load_checkpoint
from models.char_rnn import CharRNN, CharRNNConfig
from models.checkpoint import save_checkpoint
from models.vocab import CharVocab

VOCAB = CharVocab.from_text("abcdefghijklmnopqrstuvwxyz .,\n")
BARE_TRACE = """
import sys, numpy as np, torch
from safetensors.torch import load_file
torch.set_num_threads(int(sys.argv[3]))
w = load_file(sys.argv[1])
emb = w["embed.weight"]
rnn = torch.nn.LSTM(emb.shape[1], 512, 2, batch_first=True)
rnn.load_state_dict({k[4:]: v for k, v in w.items() if k.startswith("rnn.")})
head = torch.nn.Linear(512, emb.shape[0])
head.load_state_dict({"weight": w["head.weight"], "bias": w["head.bias"]})
text = sys.argv[2]
ids = torch.tensor([[ord(c) % emb.shape[0] for c in text]])
with torch.no_grad():
    out, _ = rnn(emb[ids])
    probs = torch.softmax(head(out), -1)
np.savez(sys.argv[4], h=out[0].numpy(), probs=probs[0].numpy())
"""


def timings(fn, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def best_of_each(ours, theirs, repeats: int) -> tuple[float, float]:
    """The best time of each, their runs interleaved: this machine's speed drifts over tens of
    seconds, and running all of one before all of the other measured the drift too."""
    pairs = [(timings(ours, 1)[0], timings(theirs, 1)[0]) for _ in range(repeats)]
    return min(a for a, _ in pairs), min(b for _, b in pairs)


def median_per_call(fn, calls: int) -> float:
    return statistics.median(timings(fn, calls))


def lstm_2x512(seed: int = 0) -> CharRNN:
    torch.manual_seed(seed)
    return CharRNN(CharRNNConfig(len(VOCAB), "lstm", 2, 512, 32)).eval()


def bench_step(module: CharRNN, calls: int) -> None:
    torch.set_num_threads(1)
    model = NativeModel(module, VOCAB, "2x512")
    session = Session(model)
    session.feed("warm up the caches ")
    text = ("the quick brown fox jumps over the lazy dog " * 50)[:calls]
    chars = iter(text)
    ours = median_per_call(lambda: session.feed(next(chars)), calls)
    x = module.input_vectors(torch.tensor([[1]]))
    hidden = (torch.zeros(2, 1, 512), torch.zeros(2, 1, 512))

    def bare() -> None:
        nonlocal hidden
        with torch.no_grad():
            out, hidden = module.rnn(x, hidden)
            module.head(out)

    theirs = median_per_call(bare, calls)
    print(f"keystroke step, 2x512 LSTM, full introspection: {ours * 1e3:.2f} ms vs bare "
          f"nn.LSTM step + head {theirs * 1e3:.2f} ms -> ratio {ours / theirs:.2f} (goal <= 1.0)")


def bench_trace(module: CharRNN, length: int, repeats: int) -> None:
    torch.set_num_threads(2)
    model = NativeModel(module, VOCAB, "2x512")
    text = ("the quick brown fox jumps over the lazy dog " * (length // 40 + 1))[:length]
    ids = torch.tensor([VOCAB.encode(text)])
    trace(model, text[:100])

    def bare() -> None:
        with torch.no_grad():
            out, _ = module(ids)
            torch.softmax(out, -1)

    ours, theirs = best_of_each(lambda: trace(model, text), bare, repeats)
    print(f"bulk trace, {length:,} chars, all gates: {ours * 1e3:.0f} ms vs bare fused forward + "
          f"head {theirs * 1e3:.0f} ms -> ratio {ours / theirs:.2f} (goal <= 2.0)")


def bench_trace_command(module: CharRNN, length: int, repeats: int) -> None:
    text = ("the quick brown fox jumps over the lazy dog " * (length // 40 + 1))[:length]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.safetensors"
        save_checkpoint(path, "char", module, VOCAB)
        ours_cmd = [sys.executable, "-m", "inspector.cli", "trace", str(path), "--input", text,
                    "--format", "npz", "--out", str(Path(tmp) / "ours.npz")]
        bare_cmd = [sys.executable, "-c", BARE_TRACE, str(path), text, "2",
                    str(Path(tmp) / "bare.npz")]
        ours, theirs = best_of_each(lambda: subprocess.run(ours_cmd, check=True),
                                    lambda: subprocess.run(bare_cmd, check=True), repeats)
    print(f"`rnn-inspect trace --format npz`, {length:,} chars: {ours:.2f} s vs bare load + "
          f"forward + np.savez {theirs:.2f} s -> ratio {ours / theirs:.2f} (goal <= 2.0)")


def peak_rss_mb() -> float:
    """This process's peak resident set: VmHWM where Linux has it. ru_maxrss is not used there:
    a child started by vfork + exec inherits its parent's peak in it."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_long_session(module: CharRNN, length: int, jumps: int) -> None:
    torch.set_num_threads(1)
    before = peak_rss_mb()
    model = NativeModel(module, VOCAB, "2x512")
    session = Session(model)
    text = ("the quick brown fox jumps over the lazy dog " * (length // 40 + 1))[:length]
    start = time.perf_counter()
    session.paste(text)
    fed = time.perf_counter() - start
    rng = np.random.default_rng(0)
    order = iter(rng.integers(0, length, size=jumps))

    def jump(t: int) -> None:
        session.goto(int(t))
        session.records(max(int(t) - 40, 0), int(t))  # what the screen shows around it

    jump_times = timings(lambda: jump(next(order)), jumps)
    rss = peak_rss_mb()
    print(f"{length:,}-char session, 2x512 LSTM: pasted in {fed:.1f} s; peak RSS {rss:.0f} MB "
          f"(before the session: {before:.0f} MB; goal < 600 MB); jump to a random step "
          f"+ 40 records: median {statistics.median(jump_times) * 1e3:.0f} ms, "
          f"max {max(jump_times) * 1e3:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--session-only", type=int, metavar="CHARS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    module = lstm_2x512()
    if args.session_only:  # in a process of its own, so peak RSS is the session's alone
        bench_long_session(module, args.session_only, 50)
        return
    quick = args.quick
    bench_step(module, 200 if quick else 1000)
    bench_trace(module, 2_000 if quick else 10_000, 2 if quick else 5)
    bench_trace_command(module, 2_000 if quick else 10_000, 1 if quick else 3)
    subprocess.run([sys.executable, __file__, "--session-only",
                    str(20_000 if quick else 1_000_000)], check=True)
    zoo = inspectable(load_checkpoint("doubled-lstm"))
    print(f"(zoo doubled-lstm: {zoo.n_layers}x{zoo.hidden} {zoo.cell}; figures above are 2x512)")


if __name__ == "__main__":
    main()
