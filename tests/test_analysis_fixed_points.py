"""The fixed-point search's pieces: the closed-form Jacobian of the step map against autograd
for every cell, stacked layers and F∘F; the Newton step's chunks; progress and stopping."""

import numpy as np
import pytest
import torch

from inspector.analysis.fixed_points import (
    HeldMap,
    StepMap,
    _solve_lower,
    chunk_size,
    eigenvalues,
    find_fixed_points,
)
from inspector.engine import NativeModel
from models.char_rnn import CharRNN, CharRNNConfig
from models.vocab import CharVocab


def small_model(cell: str, layers: int, hidden: int, nonlinearity: str = "tanh") -> NativeModel:
    torch.manual_seed(7)
    config = CharRNNConfig(27, cell, layers, hidden, 5, nonlinearity=nonlinearity)
    module = CharRNN(config)
    with torch.no_grad():  # weights large enough for gates far from linear, not saturated
        for weight in module.parameters():
            weight.mul_(1.5)
    return NativeModel(module, CharVocab.letters(), f"{cell}{layers}x{hidden}")


def autograd_jacobian(apply, x: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.autograd.functional.jacobian(lambda row: apply(row[None])[0], row)
                        for row in x])


@pytest.mark.parametrize(("cell", "layers", "nonlinearity"),
                         [("rnn", 1, "tanh"), ("rnn", 3, "relu"), ("lstm", 1, "tanh"),
                          ("lstm", 3, "tanh"), ("gru", 1, "tanh"), ("gru", 2, "tanh")])
@pytest.mark.parametrize("period", [1, 2])
def test_the_closed_form_jacobian_is_autograds(cell, layers, nonlinearity, period):
    model = small_model(cell, layers, 4, nonlinearity)
    step = HeldMap(StepMap(model, model.vocab.id("c")), period)
    size = step.step.size
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(3, size)))
    closed = step.jacobian(x)
    reference = autograd_jacobian(step, x)
    assert closed.shape == (3, size, size)
    assert float((closed - reference).abs().max()) < 1e-12
    assert float(reference.abs().max()) > 1e-3  # not a trivially zero Jacobian


@pytest.mark.parametrize(("cell", "period"), [("lstm", 1), ("gru", 2), ("rnn", 1)])
def test_block_by_block_is_the_whole_matrix(cell, period):
    """Layer k depends on layers 0..k only: solving with I − J and its eigenvalues block by
    block equal the whole matrix's."""
    model = small_model(cell, 3, 4)
    step = HeldMap(StepMap(model, model.vocab.id("q")), period)
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.normal(size=(2, step.step.size)))
    jac = step.jacobian(x)
    for block in step.blocks:  # nothing above the diagonal blocks
        assert not bool(jac[:, block, block.stop:].any())
    eye = torch.eye(step.step.size, dtype=x.dtype)
    rhs = torch.from_numpy(rng.normal(size=(2, step.step.size)))
    solved, info = _solve_lower(eye - jac, rhs, step.blocks)
    assert info.tolist() == [0, 0]
    assert float((solved - torch.linalg.solve(eye - jac, rhs[..., None])[..., 0]).abs().max()) \
        < 1e-10
    blocks = eigenvalues(step, x)
    whole = torch.linalg.eigvals(jac).numpy()
    for ours, theirs in zip(blocks, whole, strict=True):
        assert np.allclose(np.sort_complex(ours), np.sort_complex(theirs), atol=1e-9)


def test_the_search_in_chunks_finds_what_it_finds_in_one(monkeypatch):
    model = small_model("lstm", 2, 3)
    starts = np.random.default_rng(2).normal(size=(12, 12))
    whole = find_fixed_points(model, "a", starts)
    import inspector.analysis.fixed_points as fixed_points

    assert chunk_size(12) >= 12
    monkeypatch.setattr(fixed_points, "JACOBIAN_BYTES", 8 * 12 * 12 * 5)  # 5 points a chunk
    assert fixed_points.chunk_size(12) == 5
    seen = []
    chunked = find_fixed_points(model, "a", starts,
                                progress=lambda stage, done, total: seen.append((stage, done,
                                                                                 total)))
    assert whole.points and len(chunked.points) == len(whole.points)
    for a, b in zip(whole.points, chunked.points, strict=True):
        assert a.stable == b.stable and a.output == b.output
        assert np.abs(np.concatenate([a.state[k] - b.state[k] for k in a.state])).max() < 1e-9
    # 12 starts and the 12 states 300 held steps take them to, refined 5 at a time
    assert [s for s in seen if s[0] == "newton"] == [("newton", n, 24) for n in (5, 10, 15, 20,
                                                                                24)]
    assert [s for s in seen if s[0] == "settle"] == [("settle", n, 300) for n in range(1, 301)]
    adam = [(done, total) for stage, done, total in seen if stage == "adam"]
    assert adam == [(n, 200) for n in range(1, len(adam) + 1)]
    assert seen[-1] == ("stability", len(chunked.points), len(chunked.points))


def test_progress_can_stop_the_search():
    model = small_model("gru", 1, 4)

    class Stop(Exception):
        pass

    def stop_at_ten(stage, done, total):
        if stage == "adam" and done == 10:
            raise Stop

    with pytest.raises(Stop):
        find_fixed_points(model, "a", np.zeros((4, 4)), progress=stop_at_ten)


def test_settling_reaches_the_demos_slow_stable_point():
    """Under a held 'f' the demo LSTM's stable point is slow (|λ| ≈ 0.993) and far out in c:
    from the visited states alone the search ends short of it; from where 300 held steps take
    them it is found, and it is F's fixed point by the engine's own step."""
    from inspector.commands.fixed_points import visited_states
    from inspector.engine import inspectable
    from inspector.engine.records import LayerState
    from inspector.loading import ModelSource, open_model

    model = inspectable(open_model(ModelSource("doubled-lstm")))
    starts = visited_states(model, "aabbccddeeffgghh", 16)
    assert find_fixed_points(model, "f", starts, settle=0).points == ()
    found = find_fixed_points(model, "f", starts, settle=300)
    assert len(found.points) == 1 and found.points[0].stable
    point = found.points[0]
    assert 0.98 < point.max_abs_eig < 1.0
    state = tuple(LayerState(point.state[f"l{k}.h"].astype(np.float32),
                             point.state[f"l{k}.c"].astype(np.float32)) for k in range(2))
    layers, output = model.step(model.vocab.id("f"), state)
    for k, layer in enumerate(layers):
        assert np.abs(layer.h - point.state[f"l{k}.h"]).max() < 1e-5
        assert np.abs(layer.c - point.state[f"l{k}.c"]).max() < 1e-5
    assert output.prediction == point.output
