"""`rnn-inspect serve`: the same app on the same model, in a real browser (Debian's chromium
driven by Playwright), reading what the page's terminal shows."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_files import looping_global_heap
from watchdog import bounded

from inspector.cli import command_parser, main
from inspector.commands.serve import app_command

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
START_TIMEOUT = 90  # s: the server, then the visitor's app (it imports torch on a busy machine)

# textual.js keeps its xterm.js Terminal to itself (`this.terminal = new Terminal(…)`); a setter
# on Object.prototype sees that assignment, so the test can read the terminal's buffer: the
# text the page shows, whichever renderer (WebGL, canvas, DOM) draws it.
KEEP_TERMINAL = """
window.__terminals = [];
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    if (value && value.buffer) window.__terminals.push(value);
    Object.defineProperty(this, "terminal",
                          {value, writable: true, configurable: true, enumerable: true});
  },
});
"""
READ_ROWS = """() => {
  const term = window.__terminals[0];
  if (!term) return [];
  const buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows;
}"""


def test_served_command_is_the_app_on_the_same_model_quoted():
    args = command_parser().parse_args(
        ["serve", "my model $(rm -rf x).safetensors", "--vocab", "it's.json",
         "--nonlinearity", "relu", "--trust-pickle", "--labels", "a b.json",
         "--compare", "doubled-mlp"])
    assert shlex.split(app_command(args)) == [
        sys.executable, "-m", "inspector.cli", "my model $(rm -rf x).safetensors",
        "--vocab", "it's.json", "--nonlinearity", "relu", "--trust-pickle",
        "--labels", "a b.json", "--compare", "doubled-mlp"]
    default = command_parser().parse_args(["serve"])
    assert (default.host, default.port) == ("127.0.0.1", 8000)
    assert shlex.split(app_command(default)) == [sys.executable, "-m", "inspector.cli"]


def test_serve_refuses_a_bad_model_or_port_in_one_line(capsys):
    assert main(["serve", "no-such-model"]) == 2
    assert main(["serve", "doubled-lstm", "--port", "70000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no-such-model" in err[0] and "--port 70000" in err[1]


def serve_refusal(argv: list[str]) -> str:
    """serve's one line and exit 2, in a forked child under a deadline: serve that does not
    refuse starts serving, which would never return."""
    def call() -> tuple[int, str]:
        import contextlib
        import io

        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            return main(["serve", *argv, "--port", str(free_port())]), err.getvalue()

    code, err = bounded(call, 60)
    assert code == 2 and err.count("\n") == 1 and err.startswith("rnn-inspect: "), err
    return err


def test_serve_opens_models_as_every_command_does(tmp_path):
    """One loading path (open_source / open_models): an option the model ignores, a seq2seq
    model to compare and a hostile file are each one line before anything is served."""
    (tmp_path / "v.json").write_text('["a", "b"]')
    assert "native checkpoint and carries its own vocabulary" in serve_refusal(
        ["doubled-lstm", "--vocab", str(tmp_path / "v.json")])
    assert "--compare: reverse-seq2seq is a seq2seq model" in serve_refusal(
        ["doubled-lstm", "--compare", "reverse-seq2seq"])
    looping_global_heap(tmp_path / "m.h5")
    assert "HDF5 global heap at byte" in serve_refusal([str(tmp_path / "m.h5")])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, server: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited ({server.returncode}): {server.stdout.read()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"the server did not listen on 127.0.0.1:{port} within {START_TIMEOUT} s")


def wait_for_rows(page, wanted, deadline: float, what: str) -> list[str]:
    rows: list[str] = []
    while time.monotonic() < deadline:
        rows = page.evaluate(READ_ROWS)
        if wanted(rows):
            return rows
        time.sleep(0.25)
    pytest.fail(f"the page never showed {what}; it shows:\n" + "\n".join(rows))


def test_browser_types_aabb_and_reads_the_predictions(tmp_path, cli_env):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; "
                    ".ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install -e '.[test]')")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "inspector.cli", "serve", "doubled-lstm", "--host", "127.0.0.1",
         "--port", str(port)], cwd=tmp_path, env=cli_env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        wait_for_port(port, server, deadline)
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS, timeout=30_000)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                local = f"http://127.0.0.1:{port}/"
                # Nothing leaves the machine (the page asks a font server for Roboto Mono).
                page.route("**/*", lambda route: route.continue_()
                           if route.request.url.startswith(local) else route.abort())
                page.add_init_script(KEEP_TERMINAL)
                page.goto(local, timeout=30_000)
                wait_for_rows(page, lambda rows: any("no steps yet" in r for r in rows),
                              deadline, "the app on doubled-lstm")
                page.locator("#terminal").click()
                page.keyboard.type("aabb", delay=30)
                rows = wait_for_rows(page, lambda rows: any("t=3 of 4 steps" in r for r in rows),
                                     time.monotonic() + 30, "four steps")
                tape = [r.strip() for r in rows if r.strip().startswith(("x ", "y "))]
                assert tape[:2] == ["x a a b b", "y a b c d"], rows
                assert "doubled-lstm" in rows[0]
            finally:
                browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the visitor's app process
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        server.stdout.close()
