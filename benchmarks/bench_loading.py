"""What a hostile file costs `rnn-inspect info`, against a valid file, in the same run.

Each file is opened by a fresh `python -m inspector.cli info FILE` that reports its own wall time
and CPU time (user + system, both from before the CLI is imported) and peak RSS (VmHWM). The
target: every hostile class at most 1 s and 100 MB more than the valid file, judged on CPU time:
on a shared machine the wall time mostly measures the other processes. Run:
`.venv/bin/python benchmarks/bench_loading.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hostile_files import COSTLY, HOSTILE, valid  # noqa: E402

CHILD = """
import sys, time
started, cpu = time.perf_counter(), time.process_time()
from inspector.cli import main
status = main(sys.argv[1:])
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(f"BENCH {status} {elapsed:.4f} {cpu:.4f} {peak}", file=sys.stderr)
"""
REPEATS = 3
HUNG = 60  # s: a file still loading after this hangs the loader (reported, never waited out)


def measure(path: Path, *options: str) -> tuple[int, float, float, float]:
    """(exit status, fastest wall seconds, fewest CPU seconds, smallest peak MB) over REPEATS
    fresh processes: the least disturbed run on a shared machine. A load that hangs is killed at
    HUNG seconds and reported as exit -1 taking HUNG seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = []
    for _ in range(REPEATS):
        try:
            done = subprocess.run([sys.executable, "-c", CHILD, "info", str(path), *options],
                                  env=env, capture_output=True, text=True, timeout=HUNG)
        except subprocess.TimeoutExpired:
            return -1, float(HUNG), float(HUNG), 0.0
        line = next((x for x in done.stderr.splitlines() if x.startswith("BENCH")), None)
        if line is None:  # the child died before reporting (killed on a crowded machine)
            print(f"  {path.name}: no report (exit {done.returncode}): {done.stderr[-200:]!r}")
            continue
        _, status, seconds, cpu, peak_kb = line.split()
        runs.append((int(status), float(seconds), float(cpu), int(peak_kb) / 1024))
    return runs[0][0], *(min(r[k] for r in runs) for k in (1, 2, 3))


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        valid(base / "valid.safetensors")
        measure(base / "valid.safetensors")  # warm the caches: the first run reads torch cold
        status, seconds, cpu, peak = measure(base / "valid.safetensors")
        print(f"{'valid native file':<34} exit {status}  wall {seconds:6.3f} s  cpu {cpu:6.3f} s"
              f"  {peak:7.1f} MB")
        worst_time = worst_memory = 0.0
        (base / "v.json").write_text('["a", "b", "c", "d", "e", "f"]')
        files = [(name, write, suffix, ()) for name, (write, suffix, _) in HOSTILE.items()]
        files += [(name, write, suffix, ("--vocab", str(base / "v.json")))
                  for name, (write, suffix) in COSTLY.items()]
        for name, write, suffix, options in files:
            path = base / f"{name.replace(' ', '_')}{suffix}"
            write(path)
            code, took, spent, used = measure(path, *options)
            worst_time, worst_memory = max(worst_time, spent - cpu), max(worst_memory,
                                                                         used - peak)
            print(f"{name:<34} exit {code}  wall {took:6.3f} s  cpu {spent:6.3f} s  "
                  f"{used:7.1f} MB  (cpu {spent - cpu:+.3f} s, {used - peak:+.1f} MB)")
        ok = worst_time <= 1.0 and worst_memory <= 100
        print(f"worst: cpu {worst_time:+.3f} s, {worst_memory:+.1f} MB over the valid file "
              f"(target ≤ 1 s, ≤ 100 MB): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
