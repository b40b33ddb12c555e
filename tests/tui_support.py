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


async def settle(pilot) -> None:
    """Wait for workers and until the queued keys are fed and the screen has redrawn."""
    app: InspectorApp = pilot.app
    for _ in range(200):
        if not app.is_running:
            return
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:  # the app is exiting
            return
        await pilot.pause()
        screen = app.main
        fed = screen.ready and not screen.pending
        failed = screen.status_note.startswith("no model") or not app.is_running
        if (fed or failed) and not any(worker.is_running for worker in app.workers):
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
