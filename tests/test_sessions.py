"""Session files: save -> open round trips are bit-exact, other weights are refused, and a
changed number is caught by the check."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector import sessions
from inspector.engine import HandoffEdit, Intervention, inspectable
from inspector.engine.export import read_trace
from inspector.engine.journal import JournaledSeq2Seq, JournaledSession
from inspector.engine.session import Session
from inspector.loading import ModelSource
from inspector.loading.native import load_checkpoint
from models import tasks
from models.char_rnn import CharRNN, CharRNNConfig
from models.checkpoint import save_checkpoint
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.vocab import CharVocab

VOCAB = CharVocab.letters()
KEYFRAME = 4  # small, so pastes of 8+ characters run through the fused forward


@pytest.fixture(scope="module")
def lstm_file(tmp_path_factory):
    torch.manual_seed(5)
    module = CharRNN(CharRNNConfig(len(VOCAB), "lstm", 2, 6, 3))
    return save_checkpoint(tmp_path_factory.mktemp("m") / "tiny.safetensors", "char", module,
                           VOCAB)


@pytest.fixture(scope="module")
def lstm(lstm_file):
    checkpoint = load_checkpoint(lstm_file)
    return checkpoint, inspectable(checkpoint)


@pytest.fixture(scope="module")
def seq2seq(tmp_path_factory):
    torch.manual_seed(6)
    vocab = tasks.seq2seq_vocab()
    module = Seq2Seq(Seq2SeqConfig(len(vocab), len(vocab), "gru", 2, 6, 3, "linear"))
    path = save_checkpoint(tmp_path_factory.mktemp("m") / "s2s.safetensors", "seq2seq", module,
                           vocab)
    checkpoint = load_checkpoint(path)
    return checkpoint, inspectable(checkpoint)


def record_bits(record) -> tuple:
    arrays = sessions.record_arrays(record)
    layers = tuple((layer.delta_h.tobytes(),
                    tuple(v.tobytes() for v in layer.input_part.values()),
                    tuple(v.tobytes() for v in layer.memory_part.values()))
                   for layer in record.layers)
    return (record.t, record.typed, record.token, record.prediction,
            tuple((name, v.tobytes()) for name, v in arrays.items()), layers,
            tuple(iv.describe() for iv in record.interventions),
            tuple(iv.describe() for iv in record.clamps))


def state_bits(state) -> tuple:
    return tuple((s.h.tobytes(), None if s.c is None else s.c.tobytes()) for s in state)


def timeline(session: Session) -> dict:
    """Everything about every branch, as bytes: records, state, pending edits, clamps."""
    here, out = session.branch, {}
    for info in session.branches():
        Session.switch(session, info.name)
        out[info.name] = (session.text, session.cursor, info.fork_t, session.can_forward,
                          state_bits(session.state),
                          tuple(iv.describe() for iv in session.pending), session.clamps,
                          tuple(record_bits(r) for r in session.records(0, session.cursor)))
    Session.switch(session, here)
    return out


letters = st.text("abcdefghij", min_size=1, max_size=3)
ops = st.one_of(
    st.tuples(st.just("type"), letters),
    st.tuples(st.just("paste"), st.text("abcdefghij", min_size=5, max_size=20)),
    st.tuples(st.sampled_from(["back", "forward"]), st.integers(1, 3)),
    st.tuples(st.just("goto"), st.integers(0, 20)),
    st.tuples(st.just("fork"), st.none()),
    st.tuples(st.just("switch"), st.integers(0, 5)),
    st.tuples(st.just("reset"), st.none()),
    st.tuples(st.just("rename"), st.integers(0, 5)),
    st.tuples(st.just("delete"), st.integers(0, 5)),
    st.tuples(st.just("generate"), st.tuples(st.integers(1, 4), st.sampled_from([0.0, 1.5]),
                                             st.integers(0, 2**16))),
    st.tuples(st.just("intervene"),
              st.tuples(st.sampled_from(["set", "zero", "scale", "clamp", "release"]),
                        st.sampled_from(["l0.h", "l0.c", "l1.h", "l1.c"]),
                        st.one_of(st.none(), st.integers(0, 5)),
                        st.floats(-3, 3, allow_nan=False, width=32))),
)


def play(session: JournaledSession, steps) -> None:
    for op, arg in steps:
        if op == "type":
            for ch in arg:  # as the app feeds them: one call per key
                session.feed(ch)
        elif op == "paste":
            session.paste(arg)
        elif op in ("back", "forward", "goto"):
            getattr(session, op)(arg)
        elif op == "fork":
            session.fork(session.new_branch_name())
        elif op == "switch":
            names = [b.name for b in session.branches()]
            session.switch(names[arg % len(names)])
        elif op == "reset":
            session.reset()
        elif op in ("rename", "delete"):
            others = [b.name for b in session.branches() if b.name != session.branch]
            if op == "rename":
                names = [b.name for b in session.branches()]
                session.rename_branch(names[arg % len(names)], f"r{len(session.journal)}")
            elif others:
                session.delete_branch(others[arg % len(others)])
        elif op == "generate":
            n, temperature, seed = arg
            if session.cursor:
                session.generate(n, temperature, np.random.default_rng(seed))
        else:
            kind, target, unit, value = arg
            session.intervene(Intervention(kind, target, unit,
                                           None if kind in ("zero", "release") else value))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(ops, max_size=25), view=st.tuples(st.integers(0, 9), st.integers(0, 1),
                                                        st.integers(0, 5)))
def test_save_open_round_trip_is_bit_exact(lstm, tmp_path, steps, view):
    checkpoint, model = lstm
    session = JournaledSession(model, keyframe_every=KEYFRAME)
    play(session, steps)
    expected = timeline(session)
    path = sessions.save_session(tmp_path / "s.json", session, checkpoint, str(checkpoint.path),
                                 sessions.View(*view))
    saved = sessions.read_session(path)
    restored = sessions.restore(saved, checkpoint)
    assert restored.branch == session.branch
    assert restored.journal == session.journal
    assert timeline(restored) == expected
    assert saved.view == sessions.View(*view)
    assert sessions.check(saved, restored) is None


def test_a_paste_is_replayed_as_a_paste(lstm, tmp_path):
    """The fused forward and stepping differ in the last bits: a replay that stepped through the
    pasted text would not be bit-exact, so the file says the span was pasted."""
    checkpoint, model = lstm
    text = "abcdefghij" * 6
    session = JournaledSession(model, keyframe_every=KEYFRAME)
    session.feed("a")
    session.paste(text)
    session.feed("b")
    stepped = Session(model, keyframe_every=KEYFRAME)
    stepped.feed("a" + text + "b")
    pasted_bits, stepped_bits = state_bits(session.state), state_bits(stepped.state)
    assert pasted_bits != stepped_bits  # else this test could not tell the two apart
    data = json.loads(sessions.save_session(tmp_path / "p.json", session, checkpoint,
                                            str(checkpoint.path)).read_text())
    assert data["journal"] == [{"op": "type", "keys": ["a"]}, {"op": "paste", "text": text},
                               {"op": "type", "keys": ["b"]}]
    restored = sessions.restore(sessions.read_session(tmp_path / "p.json"), checkpoint)
    assert state_bits(restored.state) == pasted_bits


def test_file_records_model_provenance_and_branches(lstm, tmp_path):
    from inspector.provenance import model_sha256

    checkpoint, model = lstm
    session = JournaledSession(model)
    session.feed("ab")
    session.intervene(Intervention("clamp", "l1.h", 2, 0.5))
    session.feed("c")
    session.fork("b1")
    session.feed("d")
    data = json.loads(sessions.save_session(tmp_path / "s.json", session, checkpoint,
                                            str(checkpoint.path)).read_text())
    assert data["format"] == "rnn-inspect-session/1"
    assert data["source"]["model_sha256"] == model_sha256(checkpoint)
    assert data["source"]["torch"] == torch.__version__
    assert data["source"]["tool"].startswith("rnn-inspect ")
    assert data["model"]["ref"] == str(checkpoint.path.resolve())
    branches = {b["name"]: b for b in data["branches"]}
    assert branches["main"]["text"] == "abc" and branches["b1"]["text"] == "abcd"
    assert branches["b1"]["fork_t"] == 3
    assert branches["b1"]["interventions"] == [
        {"t": 2, "kind": "clamp", "target": "l1.h", "unit": 2, "value": 0.5}]
    assert branches["b1"]["clamps"] == [{"target": "l1.h", "unit": 2, "value": 0.5}]
    records = data["numbers"]["records"]
    assert (records["start"], records["stop"], records["typed"]) == (0, 4, list("abcd"))
    raw = base64.b64decode(records["arrays"]["l1.h"]["data"])
    shown = np.frombuffer(raw, dtype="<f4").reshape(4, 6)
    assert shown[3].tobytes() == session.records(3, 4)[0].layers[1].h.tobytes()
    assert shown[3, 2] == np.float32(0.5)  # the clamp holds


def test_other_weights_are_refused_unless_told(lstm_file, lstm, tmp_path):
    checkpoint, model = lstm
    session = JournaledSession(model)
    session.feed("abcabc")
    saved = sessions.read_session(sessions.save_session(tmp_path / "s.json", session,
                                                        checkpoint, str(lstm_file)))
    tampered = load_checkpoint(lstm_file)
    with torch.no_grad():
        tampered.module.rnn.weight_hh_l0[0, 0] += 1e-3
    with pytest.raises(sessions.ModelMismatch, match="other weights.*--ignore-hash"):
        sessions.restore(saved, tampered)
    replayed = sessions.restore(saved, tampered, ignore_hash=True)
    mismatch = sessions.check(saved, replayed)
    assert mismatch is not None and mismatch.where.startswith("t=")


def change_one_number(path, name: str, t: int, unit: int, ulps: int = 1) -> None:
    data = json.loads(path.read_text())
    item = data["numbers"]["records"]["arrays"][name]
    values = np.frombuffer(base64.b64decode(item["data"]), dtype="<u4").reshape(item["shape"])
    values = values.copy()
    values[t, unit] += ulps  # the next float32 up: the smallest change there is
    item["data"] = base64.b64encode(values.tobytes()).decode()
    path.write_text(json.dumps(data))


def test_check_names_the_first_changed_number(lstm, tmp_path):
    checkpoint, model = lstm
    session = JournaledSession(model)
    session.feed("abcdefgh")
    path = sessions.save_session(tmp_path / "s.json", session, checkpoint, str(checkpoint.path))
    change_one_number(path, "l0.gate.f", 5, 3)
    change_one_number(path, "probs", 6, 0)
    saved = sessions.read_session(path)
    mismatch = sessions.check(saved, sessions.restore(saved, checkpoint))
    assert mismatch is not None
    assert mismatch.where == "t=5 l0.gate.f[3]"
    assert mismatch.saved != mismatch.replayed
    assert sessions.check(saved, sessions.restore(saved, checkpoint), atol=1e-6) is None


def test_seq2seq_round_trip_and_check(seq2seq, tmp_path):
    checkpoint, model = seq2seq
    session = JournaledSeq2Seq(model)
    for ch in "hello":
        session.feed_source(ch)
    session.back(1)
    session.feed_source("p")
    session.edit_handoff(HandoffEdit("scale", "l0.h", None, 2.0))
    session.edit_handoff(HandoffEdit("swap", "l1.h", 3, None, "abc"))
    session.decode()
    session.restart_decode()
    for _ in range(3):
        session.decode_step()
    path = sessions.save_session(tmp_path / "s.json", session, checkpoint, str(checkpoint.path),
                                 sessions.View(1, 1, 4))
    saved = sessions.read_session(path)
    restored = sessions.restore(saved, checkpoint)
    assert isinstance(restored, JournaledSeq2Seq)
    assert restored.source == "hellp" and restored.edits == session.edits
    assert [record_bits(r) for r in restored.decoded] == [record_bits(r)
                                                          for r in session.decoded]
    assert state_bits(restored.handoff().layers) == state_bits(session.handoff().layers)
    assert sessions.check(saved, restored) is None
    data = json.loads(path.read_text())
    item = data["numbers"]["decoder"]["arrays"]["l1.h"]
    values = np.frombuffer(base64.b64decode(item["data"]), dtype="<u4").copy()
    values[6 + 2] ^= 1  # step 1, unit 2: one bit
    item["data"] = base64.b64encode(values.tobytes()).decode()
    path.write_text(json.dumps(data))
    saved = sessions.read_session(path)
    mismatch = sessions.check(saved, sessions.restore(saved, checkpoint))
    assert mismatch is not None and mismatch.where == "dec t=1 l1.h[2]"


@pytest.mark.parametrize("content, reason", [
    ("not json", "invalid JSON"),
    ('{"format": "rnn-inspect-trace/2"}', "not an rnn-inspect session file"),
    ('{"format": "rnn-inspect-session/9"}', "a newer rnn-inspect wrote it"),
    ('{"format": "rnn-inspect-session/1", "source": {}}', "source.model_sha256 is missing"),
])
def test_unreadable_files_say_why(tmp_path, content, reason):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(sessions.SessionFileError, match=reason):
        sessions.read_session(path)


def test_a_factory_is_never_run_from_a_file(lstm, tmp_path):
    checkpoint, model = lstm
    session = JournaledSession(model)
    path = sessions.save_session(tmp_path / "s.json", session, checkpoint,
                                 ModelSource(factory="evil:build"))
    with pytest.raises(sessions.SessionFileError, match="pass --factory evil:build"):
        sessions.read_session(path).model_source()


def test_a_moved_model_is_found_beside_the_session(lstm_file, lstm, tmp_path):
    checkpoint, model = lstm
    session = JournaledSession(model)
    path = sessions.save_session(tmp_path / "s.json", session, checkpoint, str(lstm_file))
    data = json.loads(path.read_text())
    data["model"]["ref"] = "/nowhere/" + lstm_file.name
    path.write_text(json.dumps(data))
    (tmp_path / lstm_file.name).write_bytes(lstm_file.read_bytes())
    assert sessions.read_session(path).model_source().model == str(tmp_path / lstm_file.name)


def test_records_after_a_paste_do_not_depend_on_what_was_asked_first(lstm):
    """Every step is computed from the nearest keyframe before it (a paste's fused keyframes
    included), so the records of a pasted span are the same whichever range is read first, and
    the state reached by stepping forward is the one a seek reaches."""
    _, model = lstm
    text = "abcdefghij" * 4
    session = Session(model, keyframe_every=KEYFRAME)
    session.paste(text)
    late_first = [record_bits(r) for r in session.records(30, 40)]
    all_at_once = [record_bits(r) for r in session.records(0, 40)]
    fresh = Session(model, keyframe_every=KEYFRAME)
    fresh.paste(text)
    fresh.switch("main")  # drops the cached records
    assert [record_bits(r) for r in fresh.records(0, 40)] == all_at_once
    assert all_at_once[30:] == late_first
    state = state_bits(session.state)
    session.back(37)
    session.forward(37)
    assert state_bits(session.state) == state


# ---- rnn-inspect replay -------------------------------------------------------------------------

def saved_file(lstm_file, lstm, tmp_path):
    checkpoint, model = lstm
    session = JournaledSession(model, keyframe_every=KEYFRAME)
    session.feed("ab")
    session.paste("cdefghijab")
    session.intervene(Intervention("scale", "l0.c", None, 1.5))
    session.feed("c")
    return sessions.save_session(tmp_path / "s.json", session, checkpoint, str(lstm_file))


def test_replay_check_passes_then_catches_a_changed_number(lstm_file, lstm, tmp_path, capsys):
    from inspector.cli import main

    path = saved_file(lstm_file, lstm, tmp_path)
    assert main(["replay", str(path), "--check"]) == 0
    out = capsys.readouterr().out
    assert "every recorded number matches" in out and "13 steps on branch main" in out
    change_one_number(path, "l1.gate.o", 11, 4)
    assert main(["replay", str(path), "--check"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "t=11 l1.gate.o[4]: saved" in err[0]
    assert main(["replay", str(path)]) == 0  # without --check: replayed, nothing verified


def test_replay_refuses_other_weights_unless_told(lstm_file, lstm, tmp_path, capsys):
    from inspector.cli import main

    model_path = tmp_path / "model.safetensors"
    model_path.write_bytes(lstm_file.read_bytes())
    path = saved_file(model_path, lstm, tmp_path)
    torch.manual_seed(99)  # other weights under the same name
    save_checkpoint(model_path, "char", CharRNN(CharRNNConfig(len(VOCAB), "lstm", 2, 6, 3)),
                    VOCAB)
    assert main(["replay", str(path), "--check"]) == 2
    err = capsys.readouterr().err.strip()
    assert "other weights" in err and "--ignore-hash" in err and len(err.splitlines()) == 1
    assert main(["replay", str(path), "--check", "--ignore-hash"]) == 1
    assert main(["replay", str(path), str(lstm_file), "--check"]) == 0  # MODEL given: that one


def test_replay_opens_its_model_as_every_command_does(lstm_file, lstm, tmp_path, capsys):
    """The one loading path (open_source): an option the model would ignore is refused in one
    line, as `info` and `trace` refuse it, and a hostile file is one line."""
    from hostile_files import looping_global_heap

    from inspector.cli import main

    path = saved_file(lstm_file, lstm, tmp_path)
    (tmp_path / "v.json").write_text(json.dumps(list(VOCAB.tokens)))
    assert main(["replay", str(path), str(lstm_file), "--vocab", str(tmp_path / "v.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "native checkpoint and carries its own vocabulary" in err
    looping_global_heap(tmp_path / "m.h5")
    assert main(["replay", str(path), str(tmp_path / "m.h5")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HDF5 global heap at byte" in err


@pytest.mark.parametrize("content", ["{", "[]", '{"format": "rnn-inspect-session/1"}'])
def test_replay_of_a_bad_file_is_one_line_exit_2(tmp_path, capsys, content):
    from inspector.cli import main

    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0]
    assert main(["replay", str(tmp_path / "missing.json")]) == 2
    assert main(["replay", str(tmp_path)]) == 2


def test_a_feed_that_fails_halfway_journals_what_it_fed(lstm, tmp_path):
    checkpoint, model = lstm

    class Failing:  # the model's own step, refusing the fourth one
        def __init__(self, inner):
            self.inner, self.calls = inner, 0

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def step(self, token_id, state, **kwargs):
            self.calls += 1
            if self.calls == 4:
                raise RuntimeError("the user's forward failed")
            return self.inner.step(token_id, state, **kwargs)

    session = JournaledSession(Failing(model))
    session.feed("ab")
    with pytest.raises(RuntimeError):
        session.feed("cdef")
    assert session.text == "abc"
    assert session.journal == [{"op": "type", "keys": ["ab", "c"]}]
    restored = sessions.restore(sessions.read_session(sessions.save_session(
        tmp_path / "s.json", session, checkpoint, str(checkpoint.path))), checkpoint)
    assert restored.text == "abc"


# ---- where a trace's numbers came from ----------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "jsonl", "npz"])
def test_trace_records_tool_torch_and_model_hash(lstm_file, tmp_path, fmt):
    from importlib import metadata

    from inspector.cli import main
    from inspector.provenance import model_sha256

    out = tmp_path / f"t.{fmt}"
    assert main(["trace", str(lstm_file), "--input", "abc", "--format", fmt, "--out",
                 str(out)]) == 0
    if fmt == "npz":
        with np.load(out) as arrays:  # allow_pickle=False, numpy's default
            source = json.loads(str(arrays["source"]))
    else:
        source = json.loads(out.read_text().splitlines()[0])["source"]
    assert source == {"tool": f"rnn-inspect {metadata.version('rnn-inspect')}",
                      "torch": torch.__version__,
                      "model_sha256": model_sha256(load_checkpoint(lstm_file))}


def test_seq2seq_trace_records_the_model_hash(seq2seq, tmp_path):
    from inspector.cli import main
    from inspector.provenance import model_sha256

    checkpoint, _ = seq2seq
    for fmt in ("json", "npz"):
        out = tmp_path / f"s.{fmt}"
        assert main(["trace", str(checkpoint.path), "--input", "abc", "--format", fmt,
                     "--out", str(out)]) == 0
        if fmt == "npz":
            with np.load(out) as arrays:
                source = json.loads(str(arrays["source"]))
        else:
            source = json.loads(out.read_text())["source"]
        assert source["model_sha256"] == model_sha256(checkpoint)


@pytest.mark.parametrize("fmt", ["json", "jsonl", "npz"])
def test_replay_writes_the_trace_of_the_branch_on_view(lstm_file, lstm, tmp_path, fmt, capsys):
    from inspector.cli import main
    from inspector.engine import trace

    checkpoint, model = lstm
    session = JournaledSession(model, keyframe_every=KEYFRAME)
    session.feed("abcd")
    session.fork("b1")
    session.intervene(Intervention("set", "l0.h", 2, 0.75))
    session.paste("efghijabcd")
    path = sessions.save_session(tmp_path / "s.json", session, checkpoint, str(lstm_file))
    out = tmp_path / f"t.{fmt}"
    assert main(["replay", str(path), "--check", "--format", fmt, "--out", str(out)]) == 0
    records = session.records(0, session.cursor)
    expected_h = np.stack([[layer.h for layer in r.layers] for r in records])
    if fmt == "npz":
        with np.load(out) as arrays:
            assert arrays["h"].tobytes() == expected_h.tobytes()
            assert arrays["probs"].tobytes() == np.stack([r.probs for r in records]).tobytes()
            assert "".join(arrays["input_chars"]) == "abcdefghijabcd"
            assert str(arrays["branch"]) == "b1"
            interventions = json.loads(str(arrays["interventions"]))
    else:
        header, steps = read_trace(out)
        assert header["branch"] == "b1" and header["source"]["model_sha256"]
        interventions = header["interventions"]
        h = np.array([[layer["h"] for layer in s["layers"]] for s in steps], dtype=np.float32)
        assert h.tobytes() == expected_h.tobytes()  # every float32 exactly, as computed
        assert [s["prediction"] for s in steps] == [r.prediction for r in records]
    assert interventions == [{"t": 4, "kind": "set", "target": "l0.h", "unit": 2,
                              "value": 0.75}]
    clean = trace(model, "abcdefghijabcd").arrays["l0.h"]
    changed = np.abs(expected_h[:, 0] - clean).max(axis=1) > 1e-5
    assert not changed[:4].any() and changed[4]  # the edit acts from step 4 on, not before


def test_replay_writes_a_seq2seq_trace_with_the_decode_on_view(seq2seq, tmp_path):
    from inspector.cli import main

    checkpoint, model = seq2seq
    session = JournaledSeq2Seq(model)
    session.feed_source("abc")
    session.edit_handoff(HandoffEdit("zero", "l1.h"))
    session.decode_step()
    session.decode_step()
    path = sessions.save_session(tmp_path / "s.json", session, checkpoint, str(checkpoint.path))
    out = tmp_path / "t.json"
    assert main(["replay", str(path), "--format", "json", "--out", str(out)]) == 0
    document = json.loads(out.read_text())
    assert [s["input"] for s in document["encoder"]["steps"]] == list("abc")
    assert len(document["decoder"]["steps"]) == 2
    assert document["handoff"]["layers"][1]["h"] == [0.0] * 6
    assert document["handoff_edits"][0]["kind"] == "zero"
    decoded = np.array([s["layers"][0]["h"] for s in document["decoder"]["steps"]],
                       dtype=np.float32)
    assert decoded.tobytes() == np.stack([r.layers[0].h for r in session.decoded]).tobytes()


def test_a_sampled_generate_replays_the_same_text(lstm, tmp_path):
    checkpoint, model = lstm
    session = JournaledSession(model)
    session.feed("a")
    session.generate(12, temperature=3.0, rng=np.random.default_rng(7))
    session.fork("b1")
    session.rename_branch("main", "first")
    restored = sessions.restore(sessions.read_session(sessions.save_session(
        tmp_path / "s.json", session, checkpoint, str(checkpoint.path))), checkpoint)
    assert restored.text == session.text and len(session.text) > 1
    assert restored.events == session.events  # the steps are marked as the model's own
    assert [b.name for b in restored.branches()] == ["first", "b1"]
    assert timeline(restored) == timeline(session)
