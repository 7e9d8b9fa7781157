"""Compiled launches on several threads (vgpu/sim/compiled/threads.py): the same bytes, counters and
faults as on one thread; global atomics are atomic there, and a bailed-out chunk's atomics are taken
back exactly even while other threads update the same counters."""
from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim_helpers import SPIN_VK, entry, get, params, put
from vgpu.isa import assemble
from vgpu.pipeline import compile_source
from vgpu.sim import DeviceError, SimDevice
from vgpu.sim.compiled import runtime as crt, threads

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
__global__ void hist(const unsigned *d, unsigned *bins, unsigned *x, unsigned *m, int n, int heavy) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int reps = blockIdx.x == heavy ? 2100 : 1;     // overflows the undo log: that chunk bails out, reruns
    for (int r = 0; r < reps; r++) {
        atomicAdd(&bins[d[i] & 15], 1u);
        atomicXor(&x[d[i] & 7], d[i]);
    }
    atomicMax(&m[0], d[i]);
    atomicMin(&m[1], d[i]);
    atomicOr(&m[2], d[i] & 0xF0F0u);
    atomicAnd(&m[3], d[i] | 0xFFFFFF0Fu);
}
"""


@pytest.fixture(autouse=True)
def every_launch_on_threads(monkeypatch):
    """However short the launches here, they run on threads (the path under test)."""
    monkeypatch.setattr(threads, "MIN_SECONDS", 0.0)


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


@pytest.fixture
def sixteen_cores(monkeypatch):
    """Devices may have 16 workers (16 threads of a compiled launch: pool.py) whatever the cores of
    this machine."""
    from vgpu.sim import device
    monkeypatch.setattr(device, "usable_cores", lambda: 16)


@pytest.mark.parametrize("workers", [2, 16])
def test_threads_give_the_bytes_and_counters_of_one_thread(program, workers, sixteen_cores):
    start = np.random.default_rng(3).integers(1, 50_000, 256 * 160).astype(np.uint32)
    before = crt.COUNTS.get("threads", 0)
    one, c1 = _run(program, 0, start, start.size - 1)
    two, c2 = _run(program, workers, start, start.size - 1)
    assert len(threads.LAST_CPU) == workers                    # that many threads ran chunks
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


def _hist(program, workers: int, d: np.ndarray, heavy: int):
    dev = SimDevice(echo_printf=False, workers=workers, executor="compiled")
    try:
        mod = dev.load(program)
        pd, pb, px = put(dev, d), put(dev, np.zeros(16, np.uint32)), put(dev, np.zeros(8, np.uint32))
        pm = put(dev, np.array([0, 0xFFFFFFFF, 0, 0xFFFFFFFF], np.uint32))
        res = dev.launch(mod, "hist", params(mod, "hist", [pd, pb, px, pm, d.size, heavy]), grid=d.size // 256,
                         block=256)
        return [get(dev, p, np.uint32, k).tolist() for p, k in ((pb, 16), (px, 8), (pm, 4))], res.op_counts
    finally:
        dev.close()


@pytest.mark.parametrize("heavy,workers", [(-1, 2), (70, 2), (70, 16)])
def test_global_atomics_on_threads_give_the_one_thread_values(program, heavy, workers, monkeypatch, sixteen_cores):
    """Integer atomics run on two threads at once: no update lost; with heavy=70 block 70 repeats its
    adds and xors 2,100 times, its chunk's undo log overflows, the chunk bails out while the other thread
    goes on updating the same counters, its adds and xors are taken back and it reruns."""
    d = np.random.default_rng(5).integers(0, 1 << 32, 256 * 160, dtype=np.uint64).astype(np.uint32)
    reps = np.where(np.arange(d.size) // 256 == heavy, 2100, 1)
    bins = np.bincount(d & 15, weights=reps, minlength=16).astype(np.uint32).tolist()
    x = [int(np.bitwise_xor.reduce(d[((d & 7) == k) & (reps % 2 == 1)], initial=0)) for k in range(8)]
    m = [int(d.max()), int(d.min()), int(np.bitwise_or.reduce(d & 0xF0F0)), int(np.bitwise_and.reduce(d | 0xFFFFFF0F))]
    monkeypatch.setattr(crt, "LOG_PER_THREAD", 2)      # an add and a xor per thread fit; block 70's do not
    monkeypatch.setattr(threads, "ATOMIC_SHARE_MAX", 1.0)  # dense atomics on threads all the same
    monkeypatch.setattr(crt, "_last", [])
    before, undone = crt.COUNTS.get("threads", 0), crt.COUNTS.get("undone on threads", 0)
    one, c1 = _hist(program, 0, d, heavy)
    two, c2 = _hist(program, workers, d, heavy)
    assert crt.COUNTS.get("threads", 0) == before + 1
    assert crt.COUNTS.get("undone on threads", 0) == undone + (heavy >= 0)
    assert one == two == [bins, x, m] and c1 == c2


def test_dense_global_atomics_stay_on_one_thread_and_rare_ones_do_not(program):
    """Dense atomics of several kinds (not privatized: test_compiled_privatize.py) contend on two
    threads (slower than one): their launches stay on one thread; a kernel whose atomics are rare (one
    per block) runs on threads from its second launch."""
    d = np.arange(256 * 96, dtype=np.uint32)
    before = crt.COUNTS.get("threads", 0)
    for _ in range(2):
        assert _hist(program, 2, d, -1)[0][0] == [d.size // 16] * 16
    assert crt.COUNTS.get("threads", 0) == before
    sparse = compile_source(r"""
__global__ void count(int *d, int *blocks, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = i < n ? d[i] : 0;
    for (int k = 0; k < 8; k++) v = v * 3 + k;
    if (i < n) d[i] = v;
    if (threadIdx.x == 0) atomicAdd(blocks, 1);
}""", "sparse.vk")
    dev = SimDevice(echo_printf=False, workers=2, executor="compiled")
    try:
        mod = dev.load(sparse)
        pd, pb = put(dev, np.arange(256 * 96, dtype=np.int32)), put(dev, np.zeros(1, np.int32))
        for _ in range(2):
            dev.launch(mod, "count", params(mod, "count", [pd, pb, 256 * 96]), grid=96, block=256)
        assert get(dev, pb, np.int32, 1).tolist() == [2 * 96]
        assert crt.COUNTS.get("threads", 0) == before + 1          # the second launch
    finally:
        dev.close()


def test_a_launch_too_short_to_gain_stays_on_one_thread(monkeypatch):
    """Once a launch showed the kernel's blocks take microseconds, a launch of two short waves is not
    split over threads (waking them costs more than it saves); a long one still is."""
    monkeypatch.setattr(threads, "MIN_SECONDS", 2e-3)     # short: ~20 us, long: ~40 ms (x20 margins)
    src = compile_source(r"""
__global__ void add1(int *d, int n, int reps) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = d[i];
    for (int r = 0; r < reps; r++) v = v * 3 + r;
    if (i < n) d[i] = v;
}""", "short.vk")
    dev = SimDevice(echo_printf=False, workers=2, executor="compiled", max_instructions=10 ** 9, max_steps=10 ** 9)
    try:
        mod = dev.load(src)
        pd = put(dev, np.zeros(256 * 64, np.int32))
        for _ in range(3):                  # the first (or a cold second) may still go on threads
            dev.launch(mod, "add1", params(mod, "add1", [pd, 256 * 64, 1]), grid=64, block=256)
        before = crt.COUNTS.get("threads", 0)
        for _ in range(3):
            dev.launch(mod, "add1", params(mod, "add1", [pd, 256 * 64, 1]), grid=64, block=256)
        assert crt.COUNTS.get("threads", 0) == before
        dev.launch(mod, "add1", params(mod, "add1", [pd, 256 * 64, 40_000]), grid=64, block=256)
        dev.launch(mod, "add1", params(mod, "add1", [pd, 256 * 64, 40_000]), grid=64, block=256)
        assert crt.COUNTS.get("threads", 0) == before + 1             # the long one after a long one
    finally:
        dev.close()


WAVE = r"""
__global__ void tile(const float *a, float *out, unsigned *where, int work) {
    __shared__ float t[256];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float v = a[i];
    for (int r = 0; r < work * (blockIdx.x + 1); r++) v = v * 0.999f + 0.5f;   // uneven blocks
    t[threadIdx.x] = v;
    __syncthreads();
    out[i] = t[255 - threadIdx.x];
}
"""
IDS = entry("ids", ".param .u64 where", """
    mov.u32 %r1, %ctaid.x;
    mov.u32 %r2, %ntid.x;
    mov.u32 %r3, %tid.x;
    mad.lo.u32 %r4, %r1, %r2, %r3;
    mov.u32 %r5, %smid;
    mov.u32 %r6, %warpid;
    mad.lo.u32 %r7, %r5, 1000, %r6;
    ld.param.u64 %rd1, [where];
    mul.wide.u32 %rd2, %r4, 4;
    add.u64 %rd1, %rd1, %rd2;
    st.global.u32 [%rd1], %r7;
""")


def _wave(workers: int, work: int, max_instructions=None, ids: bool = True):
    dev = SimDevice(echo_printf=False, workers=workers, executor="compiled", max_instructions=max_instructions)
    try:
        mod = dev.load(compile_source(WAVE, "wave.vk"))
        a = np.linspace(0, 1, 256 * 24, dtype=np.float32)
        pa, po, pw = put(dev, a), put(dev, np.zeros(a.size, np.float32)), put(dev, np.zeros(a.size, np.uint32))
        out = []
        for _ in range(2):                        # the second launch knows the blocks' cost
            try:
                r = dev.launch(mod, "tile", params(mod, "tile", [pa, po, pw, work]), grid=24, block=256)
                out.append((r.op_counts, {k: r.stats[k] for k in ("warp_instructions", "barriers", "waves")}))
            except DeviceError as e:
                out.append(str(e))
        if ids:
            mod = dev.load(assemble(IDS, "ids.vasm"))
            for _ in range(2):
                dev.launch(mod, "ids", params(mod, "ids", [pw]), grid=24, block=256)
        return get(dev, po, np.float32, a.size).tolist(), get(dev, pw, np.uint32, a.size).tolist(), out
    finally:
        dev.close()


def test_a_launch_of_one_wave_runs_in_parts_on_threads():
    """24 blocks, one wave (32 blocks of 256 threads on 4 SMs): split into runs of blocks on two threads,
    with the bytes, %smid/%warpid and counters of one thread, and one wave counted."""
    before = crt.COUNTS.get("threads", 0)
    one = _wave(0, 3)
    two = _wave(2, 3)
    assert crt.COUNTS.get("threads", 0) == before + 4           # tile and ids, twice each
    assert one == two and one[2][1][1]["waves"] == 1 and len(set(one[1])) > 8


def test_a_part_over_its_share_of_the_budget_reruns_and_the_watchdog_is_the_wave_s():
    """Block 23 does 24x block 0's work: its part passes its share of the wave's budget, and the wave
    is undone and rerun whole on one thread (the launch succeeds as on one thread); under a budget
    the whole wave passes, both stop with the same watchdog report."""
    total = _wave(0, 3, ids=False)[2][0][1]["warp_instructions"]
    before = crt.COUNTS.get("threads", 0)
    ok1, ok2 = _wave(0, 3, total + 50, ids=False), _wave(2, 3, total + 50, ids=False)
    assert crt.COUNTS.get("threads", 0) == before + 2
    assert ok1 == ok2 and isinstance(ok1[2][1], tuple) and ok1[2][1][1]["waves"] == 1
    bad1, bad2 = _wave(0, 3, total // 2, ids=False), _wave(2, 3, total // 2, ids=False)
    assert isinstance(bad1[2][1], str) and "watchdog" in bad1[2][1] and bad1 == bad2


def test_launches_from_two_threads_at_once_and_from_a_forked_child(program):
    """Two Python threads launching on two devices at once (one gets the pool's threads, the other
    runs its chunks itself) both get one thread's bytes; a child forked after threaded launches
    (which has none of the pool's threads) still runs threaded launches instead of waiting forever."""
    import os
    import threading
    start = np.random.default_rng(8).integers(1, 50_000, 256 * 160).astype(np.uint32)
    want, _ = _run(program, 0, start, start.size - 1)
    got = {}
    ts = [threading.Thread(target=lambda i=i: got.__setitem__(i, _run(program, 2, start, start.size - 1)[0]))
          for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert all(np.array_equal(got[i], want) for i in range(2))
    pid = os.fork()
    if pid == 0:                                    # the child: exit status 0 only with the right bytes
        try:
            os._exit(0 if np.array_equal(_run(program, 2, start, start.size - 1)[0], want) else 1)
        except BaseException:                       # noqa: BLE001
            os._exit(2)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise AssertionError("the forked child hung")
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_many_thread_model_replays_plans_as_the_pool_runs_them(monkeypatch):
    """benchmarks/threads_model.py: spinning threads start at once; sleeping ones as the pool's wake
    tree reaches them (the caller wakes thread 1, thread t wakes 2t and 2t + 1); chunks are taken in
    order by the first free thread."""
    import importlib.util
    import sys
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "threads_model.py"
    spec = importlib.util.spec_from_file_location("_threads_model", path)
    model = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(model)
    finally:
        sys.path.remove(str(path.parent))
    monkeypatch.setattr(model, "WAKE_US", 10.0)
    monkeypatch.setattr(model, "LATENCY_US", 10.0)
    # the caller wakes thread 1 (its own work at 10); thread 1 is awake at 20 and wakes 2 and 3 (its
    # work at 40); thread 2 is awake at 40 and wakes 4 (its work at 50); 3 is awake at 50, 4 at 60
    assert model.starts(5) == [10.0, 40.0, 50.0, 50.0, 60.0]
    monkeypatch.setattr(model, "SPIN_US", 1.0)
    assert model.starts(3, asleep=None) == [0.0, 1.0, 1.0]
    monkeypatch.setattr(model, "FUTEX_US", 1.0)            # one wake of all: the caller works after it
    assert model.starts(4, asleep="futex") == [3.0, 11.0, 12.0, 13.0]
    monkeypatch.setattr(model, "WAKE_US", 0.0)
    monkeypatch.setattr(model, "LATENCY_US", 0.0)
    monkeypatch.setattr(model, "CHUNK_US", 0.0)
    times = np.full(64, 1e-3)
    span, share = model.replay(times, [(s, s + 8) for s in range(0, 64, 8)], 4)
    assert span == pytest.approx(16e-3) and share == pytest.approx(1.0)       # 8 chunks, 2 per thread
    span, share = model.replay(times, [(0, 40), (40, 48), (48, 56), (56, 64)], 4)
    assert span == pytest.approx(40e-3) and share == pytest.approx(0.4)       # one chunk holds them up


@settings(max_examples=300, deadline=None)
@given(nblocks=st.integers(1, 5000), per_sm=st.integers(1, 8), sms=st.integers(1, 16), nthreads=st.integers(2, 16),
       per_chunk=st.integers(1, 40), block_us=st.floats(0.01, 500), split=st.booleans(),
       budget=st.sampled_from([0, 1, 999, 20_000_000, (1 << 62) + 12345]))
def test_a_plan_covers_the_launch_and_its_rows_share_out_each_wave(nblocks, per_sm, sms, nthreads, per_chunk,
                                                                    block_us, split, budget):
    """threads.plan and the chunk rows (chunks.ROW) the chunk loop reads: the chunks cover blocks 0 ..
    nblocks - 1 in order; whole-wave chunks hold at most per_chunk waves and keep the wave's budget and
    period; a split launch's parts lie inside one wave each, share its budget in proportion
    (floor(budget * blocks / wave), exact for budgets past 2^62) and count the wave once."""
    wave = per_sm * sms
    chunks, was_split = threads.plan(nblocks, wave, nthreads, per_chunk, block_us * 1e-6, split)
    flat = [b for s, e in chunks for b in range(s, e)]
    assert flat == list(range(nblocks)) and all(e > s for s, e in chunks)
    assert not was_split or split
    rows, _ = threads._rows(chunks, wave, budget, was_split)
    assert rows.shape == (len(chunks), 5)
    assert rows[:, 4].sum() == -(-nblocks // wave)                    # every wave counted once
    for (s, e), (first, n, period, share, waves) in zip(chunks, rows.tolist()):
        assert (first, n) == (s, e - s)
        assert waves == len([w for w in range(0, nblocks, wave) if s <= w < e])
        if was_split:
            assert s // wave == (e - 1) // wave                        # inside one wave
            assert (period, share) == (n, budget * n // wave)
        else:
            assert (period, share) == (wave, budget) and -(-n // wave) <= per_chunk


@pytest.mark.parametrize("workers", [0, 2])
def test_a_long_compiled_launch_reports_progress(workers):
    """A compiled launch of about a second (one thread or two) reports its blocks done while it runs,
    increasing, at most a few times a second, and every block at the end."""
    src = compile_source(SPIN_VK, "progress.vk")
    dev = SimDevice(echo_printf=False, workers=workers, executor="compiled", max_instructions=10 ** 12,
                    max_steps=10 ** 12)
    try:
        mod = dev.load(src)
        out = dev.malloc(4 * 256 * 2048)
        dev.launch(mod, "spin", params(mod, "spin", [out, 10]), grid=2048, block=256)
        calls = []
        t0 = time.monotonic()                   # 2^19 threads: two chunks of 2^18 on one thread
        res = dev.launch(mod, "spin", params(mod, "spin", [out, 60_000]), grid=2048, block=256,
                         progress=lambda done, total: calls.append((done, total)))
        elapsed = time.monotonic() - t0
    finally:
        dev.close()
    assert res.ran_on.startswith(f"compiled executor, {max(workers, 1)} thread")
    assert calls[-1] == (2048, 2048) and all(total == 2048 for _, total in calls)
    done = [d for d, _ in calls]
    assert done == sorted(set(done)) and len(done) <= 4 * elapsed + 2
    assert elapsed < 0.6 or len(done) >= 2    # something before the end (~0.9 s on 2 threads, ~1.8 on one here)
