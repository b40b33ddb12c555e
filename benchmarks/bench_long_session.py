"""Keys stay as fast after a 10,000-character session as on a fresh one (the goal behind the
old timed test `test_ten_thousand_characters_stay_responsive`; a timing is a benchmark's job).

The real app under Textual's `run_test` on a 2x64 LSTM (the demo's size) at 120x40. It types
`--keys` letters one at a time on a fresh session, waiting for the status line to show each
step, then pastes 10,000 characters, waits until they are on screen, and types the same letters
again. It prints the seconds per key in both, and their ratio (goal <= 1.5x): the cost of a key
must not grow with the length of the session.

    .venv/bin/python benchmarks/bench_long_session.py [--chars 10000] [--keys 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drive import build_checkpoint, letters_text, load_average, wait_until  # noqa: E402


async def per_key_seconds(pilot, app, keys: str, first_step: int) -> list[float]:
    """Seconds from each key press until the status line shows its step."""
    times = []
    for offset, key in enumerate(keys):
        step = first_step + offset
        start = time.perf_counter()
        await pilot.press(key)
        await wait_until(app, lambda text, s=step: f"t={s} of {s + 1} steps" in text,
                         timeout=60, every=0.002)
        times.append(time.perf_counter() - start)
    return times


async def measure(checkpoint: Path, chars: int, keys: str) -> tuple[list[float], list[float]]:
    from textual import events

    from inspector.tui.app import InspectorApp

    app = InspectorApp(str(checkpoint))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(app, lambda text: "no steps yet" in text, timeout=120)
        fresh = await per_key_seconds(pilot, app, keys, 0)
        for _ in keys:  # back to an empty session
            await pilot.press("backspace")
        await wait_until(app, lambda text: "no steps yet" in text, timeout=60)
        app.post_message(events.Paste(letters_text(chars, seed=1)))
        await wait_until(app, lambda text: f"t={chars - 1} of {chars} steps" in text,
                         timeout=600)
        long = await per_key_seconds(pilot, app, keys, chars)
    return fresh, long


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=30)
    args = parser.parse_args()
    from inspector.tui.threads import limit_math_threads

    limit_math_threads()
    keys = letters_text(args.keys, seed=2)
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = build_checkpoint(Path(folder), layers=2, hidden=64)
        print(f"start: {load_average()}")
        fresh, long = asyncio.run(measure(checkpoint, args.chars, keys))
        print(f"end: {load_average()}")
    a, b = statistics.median(fresh), statistics.median(long)
    print(f"2x64 LSTM at 120x40, {args.keys} keys: fresh session {a * 1e3:.1f} ms per key "
          f"(p50), after {args.chars:,} characters {b * 1e3:.1f} ms per key (p50): "
          f"{b / a:.2f}x (goal <= 1.5x); worst after {max(long) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
