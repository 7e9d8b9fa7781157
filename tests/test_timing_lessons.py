"""The timing lessons of examples/lessons/: each pair of kernels computes the same result (checked),
and the timing model (h200 preset) puts them in the order, and at roughly the distance, that the
H200's figures lead one to expect.  `python tests/test_timing_lessons.py [PRESET]` prints the table."""
import sys
from pathlib import Path

import numpy as np
import pytest

import vgpu

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "examples" / "lessons"
_modules: dict = {}


def kernel(file: str, name: str):
    if file not in _modules:
        _modules[file] = vgpu.compile((LESSONS / file).read_text(), str(LESSONS / file))
    return _modules[file].get_function(name)


def device(preset):
    return vgpu.Device(workers=0, num_sms=16, timing=preset)


def coalescing(preset):
    dev = device(preset)
    n, stride = 1 << 18, 32
    x = np.arange(n * stride, dtype=np.float32)
    a, b = vgpu.to_device(x, device=dev), vgpu.zeros(n, np.float32, device=dev)
    t1 = kernel("coalescing.vk", "copy_coalesced")(a, b, n, grid=n // 256, block=256, device=dev).timing
    np.testing.assert_array_equal(b.copy_to_host(), x[:n])
    t2 = kernel("coalescing.vk", "copy_strided")(a, b, n, stride, grid=n // 256, block=256, device=dev).timing
    np.testing.assert_array_equal(b.copy_to_host(), x[::stride])
    return t2, t1


def bank_conflicts(preset):
    dev = device(preset)
    x = np.arange(1024, dtype=np.float32)
    a, outs = vgpu.to_device(x, device=dev), []
    times = []
    for name in ("transpose_conflicts", "transpose_padded"):
        o = vgpu.zeros(1024, np.float32, device=dev)
        times.append(kernel("bank_conflicts.vk", name)(a, o, 32, grid=132, block=(32, 32), device=dev).timing)
        outs.append(o.copy_to_host())
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0].reshape(32, 32), np.tile(32 * x.reshape(32, 32).mean(1), (32, 1)))
    return times


def reduction(preset):
    dev = device(preset)
    n = 256 * 132 * 8
    x = np.random.default_rng(0).integers(0, 8, n).astype(np.float32)
    a = vgpu.to_device(x, device=dev)
    times = []
    for name in ("reduce_interleaved", "reduce_sequential", "reduce_shuffle"):
        o = vgpu.zeros(n // 256, np.float32, device=dev)
        times.append(kernel("reduction.vk", name)(a, o, grid=n // 256, block=256, device=dev).timing)
        np.testing.assert_array_equal(o.copy_to_host(), x.reshape(-1, 256).sum(1))
    return times


def matmul(preset):
    dev = device(preset)
    n = 128
    rng = np.random.default_rng(0)
    A, B = rng.integers(0, 4, (n, n)).astype(np.float32), rng.integers(0, 4, (n, n)).astype(np.float32)
    a, b = vgpu.to_device(A, device=dev), vgpu.to_device(B, device=dev)
    times = []
    for name in ("matmul_naive", "matmul_tiled"):
        c = vgpu.zeros((n, n), np.float32, device=dev)
        times.append(kernel("matmul.vk", name)(a, b, c, n, grid=(n // 16, n // 16), block=(16, 16), device=dev).timing)
        np.testing.assert_array_equal(c.copy_to_host(), A @ B)
    return times


def histogram(preset):
    dev = device(preset)
    n = 1 << 17
    data = np.random.default_rng(0).integers(0, 1 << 20, n).astype(np.uint32)
    d = vgpu.to_device(data, device=dev)
    times = []
    for name in ("hist_global", "hist_shared"):
        h = vgpu.zeros(16, np.uint32, device=dev)
        times.append(kernel("histogram.vk", name)(d, h, n, grid=132, block=256, device=dev).timing)
        np.testing.assert_array_equal(h.copy_to_host(), np.bincount(data % 16, minlength=16))
    return times


def occupancy(preset):
    dev = device(preset)
    n = 132 * 32 * 64
    perm = np.random.default_rng(0).permutation(n).astype(np.int32)
    nxt = vgpu.to_device(perm, device=dev)
    out = vgpu.zeros(n, np.int32, device=dev)
    want = np.arange(n)
    for _ in range(8):
        want = perm[want]
    times = []
    for shared in (48 * 1024, 0):            # 4 blocks of 2 warps per SM (shared memory), then 32 blocks
        times.append(kernel("occupancy.vk", "chase")(nxt, out, 8, grid=n // 64, block=64, shared=shared,
                                                      device=dev).timing)
        np.testing.assert_array_equal(out.copy_to_host(), want)
    return times


# lesson -> (runner, what the H200's figures lead one to expect, the smallest speedup asserted)
LESSONS_TABLE = {
    "coalesced vs strided (stride 32)": (coalescing, "~4.5x: reads move 8 MB instead of 1 MB (32 sectors per request instead of 4), writes 1 MB both", 2.0),
    "padded vs conflicting shared tile": (bank_conflicts, "large: 32 wavefronts per column read instead of 1", 4.0),
    "sequential vs interleaved reduction": (lambda p: reduction(p)[:2], "~1.5-2x: whole warps retire, no modulo, no conflicts", 1.2),
    "shuffle vs sequential reduction": (lambda p: reduction(p)[1:], "~1.2-2x: 1 barrier instead of 9, no shared-memory round trips", 1.05),
    "tiled vs naive matmul": (matmul, "~1.5-3x at n=128: 16x fewer global loads, but the naive loads mostly hit L1", 1.3),
    "shared vs global atomics histogram": (histogram, "large: 16 addresses at 0.69 atomics/cycle vs per-SM shared atomics", 3.0),
    "high vs low occupancy (latency-bound)": (occupancy, "up to 8x (64 resident warps per SM overlap their load latency instead of 8), capped near 3x by L2 bandwidth for random 32-byte sectors", 2.0),
}


@pytest.mark.parametrize("lesson", list(LESSONS_TABLE))
def test_lesson(lesson):
    run, expect, least = LESSONS_TABLE[lesson]
    slow, fast = run("h200")
    speedup = slow.cycles / fast.cycles
    assert speedup >= least, f"{lesson}: modelled speedup {speedup:.2f}x, expected {expect}"
    assert speedup < 100, f"{lesson}: modelled speedup {speedup:.2f}x is implausibly large"


def test_lesson_reasons():
    """The stall reasons name the cause: bank conflicts are short scoreboard / MIO, strided loads long scoreboard."""
    slow, fast = bank_conflicts("h200")
    top = max(slow.stalls, key=slow.stalls.get)
    assert top in ("short_scoreboard", "mio_throttle"), slow.format()
    strided, coalesced = coalescing("h200")
    assert strided.hbm_bytes > 4 * coalesced.hbm_bytes
    low, high = occupancy("h200")
    assert low.occupancy_theoretical == 8 / 64 and high.occupancy_theoretical == 1.0
    assert low.occupancy_achieved < high.occupancy_achieved


if __name__ == "__main__":
    preset = sys.argv[1] if len(sys.argv) > 1 else "h200"
    print(f"| lesson | modelled speedup ({preset}) | slow (us) | fast (us) | expected from the H200 figures |")
    print("| --- | --- | --- | --- | --- |")
    for lesson, (run, expect, _) in LESSONS_TABLE.items():
        slow, fast = run(preset)
        print(f"| {lesson} | {slow.cycles / fast.cycles:.2f}x | {slow.seconds * 1e6:.2f} | {fast.seconds * 1e6:.2f} "
              f"| {expect} |", flush=True)
