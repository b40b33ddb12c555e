"""The trajectory panel's numbers: the PCA path against numpy's SVD, fixed points projected into
the same plane, searched from visited states (the flip-flop's stable points), and the doubled
task's two-step rhythm in the state's hops."""

import numpy as np
import pytest
import torch

from inspector.analysis.fixed_points import StepMap, find_fixed_points
from inspector.analysis.trajectory import (
    stacked_states,
    state_names,
    trajectory,
    visited_fixed_points,
)
from inspector.engine import inspectable, trace
from inspector.loading import ModelSource, open_model
from models import tasks


@pytest.fixture(scope="module")
def flipflop():
    return inspectable(open_model(ModelSource("flipflop-rnn")))


def test_the_path_is_numpy_pca():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(60, 5)) @ np.diag([4.0, 2.0, 1.0, 0.5, 0.1]) + 3.0
    tr = trajectory(rows, "l0.h")
    centred = rows - rows.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    reference = centred @ vt[:2].T
    signs = np.sign((tr.path * reference).sum(0))  # a component's sign is a convention
    assert np.allclose(tr.path, reference * signs, atol=1e-9)
    assert np.allclose(tr.explained, (s[:2] ** 2 / (s ** 2).sum()), atol=1e-12)
    assert tr.fixed == () and tr.hold is None


def test_fixed_points_are_projected_with_the_paths_axes(flipflop):
    text = tasks.sample_text("flipflop")[:300]
    arrays = trace(flipflop, text).arrays
    result = visited_fixed_points(flipflop, ".", arrays, starts=48)
    rows = np.asarray(arrays["l0.h"], dtype=np.float64)
    tr = trajectory(rows, "l0.h", 0, result)
    assert tr.hold == "." and len(tr.fixed) == len(result.points) >= 4
    for projected, point in zip(tr.fixed, result.points, strict=True):
        expect = (point.state["l0.h"] - rows.mean(0)) @ tr.axes.axes.T
        assert np.allclose([projected.x, projected.y], expect, atol=1e-9)
        assert projected.stable == point.stable and projected.output == point.output
    stable_outputs = {p.output for p in tr.fixed if p.stable}
    assert len(stable_outputs) >= 4 and stable_outputs <= set("01234567")


def test_the_search_starts_from_the_visited_states_in_the_maps_order(flipflop):
    text = tasks.sample_text("flipflop")[:50]
    arrays = trace(flipflop, text).arrays
    names = state_names(flipflop)
    assert names == StepMap(flipflop, 0).names() == ["l0.h"]
    starts = stacked_states(arrays, names, 5)
    wanted = np.unique(np.linspace(0, 49, 5).astype(int))
    assert np.array_equal(starts, np.asarray(arrays["l0.h"], dtype=np.float64)[wanted])
    direct = find_fixed_points(flipflop, ".", starts)
    again = visited_fixed_points(flipflop, ".", arrays, starts=5)
    assert [p.q for p in again.points] == [p.q for p in direct.points]


def test_an_lstm_state_is_h_and_c_of_every_layer_side_by_side():
    model = inspectable(open_model(ModelSource("doubled-lstm")))
    arrays = trace(model, "aabbcc").arrays
    names = state_names(model)
    assert names == ["l0.h", "l0.c", "l1.h", "l1.c"]
    starts = stacked_states(arrays, names, 10)
    assert starts.shape == (6, 4 * model.hidden)
    layer = StepMap(model, 0)
    with torch.no_grad():  # the stacked state after step 2 maps to the state after step 3
        stepped = StepMap(model, model.vocab.id("b"))(torch.from_numpy(starts[2:3]))[0].numpy()
    assert np.allclose(stepped, starts[3], atol=1e-5)
    assert layer.size == starts.shape[1]


def test_the_doubled_lstm_moves_in_pairs_short_hop_inside_a_pair_long_to_the_next():
    model = inspectable(open_model(ModelSource("doubled-lstm")))
    text = tasks.doubled_source(3, 26) * 2
    rows = np.asarray(trace(model, text).arrays["l0.h"], dtype=np.float64)
    hops = np.linalg.norm(np.diff(rows, axis=0), axis=1)  # hops[i]: step i -> i + 1
    inside, across = hops[0::2], hops[1::2]  # 0 -> 1 inside the first pair, 1 -> 2 across
    assert (across > inside[:len(across)]).all()
    assert across.mean() > 1.3 * inside.mean()
    tr = trajectory(rows, "l0.h")  # in the PC plane too, less sharply
    plane = np.linalg.norm(np.diff(tr.path, axis=0), axis=1)
    assert plane[1::2].mean() > 1.15 * plane[0::2].mean()
