"""The loading package: one options carrier filled from the CLI once, and cheap to import."""

import json
import subprocess

import pytest

from inspector.cli import command_parser
from inspector.commands.common import source_from
from inspector.loading import ModelSource, open_model
from models.errors import CheckpointError


def test_every_model_option_reaches_the_one_options_carrier():
    args = command_parser().parse_args([
        "info", "m.keras", "--vocab", "v.json", "--target-vocab", "t.json", "--labels", "l.json",
        "--decoder", "dec.pt", "--bos", "\t", "--eos", "\n", "--nonlinearity", "relu",
        "--trust-pickle"])
    assert source_from(args) == ModelSource(
        model="m.keras", vocab="v.json", target_vocab="t.json", nonlinearity="relu",
        trust_pickle=True, labels="l.json", decoder="dec.pt", bos="\t", eos="\n")


def test_importing_the_package_imports_no_torch(python, cli_env):
    """Formats are imported when a file needs them, so the TUI's first frame stays torch-free."""
    probe = "import sys, inspector.loading; print('torch' in sys.modules)"
    run = subprocess.run([python, "-c", probe], capture_output=True, text=True, env=cli_env,
                         timeout=120)
    assert run.stdout.strip() == "False", run.stderr


def test_labels_are_read_checked_and_carried(tmp_path):
    (tmp_path / "l.json").write_text(json.dumps([f"tag{i}" for i in range(27)]))
    (tmp_path / "short.json").write_text(json.dumps(["a", "b"]))
    (tmp_path / "twice.json").write_text(json.dumps(["a", "a"]))
    opened = open_model(ModelSource("doubled-lstm", labels=str(tmp_path / "l.json")))
    assert opened.meta["labels"][:2] == ["tag0", "tag1"]
    with pytest.raises(CheckpointError, match="names 2 outputs, the head of doubled-lstm has 27"):
        open_model(ModelSource("doubled-lstm", labels=str(tmp_path / "short.json")))
    with pytest.raises(CheckpointError, match="names 'a' twice"):
        open_model(ModelSource("doubled-lstm", labels=str(tmp_path / "twice.json")))
