"""Shared helpers for the TUI tests: small seeded checkpoints and waiting for the app to settle."""

from __future__ import annotations

from pathlib import Path

import torch
from textual.worker import WorkerCancelled

from inspector.tui.app import InspectorApp
from inspector.tui.widgets.lines import LinesWidget
from inspector.tui.widgets.step_log import StepLog
from inspector.tui.widgets.tape import Tape
from models.char_rnn import CharRNN, CharRNNConfig
from models.checkpoint import save_checkpoint
from models.vocab import CharVocab


def make_checkpoint(path: Path, *, cell: str = "lstm", layers: int = 2, hidden: int = 64,
                    vocab: CharVocab | None = None, seed: int = 0, task: str | None = None,
                    poison: bool = False) -> Path:
    """An untrained, seeded CharRNN saved as a native checkpoint (same bytes on every run)."""
    vocab = vocab or CharVocab.letters()
    torch.manual_seed(seed)
    module = CharRNN(CharRNNConfig(len(vocab), cell, layers, hidden, 16))
    if poison:  # one NaN bias: every state downstream of it is NaN
        with torch.no_grad():
            module.rnn.bias_ih_l0[0] = float("nan")
    return save_checkpoint(path, "char", module, vocab, task=task)


BUSY_WORDS = ("loading", "feeding…", "keys queued", "opening", "computing…")


async def settle(pilot) -> None:
    """Wait until what the screen shows says the app is idle: no worker running, nothing
    loading or being fed, no key queued (read from the status line and the tape)."""
    app: InspectorApp = pilot.app
    for _ in range(400):
        if not app.is_running:
            return
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:  # the app is exiting
            return
        await pilot.pause()
        if not app.is_running:
            return
        shown = status(app)
        idle = not any(word in shown for word in BUSY_WORDS) and not any(
            "…" in tape.line_text(1) for tape in app.main.query(Tape))
        if (idle or "no model" in shown) and not any(w.is_running for w in app.workers):
            break
    await pilot.pause()
    await pilot.pause()


def tape_lines(app: InspectorApp) -> list[str]:
    tape = app.main.query(Tape).last()
    return [tape.line_text(y) for y in range(3)]


def log_lines(app: InspectorApp) -> list[str]:
    return app.main.query_one(StepLog).texts


def status(app: InspectorApp) -> str:
    return app.main.query_one("#status", LinesWidget).text()


def headless(model: str, text: str = ""):
    """A session of its own on `model` (zoo name or path), fed `text`: the numbers the app
    must show, computed without it (tests compare the screen with this, never with the app's
    own session)."""
    from inspector.engine import Session, inspectable
    from inspector.loading import open_model

    session = Session(inspectable(open_model(model)))
    if text:
        session.feed(text)
    return session
