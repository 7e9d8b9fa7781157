"""What a kernel keeps between launches to make a launch cheap (vgpu.sim.launch.limits: validation
and occupancy per block shape; vgpu.sim.observe.counters.launch_totals: the last tally) is kept
per shape and per count, invalidated when they differ, and never leaks into another launch's result."""
from __future__ import annotations

import numpy as np
import pytest

from vgpu.pipeline import compile_source
from vgpu.sim import SimDevice
from vgpu.sim.faults import InvalidLaunch
from vgpu.sim.launch import LIMITS_KEPT, dims
from vgpu.sim.occupancy import registers_per_thread, theoretical

from sim_helpers import get, params, put

SRC = r"""
extern __shared__ int buf[];
__global__ void count(int *o, int n) {
    int t = threadIdx.x;
    buf[t] = t;
    __syncthreads();
    int s = 0;
    for (int i = 0; i < n; i++) s += buf[(t + i) % blockDim.x];
    o[blockIdx.x * blockDim.x + t] = s;
}
"""


@pytest.fixture(params=["interp", "compiled"])
def setup(request):
    dev = SimDevice(echo_printf=False, workers=0, executor=request.param)
    mod = dev.load(compile_source(SRC, "memo.vk"))
    out = put(dev, np.zeros(4 * 1024, np.int32))
    return dev, mod, out


def _launch(dev, mod, out, n=3, grid=1, block=64, shared=None):
    shared = 4 * (block if isinstance(block, int) else block[0]) if shared is None else shared
    return dev.launch(mod, "count", params(mod, "count", [out, n]), grid=grid, block=block, shared=shared)


def _occupancy(mod, block: int, shared: int):
    k = mod.kernel("count")
    return theoretical(registers_per_thread(k.code.regs), k.shared_static + shared, block)


def test_each_block_shape_and_shared_size_gets_its_own_occupancy(setup):
    dev, mod, out = setup
    for block, shared in ((64, 256), (256, 1024), (64, 256), (64, 40 * 1024), (128, 512)):
        res = _launch(dev, mod, out, block=block, shared=shared)
        assert res.stats.occupancy == _occupancy(mod, block, shared)
        assert res.block == (block, 1, 1) and res.shared == shared
        want = [sum((t + i) % block for i in range(3)) for t in range(block)]
        assert get(dev, out, np.int32, block).tolist() == want


def test_a_launch_that_fails_validation_still_fails_after_good_ones(setup):
    dev, mod, out = setup
    _launch(dev, mod, out, block=64)
    with pytest.raises(InvalidLaunch, match="needs 49408 bytes of shared memory .* more than the limit of 49152"):
        _launch(dev, mod, out, block=64, shared=48 * 1024 + 256)
    with pytest.raises(InvalidLaunch, match="a block of 2048 threads exceeds the limit of 1024"):
        _launch(dev, mod, out, block=(64, 32, 1), shared=0)
    with pytest.raises(InvalidLaunch, match="block dimension y = 0 is outside 1..1024"):
        _launch(dev, mod, out, block=(64, 0, 1), shared=0)
    # a kept block shape with a bad grid: the grid is still checked, with validate's words
    with pytest.raises(InvalidLaunch, match="grid dimension y = 65536 is outside 1..65535"):
        _launch(dev, mod, out, grid=(1, 65536, 1), block=64)
    with pytest.raises(InvalidLaunch, match="grid dimension x = 0 is outside"):
        _launch(dev, mod, out, grid=0, block=64)
    # a failed shape is not kept: it fails again, and the good shape still runs
    with pytest.raises(InvalidLaunch, match="more than the limit of 49152"):
        _launch(dev, mod, out, block=64, shared=48 * 1024 + 256)
    assert _launch(dev, mod, out, block=64).stats["warp_instructions"] > 0


def test_a_device_with_a_smaller_shared_limit_checks_its_own(setup):
    _, mod, _ = setup
    prog = mod.program
    small = SimDevice(echo_printf=False, workers=0, max_shared_per_block=1024)
    m2 = small.load(prog)
    o2 = put(small, np.zeros(1024, np.int32))
    _launch(small, m2, o2, block=64, shared=256)
    with pytest.raises(InvalidLaunch, match="more than the limit of 1024"):
        _launch(small, m2, o2, block=64, shared=2048)


def test_kept_shapes_are_bounded(setup):
    dev, mod, out = setup
    for block in range(32, 32 + LIMITS_KEPT + 8):
        _launch(dev, mod, out, block=block, n=1)
    assert 0 < len(mod.kernel("count").limits) <= LIMITS_KEPT


def test_the_kept_tally_follows_the_counts_and_results_are_independent(setup):
    """Launches alternating between counts give each its own totals (equal to a fresh device's), and
    changing one result's dicts does not change the next result."""
    dev, mod, out = setup

    def fresh(n):
        d2 = SimDevice(echo_printf=False, workers=0, executor=dev.executor)
        m2 = d2.load(mod.program)
        return _launch(d2, m2, put(d2, np.zeros(4 * 1024, np.int32)), n=n)

    want = {n: fresh(n) for n in (2, 5)}
    for n in (2, 5, 5, 2, 5):
        res = _launch(dev, mod, out, n=n)
        for field in ("op_counts", "line_counts", "pcs"):
            assert getattr(res, field) == getattr(want[n], field), field
        assert dict(res.stats) == dict(want[n].stats) and list(res.stats) == list(want[n].stats)
        res.stats["warp_instructions"] = -1
        res.op_counts.clear()
        res.line_counts[0] = 1
        res.pcs[0]["warps"] = -1
        res.pcs.append({})


def test_dims_normalises_every_form_and_refuses_others():
    assert dims(5, "grid") == (5, 1, 1)
    assert dims((2, 3), "grid") == (2, 3, 1)
    assert dims([2, 3, 4], "grid") == (2, 3, 4)
    assert dims((np.int64(2), 3, 4), "grid") == (2, 3, 4) and type(dims((np.int64(2), 3, 4), "grid")[0]) is int
    assert dims(np.int32(7), "block") == (7, 1, 1)
    for bad in (True, (1, True, 1), (1, 2.0, 1), 2.5, (1, 2, 3, 4), (), "4"):
        with pytest.raises(InvalidLaunch, match="must be an int or a tuple of 1 to 3 ints"):
            dims(bad, "grid")


MIXED = r"""
__global__ void mixed(char c, double d, short s, long long q, float f, unsigned int u, int *oi, double *od) {
    oi[0] = c; oi[1] = s; oi[2] = (int)u; od[0] = d; od[1] = (double)q; od[2] = f;
}
struct P { int a; float b; };
__global__ void pair(P p, int *o) { o[0] = p.a + (int)p.b; }
"""


def _outcome(fn):
    try:
        return fn()
    except Exception as e:      # noqa: BLE001 - the error itself is compared
        return type(e), str(e)


def test_a_kernels_packer_gives_pack_args_bytes_and_errors():
    """vgpu.runtime.params.Packer (a kernel's precompiled struct) against pack_args, for every type,
    range edges, inf and NaN, wrong kinds, wrong counts, other devices' arrays and struct parameters."""
    import vgpu
    from vgpu.runtime.params import Packer, pack_args
    mod = vgpu.compile(MIXED, filename="mixed.vk")
    with vgpu.Device(workers=0) as dev, vgpu.Device(workers=0) as other:
        oi, od = vgpu.zeros(3, np.int32, device=dev), vgpu.zeros(3, np.float64, device=dev)
        far = vgpu.zeros(3, np.int32, device=other)
        k = mod.get_function("mixed")
        packer = Packer("mixed", k.code.params)
        assert packer.struct is not None
        good = [np.int8(-7), 0.1, -300, -(1 << 40), np.float32(1.5), 4_000_000_000, oi, od]
        cases = [good, good[:-1], good + [1], [None] * 8]
        for i, edge in [(0, 127), (0, 128), (0, -129), (1, float("inf")), (1, float("nan")), (1, -0.0), (1, 1e308),
                        (4, 3.5e38), (4, float("-inf")), (4, float("nan")), (4, np.float64(1e-50)), (5, -1),
                        (5, (1 << 32) - 1), (3, 1 << 63), (3, -(1 << 63)), (6, 0), (6, None), (6, od), (6, far),
                        (6, np.zeros(3, np.int32)), (2, 2.5), (5, "7"), (7, oi)]:
            cases.append(good[:i] + [edge] + good[i + 1:])
        for args in cases:
            for allow in (False, True):
                want = _outcome(lambda: pack_args("mixed", k.code.params, args, dev, allow))
                assert _outcome(lambda: packer(args, dev, allow)) == want, (args, allow)
        kp = mod.get_function("pair")
        pp = Packer("pair", kp.code.params)
        assert pp.struct is None                       # a struct parameter: pack_args's own path
        args = [(3, 2.5), oi]
        assert pp(args, dev) == pack_args("pair", kp.code.params, args, dev)
