"""A bracketed paste of 20,000 characters into a 2x512 LSTM, against a bare fused `nn.LSTM`
forward + head over the same text in the same run (issue 11: goal <= 2x).

- app: the real app under Textual's `run_test`; a `Paste` event is posted once the model is on
  screen, and the clock stops when the status line shows `t=19999 of 20000 steps` (the screen
  is read through screenshots every 0.25 s, so the figure is within 0.25 s).
- engine: `Session.paste` of the same text plus the records of the last 100 steps (what a
  screen shows), the part of the app's time that is the engine's.
- reference: the checkpoint's own module (embedding, one fused nn.LSTM call, linear head, argmax
  of every step) under no_grad, on one torch thread as the app runs, timed before and after the
  others (the median of those is the reference). With --every-core, the reference and
  Session.paste also on every core (measured on 2 busy cores: many times slower than one).

    .venv/bin/python benchmarks/bench_paste.py [--chars 20000] [--skip-app] [--every-core]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drive import (  # noqa: E402
    bare_fused,
    build_checkpoint,
    letters_text,
    load_average,
    wait_until,
)


def engine_paste(checkpoint: Path, text: str, threads: int | None) -> tuple[float, float]:
    """Seconds for Session.paste, and then for the records of the last 100 steps."""
    import torch

    from inspector.engine import Session, inspectable
    from inspector.loading import open_model

    torch.set_num_threads(1)
    model = inspectable(open_model(str(checkpoint)))
    session = Session(model)
    start = time.perf_counter()
    session.paste(text, threads=threads)
    pasted = time.perf_counter()
    session.records(session.cursor - 100, session.cursor)
    return pasted - start, time.perf_counter() - pasted


async def app_paste(checkpoint: Path, text: str, size: tuple[int, int]) -> float:
    from textual import events

    from inspector.tui.app import InspectorApp

    n = len(text)
    app = InspectorApp(str(checkpoint))
    async with app.run_test(size=size):
        await wait_until(app, lambda shown: "no steps yet" in shown, timeout=300)
        start = time.perf_counter()
        app.post_message(events.Paste(text))
        # on screen: the step count, and the newest steps' records (built in a worker)
        await wait_until(app, lambda shown: f"t={n - 1} of {n} steps" in shown
                         and "computing…" not in shown, timeout=3600)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=20_000)
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--skip-app", action="store_true", help="the engine figures only")
    parser.add_argument("--every-core", action="store_true",
                        help="also time the reference and Session.paste on every core")
    args = parser.parse_args()
    cols, rows = (int(v) for v in args.size.split("x"))
    from inspector.tui.threads import limit_math_threads

    limit_math_threads()  # as the app does: numpy's BLAS on one thread for the steps by hand
    text = letters_text(args.chars)
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = build_checkpoint(Path(folder))
        print(f"start: {load_average()}")
        bare_fused(checkpoint, text[:500])  # warm up: torch's first call
        cores = os.cpu_count() or 1
        references = [bare_fused(checkpoint, text)]
        engine = {1: engine_paste(checkpoint, text, threads=1)}
        every_core = None
        if args.every_core:
            every_core = bare_fused(checkpoint, text, threads=cores)
            engine[cores] = engine_paste(checkpoint, text, threads=cores)
        references.append(bare_fused(checkpoint, text))
        shown = None
        if not args.skip_app:
            shown = asyncio.run(app_paste(checkpoint, text, (cols, rows)))
            references.append(bare_fused(checkpoint, text))
        reference = statistics.median(references)
        print(f"end: {load_average()}")
        runs = ", ".join(f"{r:.2f}" for r in references)
        print(f"reference: bare fused nn.LSTM + head over {args.chars:,} characters, 2x512 "
              f"LSTM, 1 thread: {reference:.2f} s (runs {runs})"
              + (f"; on {cores} threads {every_core:.2f} s" if every_core is not None else ""))
        for threads, (paste, records) in engine.items():
            print(f"engine, {threads} thread(s): Session.paste {paste:.2f} s + the last 100 "
                  f"records {records:.2f} s = {paste + records:.2f} s "
                  f"({(paste + records) / reference:.2f}x the reference)")
        if shown is not None:
            print(f"app: bracketed paste of {args.chars:,} characters at {args.size} until "
                  f"`t={args.chars - 1} of {args.chars} steps` is shown: {shown:.2f} s "
                  f"({shown / reference:.2f}x the reference; goal <= 2x)")


if __name__ == "__main__":
    main()
