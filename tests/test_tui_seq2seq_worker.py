"""A seq2seq model whose forward is the user's own runs off the event loop: while its decoder
is held mid-call the screen still answers keys (F1 opens the help), keys pressed meanwhile are
run afterwards in the order pressed, and what is shown is the headless session's."""

from __future__ import annotations

import json
import threading

import pytest
from experiment_support import open_seq2seq, seq2seq_settled
from userland import any_models as am
from userland import slow_models as sm

from inspector.engine import Seq2SeqSession, inspectable
from inspector.loading import ModelSource, open_model
from inspector.tui.app import InspectorApp
from inspector.tui.screens.help import HelpScreen
from inspector.tui.widgets.lines import LinesWidget


@pytest.fixture
def held_pair(tmp_path):
    source, target = tmp_path / "src.json", tmp_path / "trg.json"
    source.write_text(json.dumps(am.SOURCE))
    target.write_text(json.dumps(am.TARGET))
    yield ModelSource(None, vocab=str(source), target_vocab=str(target), bos="SOS", eos="EOS",
                      factory="userland.slow_models:build_held_pair")
    sm.release()


def shown(app, widget_id: str) -> str:
    return app.seq2seq.query_one(f"#{widget_id}", LinesWidget).text()


async def wait_for(pilot, event: threading.Event) -> None:
    for _ in range(200):
        if event.is_set():
            return
        await pilot.pause(0.05)
    raise AssertionError("the decoder was never called")


async def test_a_held_decoder_leaves_the_screen_answering_and_keys_keep_their_order(held_pair):
    app = InspectorApp(held_pair)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        await pilot.press(*"ba")
        await seq2seq_settled(pilot)
        assert shown(app, "source").startswith("source ba")
        sm.hold()
        await pilot.press("enter")  # the decode's first call waits in the worker
        await wait_for(pilot, sm.held)
        await pilot.press("d", "enter")  # queued behind the decode, in this order
        await pilot.pause()
        assert "working… (2 keys queued)" in shown(app, "status")
        assert shown(app, "source").startswith("source ba")  # not run yet
        await pilot.press("f1")  # the event loop is free: the help opens over the screen
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        sm.release()
        await seq2seq_settled(pilot)
        assert "working" not in shown(app, "status")
        assert shown(app, "source").startswith("source bad")  # d came after the first decode
        reference = Seq2SeqSession(inspectable(open_model(held_pair)))
        reference.feed_source("bad")
        decoded = reference.decode()  # the second Enter: a decode of "bad"
        steps = len(decoded.records)
        assert shown(app, "output").endswith(f"  {steps} steps"), shown(app, "output")
        assert shown(app, "output").startswith(f"output {decoded.output}")
