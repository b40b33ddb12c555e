"""The timeline against a plain list model: whatever the order of typing, Backspace, undo/redo,
fork (at the cursor or an earlier step), branch switches and interventions (now or at an earlier
step), a branch holds exactly the events it had, and its numbers are a fresh replay's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.engine import Intervention, NativeModel, Session, inspectable
from inspector.engine.session import Feed, Intervene
from inspector.loading.native import load_checkpoint
from models.char_rnn import CharRNN, CharRNNConfig
from models.vocab import CharVocab

VOCAB = CharVocab.letters()


@pytest.fixture(scope="module")
def model() -> NativeModel:
    torch.manual_seed(3)
    return NativeModel(CharRNN(CharRNNConfig(len(VOCAB), "lstm", 2, 6, 4)).eval(), VOCAB, "m")


class ListTimeline:
    """The reference: each branch a list of events and a cursor, nothing else."""

    def __init__(self) -> None:
        self.branches: dict[str, tuple[list, int]] = {"main": ([], 0)}
        self.current = "main"

    @property
    def events(self) -> list:
        return self.branches[self.current][0]

    @property
    def cursor(self) -> int:
        return self.branches[self.current][1]

    def set(self, events: list, cursor: int) -> None:
        self.branches[self.current] = (events, cursor)

    def feeds_before(self, index: int) -> int:
        return sum(isinstance(e, Feed) for e in self.events[:index])

    def feed_index(self, t: int) -> int:
        return [i for i, e in enumerate(self.events) if isinstance(e, Feed)][t]

    def append(self, event) -> None:
        self.set(self.events[:self.cursor] + [event], self.cursor + 1)

    def insert_before_step(self, t: int, event) -> None:
        if t >= self.feeds_before(self.cursor):
            self.append(event)
            return
        index = self.feed_index(t)
        events = self.events[:index] + [event] + self.events[index:self.cursor]
        self.set(events, len(events))

    def fork(self, name: str, at: int | None) -> None:
        steps = self.feeds_before(self.cursor)
        end = self.cursor if at is None or at >= steps else self.feed_index(at)
        self.branches[name] = (self.events[:end], end)
        self.current = name


ops = st.one_of(
    st.tuples(st.just("type"), st.sampled_from("abcz")),
    st.tuples(st.just("set"), st.integers(0, 5), st.sampled_from([-1.0, 0.5, 2.0])),
    st.tuples(st.just("clamp"), st.integers(0, 5), st.sampled_from([-0.5, 0.9])),
    st.tuples(st.just("set_at"), st.integers(0, 12), st.integers(0, 5)),
    st.tuples(st.just("back"), st.integers(1, 4)),
    st.tuples(st.just("forward"), st.integers(1, 4)),
    st.tuples(st.just("delete"), st.integers(1, 3)),  # the TUI's Backspace: undone for good
    st.tuples(st.just("fork"), st.one_of(st.none(), st.integers(0, 12))),
    st.tuples(st.just("switch"), st.integers(0, 5)),
)


def apply(op, session: Session, ref: ListTimeline, forks: list[str]) -> None:
    kind = op[0]
    if kind == "type":
        session.feed(op[1])
        ref.append(Feed(op[1], VOCAB.id(op[1])))
    elif kind in ("set", "clamp"):
        iv = Intervention(kind, "l1.h", op[1], op[2])
        session.intervene(iv)
        ref.append(Intervene(iv))
    elif kind == "set_at":
        iv = Intervention("set", "l0.c", op[2], 1.5)
        session.intervene(iv, at=op[1])
        ref.insert_before_step(op[1], Intervene(iv))
    elif kind == "back":
        session.back(op[1])
        ref.set(ref.events, max(0, ref.cursor - op[1]))
    elif kind == "forward":
        session.forward(op[1])
        ref.set(ref.events, min(len(ref.events), ref.cursor + op[1]))
    elif kind == "delete":
        session.back(op[1])
        session.forget_redo()
        cursor = max(0, ref.cursor - op[1])
        ref.set(ref.events[:cursor], cursor)
    elif kind == "fork":
        name = f"b{len(forks)}"
        forks.append(name)
        session.fork(name, op[1])
        ref.fork(name, op[1])
    else:
        name = (["main", *forks])[op[1] % (len(forks) + 1)]
        session.switch(name)
        ref.current = name


def check(session: Session, ref: ListTimeline, model: NativeModel) -> None:
    applied = ref.events[:ref.cursor]
    assert session.branch == ref.current
    assert list(session.events) == applied
    assert session.cursor == ref.feeds_before(ref.cursor)
    assert session.can_forward == (ref.cursor < len(ref.events))
    fresh = Session.replay(model, applied, keyframe_every=3)
    for mine, theirs in zip(session.state, fresh.state, strict=True):
        assert np.array_equal(mine.h, theirs.h) and np.array_equal(mine.c, theirs.c)
    for mine, theirs in zip(session.records(0, session.cursor),
                            fresh.records(0, fresh.cursor), strict=True):
        assert np.array_equal(mine.probs, theirs.probs)
        assert mine.interventions == theirs.interventions and mine.clamps == theirs.clamps


@settings(max_examples=60, deadline=None)
@given(st.lists(ops, max_size=25))
def test_the_timeline_matches_a_list_model_and_never_resurrects_undone_steps(model, program):
    session, ref, forks = Session(model, keyframe_every=3), ListTimeline(), []
    for op in program:
        apply(op, session, ref, forks)
        check(session, ref, model)
    for name in ["main", *forks]:  # every branch holds exactly what it had when left
        session.switch(name)
        ref.current = name
        check(session, ref, model)


def test_the_reported_resurrection_stays_dead(model):
    """aabbcc, Backspace twice, view a step back, fork there, switch back to main: four steps."""
    session = Session(model)
    session.feed("aabbcc")
    session.back(2)
    session.forget_redo()
    session.fork("b1", at=3)
    session.switch("main")
    assert session.text == "aabb" and session.cursor == 4 and not session.can_forward


def test_a_clamp_is_in_the_state_before_the_head_reads_it(model):
    """The prediction shown under a clamp is the head applied to the clamped state, and the
    next layer read the clamped lower layer (checked against torch's own layers and head)."""
    session = Session(model)
    session.feed("ab")
    session.intervene(Intervention("clamp", "l0.h", 2, 0.75))
    session.intervene(Intervention("clamp", "l1.h", 1, -0.5))
    before = session.state  # a clamp holds at once, too: the state step 2 starts from
    record = session.feed("c")[0]
    assert record.layers[0].h[2] == np.float32(0.75) and record.layers[1].h[1] == np.float32(-0.5)
    module = model.module
    with torch.no_grad():
        x = module.embed(torch.tensor([VOCAB.id("c")]))
        states = []
        for k in range(2):
            lstm = torch.nn.LSTM(4 if k == 0 else 6, 6, 1)
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(lstm, f"{name}_l0").copy_(getattr(module.rnn, f"{name}_l{k}"))
            h0 = torch.tensor(before[k].h)[None, None]
            c0 = torch.tensor(before[k].c)[None, None]
            out, _ = lstm(x[None], (h0, c0))
            h = out[0, 0].clone()
            h[2 if k == 0 else 1] = 0.75 if k == 0 else -0.5
            states.append(h)
            x = h[None]
        logits = module.head(states[-1])
    assert np.abs(record.layers[0].h - states[0].numpy()).max() <= 1e-5
    assert np.abs(record.layers[1].h - states[1].numpy()).max() <= 1e-5
    assert np.abs(record.logits - logits.numpy()).max() <= 1e-5


def test_trace_intervene_is_the_tui_edit_made_before_step_t(tmp_path, capsys):
    from inspector.cli import main
    from inspector.engine.export import read_trace

    out = tmp_path / "t.json"
    assert main(["trace", "doubled-lstm", "--input", "aabbcc", "--out", str(out),
                 "--intervene", "t=3 set l0.h[7]=5"]) == 0
    header, steps = read_trace(out)
    assert header["format"] == "rnn-inspect-trace/2" and header["branch"] == "main"
    assert header["interventions"] == [{"t": 3, "kind": "set", "target": "l0.h", "unit": 7,
                                        "value": 5.0}]
    clean = tmp_path / "clean.json"
    assert main(["trace", "doubled-lstm", "--input", "aabbcc", "--out", str(clean)]) == 0
    _, plain = read_trace(clean)
    def gap(a, b) -> float:  # the clean trace is fused, the edited one stepped: 1e-5 apart
        return max(float(np.abs(np.array(x["h"], dtype=np.float32)
                                - np.array(y["h"], dtype=np.float32)).max())
                   for x, y in zip(a["layers"], b["layers"], strict=True))

    differs = [s["t"] for s, p in zip(steps, plain, strict=True) if gap(s, p) > 1e-5]
    assert differs == [3, 4, 5]  # exactly from the step that starts from the edited state
    from inspector.engine import inspectable
    from inspector.loading import open_model

    replayed = Session(inspectable(open_model("doubled-lstm")))
    replayed.feed("aab")
    replayed.intervene(Intervention("set", "l0.h", 7, 5.0))
    replayed.feed("bcc")
    for step, record in zip(steps, replayed.records(0, 6), strict=True):  # bit for bit
        assert np.array_equal(np.array(step["layers"][0]["h"], dtype=np.float32),
                              record.layers[0].h)
    assert main(["trace", "doubled-lstm", "--input", "ab", "--intervene", "t=1 frob"]) == 2
    assert "frob" in capsys.readouterr().err


def test_a_fork_after_a_deleted_branch_gets_a_free_name():
    # fork, delete, fork: a count of branches would name the second fork after a living one
    session = Session(inspectable(load_checkpoint("doubled-rnn")))
    session.feed("aab")
    first = session.new_branch_name()
    session.fork(first)
    session.fork(session.new_branch_name())
    session.switch("main")
    session.delete_branch(first)
    name = session.new_branch_name()
    session.fork(name)
    assert session.branch == name
    assert sorted(b.name for b in session.branches()) == sorted(["main", "b2", name])
