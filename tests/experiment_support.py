"""Helpers for the tests of compare mode, the seq2seq screen and interventions."""

from __future__ import annotations

import io
from pathlib import Path

import torch
from rich.console import Console
from textual.widgets import Static
from tui_support import settle

from models.checkpoint import save_checkpoint
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.tasks import seq2seq_vocab


def make_seq2seq(path: Path, *, hidden: int = 16, layers: int = 2, seed: int = 0) -> Path:
    """An untrained, seeded seq2seq LSTM pair (same bytes on every run)."""
    vocab = seq2seq_vocab()
    torch.manual_seed(seed)
    module = Seq2Seq(Seq2SeqConfig(len(vocab), len(vocab), "lstm", layers, hidden, 8))
    return save_checkpoint(path, "seq2seq", module, vocab, task="reverse")


def help_text(screen) -> str:
    """The help screen's key table as plain text."""
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(screen.query_one("#help-keys", Static).content)
    return console.export_text()


async def compare_ready(pilot) -> None:
    """Wait until both models of compare mode are on screen and the keys are fed."""
    from inspector.tui.widgets.model_view import ModelView

    await settle(pilot)
    for _ in range(100):
        if len(pilot.app.main.query(ModelView)) == 2:
            break
        await pilot.pause(0.05)
    await settle(pilot)


async def open_seq2seq(pilot) -> None:
    """Wait until the seq2seq screen is up."""
    from inspector.tui.screens.seq2seq import Seq2SeqScreen

    for _ in range(200):  # not `settle`: the main screen behind it never becomes ready
        if isinstance(pilot.app.screen, Seq2SeqScreen):
            break
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.02)
    await pilot.pause()


async def seq2seq_settled(pilot) -> None:
    """Wait until the seq2seq screen's worker has run every key (its status line stops saying
    `working…`)."""
    from inspector.tui.widgets.lines import LinesWidget

    app = pilot.app
    for _ in range(400):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if app.seq2seq is None or "working…" not in app.seq2seq.query_one(
                "#status", LinesWidget).text():
            break
    await pilot.pause()
