"""The threads of compiled launches (vgpu/sim/compiled/pool.py): launches soon after each other find
them spinning, later ones wake them from their sleep (each sleep woken once), threads that come late
to a launch wait for the next one, and quitting brings every spinning thread out of native code."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from sim_helpers import SPIN_VK, get, params, put
from vgpu.pipeline import compile_source
from vgpu.sim import SimDevice
from vgpu.sim.compiled import pool as pool_mod, runtime as crt, threads

SRC = r"""
__global__ void mix(const unsigned *a, unsigned *out, int n, int reps) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned x = a[i];
    int k = reps + (int)(x & 7);
    for (int r = 0; r < k; r++) x = x * 1664525u + 1013904223u;
    out[i] = x;
}
"""


def _want(a: np.ndarray, reps: int) -> np.ndarray:
    x = a.astype(np.uint64)
    out = x.copy()
    for i in range(a.size):                     # what the kernel computes, lane by lane
        v = int(x[i])
        for _ in range(reps + (v & 7)):
            v = (v * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = v
    return out.astype(np.uint32)


@pytest.fixture(params=["futex", "locks"])
def fresh_pool(request, monkeypatch):
    """A pool of its own (its threads quit at the end), asleep in the kernel (futex, on Linux) or on
    Python locks (elsewhere), on every launch on threads whatever its length."""
    if request.param == "futex" and not pool_mod.futex()[0]:
        pytest.skip("no futex on this system (the lock sleep is the one used)")
    p = pool_mod.Pool(use_futex=request.param == "futex")
    monkeypatch.setattr(threads, "pool", lambda: p)
    monkeypatch.setattr(threads, "MIN_SECONDS", 0.0)
    yield p
    p.quit()


def _wakes(p) -> int:
    """Wakes so far: a Python lock released per sleeping thread, or a futex wake per launch."""
    return p.wakes + int(p.words[pool_mod.P_WAKES])


def _launches(workers: int, gaps, reps: int = 40):
    """Launch `mix` once per gap (sleeping that long first) on a device with `workers`; each result."""
    a = np.random.default_rng(11).integers(0, 1 << 32, 256 * 64, dtype=np.uint64).astype(np.uint32)
    dev = SimDevice(echo_printf=False, workers=workers, executor="compiled")
    try:
        mod = dev.load(compile_source(SRC, "pool.vk"))
        pa, po = put(dev, a), put(dev, np.zeros(a.size, np.uint32))
        outs = []
        for gap in gaps:
            time.sleep(gap)
            dev.launch(mod, "mix", params(mod, "mix", [pa, po, a.size, reps]), grid=64, block=256)
            outs.append(get(dev, po, np.uint32, a.size))
        return a, outs
    finally:
        dev.close()


def test_launches_find_the_threads_spinning_or_wake_them(fresh_pool, monkeypatch):
    """Back to back, the threads are still spinning: no wake (maybe one after the first launch).
    With gaps of 20 ms between launches, every launch finds its thread asleep and wakes it once;
    every launch gives the same bytes."""
    before = crt.COUNTS.get("threads", 0)
    a, outs = _launches(2, [0.0] * 4)
    want = _want(a[:512], 40)
    assert crt.COUNTS.get("threads", 0) >= before + 3
    assert all(np.array_equal(o[:512], want) for o in outs) and all(np.array_equal(o, outs[0]) for o in outs)
    assert _wakes(fresh_pool) <= 1                       # spinning, not woken (but after the first launch's
    wakes = _wakes(fresh_pool)                           # one-time work, maybe)
    time.sleep(0.05)                                     # the ~1 ms spin runs out: asleep
    _, outs2 = _launches(2, [0.02] * 5)
    assert all(np.array_equal(o, outs[0]) for o in outs2)
    deadline = time.monotonic() + 5
    while _wakes(fresh_pool) < wakes + 5 and time.monotonic() < deadline:
        time.sleep(0.01)                                 # (a thread woken from a lock counts once it has the GIL)
    assert _wakes(fresh_pool) == wakes + 5               # each launch woke thread 1, once
    assert fresh_pool.words[pool_mod.P_THREADS + 8 * 1] in (pool_mod.SLEEP, pool_mod.SPIN)


def test_sixteen_threads_asleep_are_woken(fresh_pool, monkeypatch):
    """16 workers on two cores (14 past the cores: they never spin), asleep before each launch: a
    futex wake wakes them all at once, or the launch wakes the first lock and each woken thread two
    more (a tree); all launches give one thread's bytes, no thread stays asleep in the kernel for
    good, and no state stays WOKEN (each lock wake was taken)."""
    from vgpu.sim import device
    monkeypatch.setattr(device, "usable_cores", lambda: 16)
    _, one = _launches(0, [0.0])
    _, outs = _launches(16, [0.03] * 4)
    assert all(np.array_equal(o, one[0]) for o in outs)
    assert _wakes(fresh_pool) >= (4 if fresh_pool.words[pool_mod.P_FUTEX] else 15)
    deadline = time.monotonic() + 5
    states = lambda: [int(fresh_pool.words[pool_mod.P_THREADS + 8 * t]) for t in range(1, 16)]   # noqa: E731
    while pool_mod.WOKEN in states() and time.monotonic() < deadline:
        time.sleep(0.01)                                 # a late thread is still taking its wake
    assert pool_mod.WOKEN not in states()


def test_quit_brings_the_threads_out_of_native_code(fresh_pool):
    """Threads asleep in the kernel (futex), or spinning (a pool whose sleep is on Python locks,
    where a sleeping thread is not in native code), leave native code and end."""
    asleep = bool(fresh_pool.words[pool_mod.P_FUTEX])
    _launches(2, [0.0, 0.0])
    if asleep:
        time.sleep(0.05)
        assert fresh_pool.words[pool_mod.P_SLEEPERS] == 1
    assert fresh_pool.threads[1].is_alive()
    fresh_pool.quit()
    assert fresh_pool.words[pool_mod.P_INSIDE] == 0
    fresh_pool.threads[1].join(timeout=5)
    assert not fresh_pool.threads[1].is_alive()


def test_a_busy_pool_leaves_a_launch_to_its_own_thread(fresh_pool):
    """While one launch holds the pool, run() refuses another (the caller then runs its chunks alone)."""
    assert fresh_pool.busy.acquire(blocking=False)
    try:
        assert fresh_pool.run(0, 0, 2, lambda: None) is False
    finally:
        fresh_pool.busy.release()
    before = crt.COUNTS.get("threads", 0)
    got = {}
    ts = [threading.Thread(target=lambda i=i: got.__setitem__(i, _launches(2, [0.0])[1][0])) for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert crt.COUNTS.get("threads", 0) == before + 3
    assert all(np.array_equal(got[i], got[0]) for i in range(3))


CTRL_C = r'''
import sys, time
import numpy as np
from vgpu.pipeline import compile_source
from vgpu.sim import SimDevice
from vgpu.sim.compiled import threads
from vgpu.sim.launch import encode_params
threads.MIN_SECONDS = 0.0
src = compile_source(SPIN_VK, "spin.vk")
dev = SimDevice(echo_printf=False, workers=2, executor="compiled", max_instructions=10**12, max_steps=10**12)
mod = dev.load(src)
out = dev.malloc(4 * 256 * 512)
args = lambda reps: encode_params("spin", mod.kernel("spin").code.params, [out, reps])
dev.launch(mod, "spin", args(10), grid=512, block=256)
print("started", flush=True)
t0 = time.monotonic()
try:
    dev.launch(mod, "spin", args(4_000_000), grid=512, block=256)     # minutes of work
    print("finished", flush=True)
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - t0:.1f} s", flush=True)
    dev.launch(mod, "spin", args(1000), grid=512, block=256)        # the pool still works
    got = np.frombuffer(dev.read(out, 4 * 256 * 512), np.uint32)
    x = np.arange(256 * 512, dtype=np.uint32)
    for _ in range(1000):
        x = x * np.uint32(1664525) + np.uint32(1013904223)
    print("then right" if np.array_equal(got, x) else "then WRONG", flush=True)
    dev.close()
    sys.exit(3)
'''


def test_ctrl_c_stops_a_long_threaded_launch(tmp_path):
    """SIGINT during a launch of minutes on two threads: KeyboardInterrupt comes between the launching
    thread's chunks (the others stop taking chunks and are waited for); the next launch on threads
    gives the right bytes."""
    import signal
    import subprocess
    import sys
    script = tmp_path / "ctrl_c.py"
    script.write_text(f"SPIN_VK = {SPIN_VK!r}\n" + CTRL_C)
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "started"
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 3, err
    assert out.startswith("interrupted after ") and out.endswith("then right\n"), out
