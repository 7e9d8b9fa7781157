"""Compiled launches on several threads (vgpu/sim/compiled/threads.py): the same bytes, counters and
faults as on one thread; kernels with global atomics stay on one thread."""
from __future__ import annotations

import numpy as np
import pytest

from sim_helpers import get, params, put
from vgpu.pipeline import compile_source
from vgpu.sim import DeviceError, SimDevice
from vgpu.sim.compiled import runtime as crt

SRC = r"""
__global__ void steps(const unsigned *start, int *out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned x = start[i];
    int s = 0;
    while (x > 1 && s < 500) { x = (x & 1) ? 3 * x + 1 : x / 2; s++; }
    __shared__ int tile[256];
    tile[threadIdx.x] = s;
    __syncthreads();
    out[i] = tile[255 - threadIdx.x] + ((i == n - 1 && start[0] == 0xFFFFFFFFu) ? ((int *)0)[1] : 0);
}
__global__ void hist(const unsigned *d, unsigned *bins, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) atomicAdd(&bins[d[i] & 15], 1u);
}
"""


@pytest.fixture(scope="module")
def program():
    return compile_source(SRC, "threads.vk")


def _run(program, workers: int, start: np.ndarray, n: int):
    dev = SimDevice(echo_printf=False, workers=workers, executor="compiled")
    try:
        mod = dev.load(program)
        ps, po = put(dev, start), put(dev, np.full(start.size, -1, np.int32))
        try:
            res = dev.launch(mod, "steps", params(mod, "steps", [ps, po, n]), grid=start.size // 256, block=256)
            outcome = (res.op_counts, {k: res.stats[k] for k in ("warp_instructions", "thread_instructions",
                                                                  "barriers", "waves", "divergent_branches")})
        except DeviceError as e:
            outcome = str(e)
        return get(dev, po, np.int32, start.size), outcome
    finally:
        dev.close()


def test_threads_give_the_bytes_and_counters_of_one_thread(program):
    start = np.random.default_rng(3).integers(1, 50_000, 256 * 160).astype(np.uint32)
    before = crt.COUNTS.get("threads", 0)
    one, c1 = _run(program, 0, start, start.size - 1)
    two, c2 = _run(program, 2, start, start.size - 1)
    assert crt.COUNTS.get("threads", 0) == before + 1          # the two-worker launch took the threaded path
    assert np.array_equal(one, two) and c1 == c2
    assert one[0] == two[0] >= 0 and c1[1]["waves"] == 5        # 160 blocks, 32 per wave


def test_a_fault_in_a_threaded_launch_is_the_interpreters(program):
    """The last thread reads address 0 when start[0] is all ones: the fault of one thread's chunk is
    reported as on one thread (and by the interpreter)."""
    start = np.random.default_rng(4).integers(1, 50_000, 256 * 160).astype(np.uint32)
    start[0] = 0xFFFFFFFF
    _, e1 = _run(program, 0, start, start.size)
    _, e2 = _run(program, 2, start, start.size)
    assert isinstance(e1, str) and e1 == e2 and e1.startswith("out of bounds: load of 4 bytes at 0x4")


def test_global_atomics_stay_on_one_thread(program):
    dev = SimDevice(echo_printf=False, workers=2, executor="compiled")
    try:
        mod = dev.load(program)
        d = np.arange(256 * 96, dtype=np.uint32)
        pd, pb = put(dev, d), put(dev, np.zeros(16, np.uint32))
        before = crt.COUNTS.get("threads", 0)
        dev.launch(mod, "hist", params(mod, "hist", [pd, pb, d.size]), grid=96, block=256)
        assert crt.COUNTS.get("threads", 0) == before
        assert get(dev, pb, np.uint32, 16).tolist() == [d.size // 16] * 16
    finally:
        dev.close()
