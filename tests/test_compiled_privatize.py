"""Privatized atomics (vgpu/sim/compiled/threads.py `Atomics`): once a launch showed that a kernel's
global atomics (one op, one type) all hit one small allocation, compiled launches do them in a copy
per thread (one thread too: no undo entries), folded into memory after each chunk.  The bytes, counters and faults are those of
one thread; an access other than those atomics to the allocation makes the launch fall back (and the
kernel is not privatized again); a chunk that bails out drops its copy."""
from __future__ import annotations

import numpy as np
import pytest

from sim_helpers import get, params, put
from vgpu.pipeline import compile_source
from vgpu.sim import DeviceError, SimDevice
from vgpu.sim.compiled import runtime as crt, threads

OPS = {"add": ("atomicAdd", np.add, 0), "max": ("atomicMax", np.maximum, 0),
       "min": ("atomicMin", np.minimum, 0xFFFFFFFF), "or": ("atomicOr", np.bitwise_or, 0),
       "and": ("atomicAnd", np.bitwise_and, 0xFFFFFFFF), "xor": ("atomicXor", np.bitwise_xor, 0)}


def source(fn: str, signed: bool = False) -> str:
    t = "int" if signed else "unsigned"
    return rf"""
__global__ void hist(const {t} *d, {t} *bins, {t} *probe, int *scratch, int n, int heavy, int bad) {{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    {fn}(&bins[(d[i] >> 3) & 15], d[i]);
    if (i == bad) {fn}(&bins[16 + (d[i] & 1)], d[i]);     // bins has 17 words: one lane misses the end
    if (blockIdx.x == heavy)                           // many stores: the undo log overflows, the chunk reruns
        for (int r = 0; r < 2100; r++) scratch[(i * 40 + r) % 4096] = r;
    if (i == n - 1 && probe != 0) scratch[0] = (int)probe[0];
}}
"""


@pytest.fixture(autouse=True)
def every_launch_on_threads(monkeypatch):
    """However short the launches here, they run on threads (the path under test)."""
    monkeypatch.setattr(threads, "MIN_SECONDS", 0.0)


def launch(dev, mod, d, heavy=-1, bad=-1, probe_in_bins=False, init=0, dtype=np.uint32):
    """A launch over d with the device's buffers (made on its first launch, as a program reuses them)."""
    if not hasattr(dev, "_bufs"):
        dev._bufs = put(dev, d), put(dev, np.zeros(17, dtype)), put(dev, np.zeros(4096, np.int32))
    pd, pb, ps = dev._bufs
    dev.write(pd, d)
    dev.write(pb, np.full(17, init, dtype))
    dev.write(ps, np.zeros(4096, np.int32))
    probe = pb + 64 if probe_in_bins else 0
    res = dev.launch(mod, "hist", params(mod, "hist", [pd, pb, probe, ps, d.size, heavy, bad]),
                     grid=d.size // 256, block=256)
    return get(dev, pb, dtype, 17), get(dev, ps, np.int32, 4096), res


def counts(res):
    return res.op_counts, {k: res.stats[k] for k in ("warp_instructions", "thread_instructions", "atomics",
                                                       "waves", "divergent_branches")}


def series(src, workers, launches, counters=False, executor="compiled", **kw):
    """Each launch's (bins, scratch, counters) on a fresh module of one device."""
    dev = SimDevice(echo_printf=False, workers=workers, executor=executor, counters=counters)
    try:
        mod = dev.load(compile_source(src, "priv.vk"))
        out = []
        for d in launches:
            b, s, r = launch(dev, mod, d, **kw)
            stats = {k: v for k, v in r.stats.items() if k != "steps"} if counters else None   # steps: the
            out.append((b.tolist(), s.tolist(), counts(r), stats))     # interpreter's scheduler, not the code's
        if executor == "compiled":
            pb = dev._bufs[1]
            atom = crt._last[0].ck.atomics
            assert atom.priv == (pb, pb + 68)              # bins: what the atomics hit
        return out
    finally:
        dev.close()


@pytest.mark.parametrize("op", sorted(OPS))
def test_privatized_atomics_give_the_one_thread_values(op):
    fn, ufunc, init = OPS[op]
    rng = np.random.default_rng(11)
    data = [rng.integers(0, 1 << 32, 256 * 96, dtype=np.uint64).astype(np.uint32) for _ in range(3)]
    src = source(fn)
    ref = series(src, 0, data, init=init, executor="interp")
    before = crt.COUNTS.get("privatized", 0)
    one = series(src, 0, data, init=init)
    two = series(src, 2, data, init=init)
    assert crt.COUNTS.get("privatized", 0) == before + 4      # launches 2 and 3 of each (the first finds the bins)
    assert ref == one == two
    for d, (bins, *_) in zip(data, one):
        want = [int(ufunc.reduce(d[((d >> 3) & 15) == k], initial=init)) & 0xFFFFFFFF for k in range(16)]
        assert bins[:16] == want


def test_signed_min_and_max_are_privatized_with_their_sign():
    rng = np.random.default_rng(12)
    data = [rng.integers(-(1 << 31), 1 << 31, 256 * 64).astype(np.int32) for _ in range(2)]
    for fn, init in (("atomicMin", 2 ** 31 - 1), ("atomicMax", -2 ** 31)):
        src = source(fn, signed=True)
        ref = series(src, 0, data, init=init, dtype=np.int32, executor="interp")
        one = series(src, 0, data, init=init, dtype=np.int32)
        two = series(src, 2, data, init=init, dtype=np.int32)
        assert ref == one == two
        pick = np.minimum if fn == "atomicMin" else np.maximum
        assert one[1][0][:16] == [int(pick.reduce(data[1][((data[1] >> 3) & 15) == k], initial=init))
                                  for k in range(16)]


def test_another_access_to_the_privatized_allocation_falls_back_for_good():
    """A load of bins (a word no atomic touches: race-free) in a privatized launch: the chunk bails out,
    the launch reruns (on one thread, or in place on one) with the same bytes, and the kernel is not
    privatized again."""
    rng = np.random.default_rng(13)
    data = [rng.integers(0, 1 << 20, 256 * 96).astype(np.uint32) for _ in range(4)]
    src = source("atomicAdd")
    ref = series(src, 0, data, probe_in_bins=True, init=7, executor="interp")
    before = crt.COUNTS.get("privatized", 0)
    one = series(src, 0, data, probe_in_bins=True, init=7)
    two = series(src, 2, data, probe_in_bins=True, init=7)
    assert crt.COUNTS.get("privatized", 0) == before + 2       # each device's second launch tried, no other
    assert ref == one == two and one[0][1][0] == 7             # probe[0] is bins[16], never updated


def test_a_chunk_that_bails_out_drops_its_private_copy(monkeypatch):
    """Block 70 overflows its chunk's undo log: that chunk's privatized adds are dropped with its stores
    undone, and it reruns on one thread; every update is counted once."""
    monkeypatch.setattr(crt, "LOG_PER_THREAD", 2)
    rng = np.random.default_rng(14)
    data = [rng.integers(0, 1 << 20, 256 * 160).astype(np.uint32) for _ in range(2)]
    src = source("atomicAdd")
    undone = crt.COUNTS.get("undone on threads", 0)
    one = series(src, 0, data, heavy=70)
    two = series(src, 2, data, heavy=70)
    assert crt.COUNTS.get("undone on threads", 0) > undone
    assert one == two
    want = np.bincount((data[1] >> 3) & 15, weights=data[1], minlength=16).astype(np.uint64) & 0xFFFFFFFF
    assert one[1][0][:16] == want.tolist()


def test_an_atomic_past_the_end_faults_as_on_one_thread():
    rng = np.random.default_rng(15)
    d = rng.integers(0, 1 << 20, 256 * 96).astype(np.uint32)
    d[5000] |= 1                                  # its second atomic goes to bins[17], past the 17 words
    errors = []
    for workers in (0, 2):
        dev = SimDevice(echo_printf=False, workers=workers, executor="compiled")
        try:
            mod = dev.load(compile_source(source("atomicAdd"), "priv.vk"))
            launch(dev, mod, d)                   # finds the allocation: the next launch is privatized
            with pytest.raises(DeviceError) as e:
                launch(dev, mod, d, bad=5000)
            errors.append(str(e.value))
        finally:
            dev.close()
    assert errors[0] == errors[1] and "out of bounds" in errors[0] and "atomic" in errors[0]


def test_a_new_allocation_in_place_of_the_privatized_one_is_found_again():
    """The bins are freed and bigger ones made (where the allocator puts them): the next launch does
    not privatize the old range, and the one after privatizes the new bins."""
    rng = np.random.default_rng(16)
    d = rng.integers(0, 1 << 20, 256 * 96).astype(np.uint32)
    dev = SimDevice(echo_printf=False, workers=2, executor="compiled")
    try:
        mod = dev.load(compile_source(source("atomicAdd"), "priv.vk"))
        launch(dev, mod, d)
        launch(dev, mod, d)                               # privatized
        pd, pb, ps = dev._bufs
        dev.free(pb)
        big = put(dev, np.zeros(64, np.uint32))
        dev._bufs = pd, big, ps
        atom = crt._last[0].ck.atomics
        before = crt.COUNTS.get("privatized", 0)
        first, _, _ = launch(dev, mod, d)
        assert crt.COUNTS.get("privatized", 0) == before and not atom.priv_failed
        assert atom.priv == (big, big + 256)                 # 64 words
        second, _, _ = launch(dev, mod, d)
        assert crt.COUNTS.get("privatized", 0) == before + 1
        want = np.bincount((d >> 3) & 15, weights=d, minlength=16).astype(np.uint64) & 0xFFFFFFFF
        assert first[:16].tolist() == second[:16].tolist() == want.tolist()
    finally:
        dev.close()


def test_memory_counters_of_privatized_atomics_are_one_thread_s():
    rng = np.random.default_rng(17)
    data = [rng.integers(0, 1 << 20, 256 * 96).astype(np.uint32) for _ in range(3)]
    ref = series(source("atomicAdd"), 0, data, counters=True, executor="interp")
    before = crt.COUNTS.get("privatized", 0)
    one = series(source("atomicAdd"), 0, data, counters=True)
    two = series(source("atomicAdd"), 2, data, counters=True)
    assert crt.COUNTS.get("privatized", 0) == before + 4
    assert ref == one == two and one[2][3]["global_atomic_requests"] > 0
