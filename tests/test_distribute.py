"""The multi-GPU examples as tests: data-parallel SGD gives one device's weights bit for bit on 1, 2
and 4 devices (and on devices in their own processes), and the Jacobi stencil split over devices
with halo exchanges equals numpy's."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import vgpu

MULTI = Path(__file__).resolve().parents[1] / "examples" / "multi"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"multi_{name}", MULTI / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


sgd, jacobi = load("sgd"), load("jacobi")


@pytest.fixture(scope="module")
def pool():
    ds = vgpu.devices(4, workers=0, global_bytes=1 << 20)
    yield ds
    for d in ds:
        d.close()


def test_sgd_same_weights_on_1_2_4_devices(pool):
    X, y, w_true = sgd.make_data(128, 6)
    weights = {}
    for k in (1, 2, 4):
        w, stats = sgd.train(pool[:k], X, y, steps=15, lr=0.5)
        weights[k] = w
        assert stats["comm_seconds"] > 0
    assert weights[1].tobytes() == weights[2].tobytes() == weights[4].tobytes()
    np.testing.assert_allclose(weights[1], sgd.reference(X, y, steps=15, lr=0.5), rtol=1e-4, atol=1e-5)
    assert np.linalg.norm(weights[1] - w_true) < 0.5 * np.linalg.norm(w_true)     # it learns


def test_sgd_on_devices_in_their_own_processes(pool):
    X, y, _ = sgd.make_data(64, 4)
    local, _ = sgd.train(pool[:2], X, y, steps=5)
    remote = vgpu.devices(2, process=True, workers=0, global_bytes=1 << 20)
    try:
        w, _ = sgd.train(remote, X, y, steps=5)
        assert any(m.op == "launch" for m in remote[1].message_log)
    finally:
        for d in remote:
            d.close()
    assert w.tobytes() == local.tobytes()


def test_sgd_rejects_uneven_blocks(pool):
    X, y, _ = sgd.make_data(48, 4)
    with pytest.raises(ValueError, match="3 blocks must split over 2 devices"):
        sgd.train(pool[:2], X, y)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_jacobi_with_halo_exchange_equals_numpy(pool, k):
    grid = jacobi.make_grid(30, 20)
    out, stats = jacobi.solve(pool[:k], grid, sweeps=12)
    assert out.tobytes() == jacobi.reference(grid, 12).tobytes()
    assert (stats["halo_seconds"] > 0) == (k > 1)
    assert not np.array_equal(out, grid)
