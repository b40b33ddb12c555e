"""What the app benchmarks share: checkpoints built with the project's own saving code, the screen
read as text (what the user sees, through Textual's public screenshot), waiting on it, and the
bare fused references.

The benchmarks talk to the app only through events (keys, a Paste) and what is on screen, so they
measure whatever the TUI does inside, before or after a restructure.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import time
from pathlib import Path

LINE = re.compile(r'<text[^>]*clip-path="url\(#[\w-]+-line-(\d+)\)"[^>]*>(.*?)</text>', re.S)


def build_checkpoint(folder: Path, layers: int = 2, hidden: int = 512, seed: int = 0,
                     cell: str = "lstm") -> Path:
    """An untrained, seeded char model on the letters, saved as the project saves models."""
    import torch

    from models.char_rnn import CharRNN, CharRNNConfig
    from models.checkpoint import save_checkpoint
    from models.vocab import CharVocab

    torch.manual_seed(seed)
    vocab = CharVocab.letters()
    module = CharRNN(CharRNNConfig(len(vocab), cell, layers, hidden, 16))
    return save_checkpoint(folder / f"bench-{cell}-{layers}x{hidden}-{seed}.safetensors", "char",
                           module, vocab)


def letters_text(n: int, seed: int = 0) -> str:
    import numpy as np

    return "".join(np.random.default_rng(seed).choice(list("abcdefghijklmnopqrstuvwxyz"), n))


def screen_lines(app) -> list[str]:
    """The screen as the user sees it, one string per row (from Textual's SVG screenshot)."""
    rows: dict[int, list[str]] = {}
    for row, text in LINE.findall(app.export_screenshot()):
        rows.setdefault(int(row), []).append(html.unescape(text).replace("\xa0", " "))
    return ["".join(rows.get(y, [])) for y in range(max(rows, default=-1) + 1)]


def screen_text(app) -> str:
    return "\n".join(screen_lines(app))


async def wait_until(app, shown, timeout: float, every: float = 0.25,
                     shots: list[tuple[float, float]] | None = None) -> str:
    """Poll the screen until `shown(text)` is true; returns that text. `shots` collects the
    (start, end) of each screenshot: they run on the event loop, so a stall measurement can
    leave them out."""
    deadline = time.perf_counter() + timeout
    while True:
        start = time.perf_counter()
        text = screen_text(app)
        if shots is not None:
            shots.append((start, time.perf_counter()))
        if shown(text):
            return text
        if time.perf_counter() > deadline:
            raise SystemExit(f"not shown within {timeout:.0f} s; the screen:\n{text}")
        await asyncio.sleep(every)


def bare_fused(checkpoint: Path, text: str, threads: int = 1) -> float:
    """Seconds for the plain PyTorch reference: the model's own module (embedding, one fused
    nn.LSTM call over the whole text, linear head) and the argmax of every step, no_grad."""
    import torch

    from inspector.loading import open_model

    module = open_model(str(checkpoint)).module.eval()
    ids = torch.tensor([module_ids(checkpoint, text)])
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            start = time.perf_counter()
            logits = module(ids)
            logits = logits[0] if isinstance(logits, tuple) else logits
            logits.argmax(-1)
            return time.perf_counter() - start
    finally:
        torch.set_num_threads(before)


def module_ids(checkpoint: Path, text: str) -> list[int]:
    from inspector.loading import open_model

    return open_model(str(checkpoint)).vocab.encode(text)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"
