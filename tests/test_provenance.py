"""A trace or session says where its numbers came from: the weights' hash follows any number."""

import torch

from inspector.loading.native import load_checkpoint
from inspector.provenance import model_sha256, source_block


def test_hash_is_stable_and_changes_with_one_weight():
    first = load_checkpoint("doubled-rnn")
    again = load_checkpoint("doubled-rnn")
    assert model_sha256(first) == model_sha256(again)
    assert len(model_sha256(first)) == 64
    with torch.no_grad():
        next(again.module.parameters()).view(-1)[0] += 1e-6
    again._sha256 = None
    assert model_sha256(again) != model_sha256(first)


def test_source_block_names_tool_torch_and_model():
    block = source_block(load_checkpoint("doubled-mlp"))
    assert set(block) == {"tool", "torch", "model_sha256"}
    assert block["tool"].startswith("rnn-inspect ") and block["torch"] == torch.__version__
