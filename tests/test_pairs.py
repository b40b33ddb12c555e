"""`rnn-inspect train pairs`: your own X → Y from a file, held-out truth, which model learns it."""

import contextlib
import io
import itertools
import json

import pytest
import torch

from inspector.cli import main
from inspector.loading.native import load_checkpoint
from models.checkpoint import describe
from models.pairs import DATA_DIR, PairsError, read_pairs, split_pairs
from models.tasks import doubled_source, doubled_target, shift_target
from models.train import predict_text, reverse_exact_match

FAST = ["--quiet", "--batch", "32", "--lr", "1e-2", "--patience", "8"]


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def held_out_lines(path, seed=0, holdout=0.1):
    data = read_pairs(path)
    split = split_pairs(data, holdout, seed)
    return data, split, [data.pairs[i] for i in split.held_out]


@pytest.fixture(scope="session")
def doubled_cells(tmp_path_factory):
    """The seed's claim through `train pairs`: an MLP and a GRU on the shipped doubled.tsv."""
    out = tmp_path_factory.mktemp("cells") / "doubled.safetensors"
    status, stdout, stderr = run_cli(["train", "pairs", "--data", "doubled.tsv", "--cells",
                                      "mlp,gru", "--hidden", "32", "--steps", "400",
                                      "--as-task", "doubled", "--out", str(out), *FAST])
    assert status == 0, stderr
    return out.parent, stdout


def measured(checkpoint, pairs) -> float:
    """Held-out accuracy per token from the model's own forward, not from its metadata."""
    hits = total = 0
    for pair in pairs:
        predicted = predict_text(checkpoint.module, checkpoint.vocab, "".join(pair.source))
        hits += sum(p == t for p, t in zip(predicted, pair.target))
        total += len(pair.target)
    return hits / total


def test_the_mlp_fails_and_the_gru_learns_the_doubled_data(doubled_cells):
    folder, _ = doubled_cells
    data, split, held = held_out_lines(DATA_DIR / "doubled.tsv")
    trained_inputs = {data.pairs[i].source for i in split.train}
    assert held and not any(p.source in trained_inputs for p in held)  # never trained on
    mlp = load_checkpoint(folder / "doubled-mlp.safetensors")
    gru = load_checkpoint(folder / "doubled-gru.safetensors")
    assert mlp.kind == "mlp" and gru.kind == "char" and gru.meta["arch"]["cell"] == "gru"
    assert measured(mlp, held) <= 0.55
    assert measured(gru, held) >= 0.99
    for model in (mlp, gru):
        block = model.meta["train"]["holdout"]
        assert block["token_accuracy"] == pytest.approx(measured(model, held), abs=1e-6)
        assert block["pairs"] == len(held)
        assert model.meta["tokens"] == "chars" and model.meta["task"] == "doubled"
    assert gru.meta["train"]["holdout"]["sequence_accuracy"] >= 0.99
    assert mlp.meta["train"]["holdout"]["sequence_accuracy"] == 0.0  # `aa` needs `ab`


def test_cells_print_one_table_with_accuracy_parameters_and_time(doubled_cells):
    folder, stdout = doubled_cells
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("cell "))
    assert "held-out/token" in lines[header] and "parameters" in lines[header]
    rows = {line.split()[0]: line.split() for line in lines[header + 1:header + 3]}
    for cell in ("mlp", "gru"):
        model = load_checkpoint(folder / f"doubled-{cell}.safetensors")
        row = rows[cell]
        assert row[1] == f"{model.meta['train']['holdout']['token_accuracy']:.1%}"
        assert row[3] == f"{model.parameter_count():,}"
        assert row[4].endswith("s") and float(row[4][:-1]) > 0
        assert row[-1].endswith(f"doubled-{cell}.safetensors")
    assert lines[header + 3].startswith("best recurrent: gru")


def test_early_stopping_ends_the_gru_at_100_percent_and_the_mlp_at_its_plateau(doubled_cells):
    folder, _ = doubled_cells
    gru = load_checkpoint(folder / "doubled-gru.safetensors").meta["train"]
    mlp = load_checkpoint(folder / "doubled-mlp.safetensors").meta["train"]
    assert gru["stopped"] == "held-out 100%" and gru["steps"] < 400
    assert mlp["stopped"].startswith("no improvement") and mlp["steps"] < 400


def test_a_reversal_file_trains_an_encoder_decoder_to_exact_match(tmp_path):
    words = ["".join(p) for n in range(1, 6) for p in itertools.product("abcd", repeat=n)]
    data_file = tmp_path / "reverse.tsv"
    data_file.write_text("".join(f"{w}\t{w[::-1]}\n" for w in words), encoding="utf-8")
    out = tmp_path / "rev.safetensors"
    status, _, stderr = run_cli(["train", "pairs", "--data", str(data_file), "--kind", "seq2seq",
                                 "--cell", "lstm", "--hidden", "64", "--steps", "600",
                                 "--out", str(out), *FAST])
    assert status == 0, stderr
    model = load_checkpoint(out)
    assert model.kind == "seq2seq" and model.vocab.tokens[:3] == ("<unk>", "<s>", "</s>")
    _, _, held = held_out_lines(data_file)
    exact = reverse_exact_match(model.module, model.vocab, ["".join(p.source) for p in held])
    assert exact >= 0.95
    assert model.meta["train"]["holdout"]["sequence_accuracy"] == pytest.approx(exact, abs=1e-6)


def test_pairs_of_different_lengths_choose_an_encoder_decoder(tmp_path):
    data_file = tmp_path / "plural.tsv"
    data_file.write_text("cat\tcats\ndog\tdogs\nox\toxen\nfox\tfoxes\n", encoding="utf-8")
    out = tmp_path / "m.safetensors"
    status, stdout, stderr = run_cli(["train", "pairs", "--data", str(data_file), "--hidden", "8",
                                      "--steps", "3", "--holdout", "0.25", "--out", str(out),
                                      "--quiet"])
    assert status == 0, stderr
    assert "pairs of different lengths (first at line 1): training an encoder–decoder" in stdout
    model = load_checkpoint(out)
    assert model.kind == "seq2seq" and model.meta["train"]["holdout"]["pairs"] == 1


def test_tsv_and_json_lines_round_trip_into_the_checkpoint(tmp_path):
    pairs = [("abc", "bcd"), ("xyz", "yza"), ("hello", "ifmmp"), ("q", "r")]
    tsv = tmp_path / "p.tsv"
    tsv.write_text("".join(f"{x}\t{y}\r\n" for x, y in pairs) + "\n\n", encoding="utf-8")
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text("".join(json.dumps({"input": x, "target": y}) + "\n" for x, y in pairs),
                     encoding="utf-8")
    read = [read_pairs(tsv), read_pairs(jsonl)]
    assert read[0].pairs == read[1].pairs
    assert [("".join(p.source), "".join(p.target)) for p in read[0].pairs] == pairs
    assert [p.line for p in read[0].pairs] == [1, 2, 3, 4]
    out = tmp_path / "m.safetensors"
    status, stdout, stderr = run_cli(["train", "pairs", "--data", str(jsonl), "--cell", "lstm",
                                      "--hidden", "8", "--steps", "3", "--holdout", "0.25",
                                      "--out", str(out), "--quiet"])
    assert status == 0, stderr
    model = load_checkpoint(out)
    assert model.kind == "char" and model.vocab == read[0].vocab(seq2seq=False)
    assert set("abcdefhilmopqrxyz") == set(model.vocab.tokens[1:])
    assert model.meta["tokens"] == "chars" and model.meta["task"] == "pairs"
    assert model.meta["train"]["data"] == "p.jsonl" and model.meta["train"]["pairs"] == 3
    assert set(model.meta["train"]["holdout"]) == {"token_accuracy", "sequence_accuracy", "pairs"}
    assert "tokens     chars" in describe(model)
    assert any(line.startswith("train.holdout.token_accuracy") for line in describe(model))
    assert stdout.startswith(f"saved {out}: held-out")


def test_the_split_is_seeded_and_keeps_one_input_on_one_side(tmp_path):
    data_file = tmp_path / "p.tsv"
    data_file.write_text("".join(f"{c}\t{shift_target(c)}\n" for c in "abcdefghij" * 2))
    data = read_pairs(data_file)
    first, again, other = (split_pairs(data, 0.3, s) for s in (5, 5, 6))
    assert first == again and first != other
    assert sorted(first.train + first.held_out) == list(range(20))
    held_inputs = {data.pairs[i].source for i in first.held_out}
    assert len(held_inputs) == 3 and len(first.held_out) == 6  # both copies of each held input
    assert not held_inputs & {data.pairs[i].source for i in first.train}
    with pytest.raises(PairsError, match="too few"):
        split_pairs(read_pairs_text(tmp_path, "a\tb\n"), 0.1, 0)


def read_pairs_text(tmp_path, text):
    path = tmp_path / "one.tsv"
    path.write_text(text, encoding="utf-8")
    return read_pairs(path)


def test_the_shipped_data_files_are_the_seed_examples():
    doubled = read_pairs(DATA_DIR / "doubled.tsv")
    lines = {("".join(p.source), "".join(p.target)) for p in doubled.pairs}
    assert (doubled_source(0, 26), doubled_target(0, 26)) in lines
    assert doubled_target(0, 26) == "abcdefghijklmnopqrstuvwxyz" * 2
    assert all(t == doubled_target(ord(s[0]) - 97, len(s) // 2) for s, t in lines)
    shift = read_pairs(DATA_DIR / "shift.tsv")
    assert ("abcdefghijklmnopqrstuvwxyz", "bcdefghijklmnopqrstuvwxyza") in {
        ("".join(p.source), "".join(p.target)) for p in shift.pairs}
    assert all("".join(p.target) == shift_target("".join(p.source)) for p in shift.pairs)


BAD_DATA = [
    ("empty.tsv", b"", [], "empty.tsv: no pairs (the file is empty"),
    ("blank.tsv", b"\n  \n", [], "blank.tsv: no pairs"),
    ("notab.tsv", b"ab\tbc\nabc\n", [], "notab.tsv:2: no tab between input and target"),
    ("tabs.tsv", b"a\tb\tc\n", [], "tabs.tsv:1: 2 tabs"),
    ("len.tsv", b"ab\tbc\nabc\tbc\n", ["--kind", "step"],
     "len.tsv:2: input has 3 tokens, target 2; a step model needs one target token per input"),
    ("mlp.tsv", b"ab\tbc\nabc\tbc\n", ["--cell", "mlp"], "mlp.tsv:2: input has 3 tokens, "
                                                          "target 2; an MLP needs"),
    ("latin1.tsv", b"ab\tbc\ncaf\xe9\tx\n", [], "latin1.tsv:2: not UTF-8 text (byte 0xe9 at "
                                                "column 4)"),
    ("empty-input.tsv", b"\tab\n", [], "empty-input.tsv:1: empty input"),
    ("nokey.jsonl", b'{"input": "ab", "target": "bc"}\n{"input": "ab"}\n', [],
     "nokey.jsonl:2: no 'target' key"),
    ("broken.jsonl", b'{"input": "ab",\n', [], "broken.jsonl:1: not valid JSON"),
    ("array.jsonl", b'["ab", "bc"]\n', [], "array.jsonl:1: not a JSON object"),
    ("number.jsonl", b'{"input": 3, "target": "bc"}\n', [],
     "number.jsonl:1: the input is neither a string nor a list of tokens"),
    ("words.jsonl", b'{"input": ["ab"], "target": ["bc"]}\n', [],
     "words.jsonl:1: the input lists tokens longer than one character; use --tokens words"),
    ("reserved.jsonl", b'{"input": ["<s>"], "target": ["b"]}\n', [],
     "reserved.jsonl:1: the input holds '<s>', a token the models reserve"),
]


@pytest.mark.parametrize("name,content,extra,expected",
                         BAD_DATA)
def test_bad_data_is_one_line_naming_the_file_and_line(tmp_path, capsys, name, content, extra,
                                                       expected):
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "never.safetensors"
    status = main(["train", "pairs", "--data", str(path), "--steps", "1", "--hidden", "4",
                   "--out", str(out), "--quiet", *extra])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"rnn-inspect: {tmp_path}/{expected}")
    assert not out.exists()


@pytest.mark.parametrize("argv,expected", [
    (["--data", "nowhere.tsv"], "nowhere.tsv: no such file"),
    ([], "train pairs needs --data FILE"),
    (["--data", "doubled.tsv", "--cells", "mlp,tree"], "--cells 'mlp,tree': list cells from"),
    (["--data", "doubled.tsv", "--cells", "gru,gru"], "names a cell twice"),
    (["--data", "doubled.tsv", "--holdout", "1"], "--holdout must be at least 0 and below 1"),
    (["--data", "doubled.tsv", "--kind", "seq2seq", "--cell", "mlp"], "an MLP is a step model"),
])
def test_bad_options_are_one_line(tmp_path, capsys, argv, expected):
    status = main(["train", "pairs", *argv, "--steps", "1", "--out",
                   str(tmp_path / "m.safetensors"), "--quiet"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert expected in err


def test_pairs_options_are_refused_on_a_built_in_task(tmp_path, capsys):
    status = main(["train", "doubled", "--data", "doubled.tsv", "--holdout", "0.2", "--open",
                   "--steps", "1", "--out", str(tmp_path / "m.safetensors")])
    assert status == 2
    assert capsys.readouterr().err == ("rnn-inspect: --data, --holdout, --open: only for train "
                                       "pairs (this is train doubled)\n")


def test_open_launches_compare_mode_on_the_best_recurrent_model_against_the_mlp(tmp_path,
                                                                              monkeypatch):
    import inspector.tui.app

    launched = {}

    def fake_run_app(model, *, compare=None, opened=None, compare_opened=None):
        launched.update(model=model, compare=compare, opened=opened, compare_opened=compare_opened)
        return 0

    monkeypatch.setattr(inspector.tui.app, "run_app", fake_run_app)
    out = tmp_path / "shift.safetensors"
    status, stdout, stderr = run_cli(["train", "pairs", "--data", "shift.tsv", "--cells",
                                      "mlp,rnn,gru", "--hidden", "8", "--steps", "20",
                                      "--out", str(out), "--open", *FAST])
    assert status == 0, stderr
    scores = {cell: load_checkpoint(tmp_path / f"shift-{cell}.safetensors").meta["train"]
              ["holdout"] for cell in ("rnn", "gru")}
    best = max(scores, key=lambda c: (scores[c]["sequence_accuracy"], scores[c]["token_accuracy"]))
    assert f"best recurrent: {best}" in stdout
    assert launched["model"].model == str(tmp_path / f"shift-{best}.safetensors")
    assert launched["compare"].model == str(tmp_path / "shift-mlp.safetensors")
    assert launched["opened"].meta["arch"]["cell"] == best
    assert launched["compare_opened"].kind == "mlp"


def test_cells_refuse_an_unwritable_output_before_training(tmp_path, capsys):
    (tmp_path / "d-gru.safetensors").mkdir()
    status = main(["train", "pairs", "--data", "doubled.tsv", "--cells", "mlp,gru", "--out",
                   str(tmp_path / "d.safetensors"), "--quiet"])
    assert status == 2 and "d-gru.safetensors" in capsys.readouterr().err
    assert not (tmp_path / "d-mlp.safetensors").exists()


def test_engine_numbers_of_a_pairs_model_are_its_own(doubled_cells):
    from inspector.engine import Session, inspectable

    folder, _ = doubled_cells
    model = load_checkpoint(folder / "doubled-gru.safetensors")
    session = Session(inspectable(model))
    records = session.feed("ccdd")
    logits, _ = model.module(torch.tensor([model.vocab.encode("ccdd")]))
    probs = torch.softmax(logits[0], -1).detach().numpy()
    for t, record in enumerate(records):
        assert abs(record.probs - probs[t]).max() <= 1e-5
    assert "".join(r.prediction for r in records) == "efgh"


def test_words_train_a_word_model_that_reads_words(tmp_path):
    data = tmp_path / "words.tsv"
    data.write_text("red cat\tcat red\nblue dog cat\tdog blue cat\ngreen red\tred green\n")
    out = tmp_path / "words.safetensors"
    status, _, err = run_cli(["train", "pairs", "--data", str(data), "--tokens", "words",
                              "--cell", "gru", "--hidden", "8", "--steps", "5", "--quiet",
                              "--holdout", "0.34", "--out", str(out)])
    assert status == 0, err
    checkpoint = load_checkpoint(out)
    assert checkpoint.meta["tokens"] == "words"
    assert set(checkpoint.vocab.tokens) >= {"red", "cat", "blue", "dog", "green"}
    status, trace, err = run_cli(["trace", str(out), "--input", "red cat dog"])
    assert status == 0, err
    assert [step["input"] for step in json.loads(trace)["steps"]] == ["red", "cat", "dog"]
