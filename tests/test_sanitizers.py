"""Sanitizers (docs/sanitizers.md): one planted bug per kind names the right line and threads; the
fixed kernels and every example report nothing; reports are deduplicated with a count; the CLI
prints them and exits 3; the random schedule exposes an order-dependent bug, seeded."""
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

import vgpu
from vgpu.cli import main
from vgpu.sim import CHECKS, parse_checks

ROOT = Path(__file__).resolve().parents[1]

SRC = r"""
__global__ void oob(float *a, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    a[i] = 1.0f;
}
__global__ void misaligned(int *p) {
    int *q = (int *)((char *)p + 2);
    q[threadIdx.x] = 1;
}
__global__ void shared_oob(int *out) {
    __shared__ int s[32];
    s[threadIdx.x + 1] = 1;
    out[threadIdx.x] = 0;
}
__global__ void raw(int *out, int sync) {
    __shared__ int s[64];
    int t = threadIdx.x;
    s[t] = t;
    if (sync) __syncthreads();
    out[t] = s[(t + 1) % 64];
}
__global__ void war(int *out) {
    __shared__ int s[64];
    int t = threadIdx.x;
    s[t] = t;
    __syncthreads();
    int v = s[(t + 1) % 64];
    s[t] = v;
    out[t] = v;
}
__global__ void waw(int *out) {
    __shared__ int s[4];
    int t = threadIdx.x;
    if (t == 3) s[0] = 1;
    if (t == 40) s[0] = 2;
    __syncthreads();
    out[t] = s[0];
}
__global__ void warp_sync(int *out, int sync) {
    __shared__ int s[32];
    int t = threadIdx.x;
    s[t] = t;
    if (sync) __syncwarp();
    out[t] = s[t ^ 1];
}
__global__ void global_race(int *x, int *out) {
    if (blockIdx.x == 1) x[5] = 7;
    __syncthreads();
    if (blockIdx.x == 0) out[0] = x[5];
}
__global__ void atomics(int *x) {
    atomicAdd(&x[0], 1);
    x[1 + blockIdx.x * blockDim.x + threadIdx.x] = 1;
}
__global__ void divergent_barrier(int *out) {
    int t = threadIdx.x;
    if (t < 16) {
        out[t] = 1;
        __syncthreads();
    } else {
        __syncthreads();
    }
}
__global__ void bad_mask(int *out) {
    __syncwarp(1);
    out[threadIdx.x] = 1;
}
__global__ void copy(const int *a, int *b, int n) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n) b[t] = a[t];
}
__global__ void partial_barrier(int *out, int n) {
    int t = threadIdx.x;
    if (t >= n) return;                                   // the usual early exit: no report
    if (t < 16) __syncthreads();                          // part of warp 0; the rest exit
    out[t] = t + 1;
}
__global__ void shared_uninit(int *out, int write) {
    __shared__ int s[32];
    int t = threadIdx.x;
    if (write || t < 8) s[t] = t;
    __syncthreads();
    out[t] = s[t];
}
"""


def line_of(fragment: str, nth: int = 0) -> int:
    """The .vk line number of the nth line of SRC containing `fragment`."""
    return [n for n, text in enumerate(SRC.splitlines(), 1) if fragment in text][nth]


@pytest.fixture(scope="module")
def mod():
    return vgpu.compile(SRC, "planted.vk")


def dev(check="all", **kw):
    return vgpu.Device(check=check, workers=0, **kw)


def launch(mod, name, *args, grid=1, block=32, device=None, check=None):
    device = device or dev()
    k = mod.get_function(name)
    try:
        return k(*args, grid=grid, block=block, device=device, check=check).reports, None
    except vgpu.DeviceError as e:
        return e.reports, e


def one(reports, tool):
    got = [r for r in reports if r.tool == tool]
    assert len(got) == 1, [r.format() for r in reports]
    return got[0]


# -- memcheck ---------------------------------------------------------------------------------------
def test_memcheck_reports_every_out_of_bounds_thread_once_with_the_allocation_and_aborts(mod):
    d = dev()
    a = vgpu.empty(40, np.float32, device=d)
    reports, err = launch(mod, "oob", a, 40, grid=2, device=d)
    assert isinstance(err, vgpu.sim.OutOfBounds)                  # the kernel still ends with the fault
    r = one(reports, "memcheck")
    assert r.line == line_of("a[i] = 1.0f")
    assert r.count == 24                                          # threads 40..63 of the grid
    assert (r.access.block, r.access.thread) == ((1, 0, 0), (8, 0, 0))
    assert r.address == a.address + 160 and r.size == 4 and r.space == "global"
    assert "past the end of a 160-byte allocation" in r.note
    assert "invalid __global__ write of 4 bytes (out of bounds)" in r.format()


def test_memcheck_misaligned_shared_and_use_after_free(mod):
    d = dev("memcheck")
    p = vgpu.zeros(64, np.int32, device=d)
    r = one(launch(mod, "misaligned", p, device=d)[0], "memcheck")
    assert "misaligned" in r.kind and r.count == 32 and r.address == p.address + 2
    r = one(launch(mod, "shared_oob", p, device=d)[0], "memcheck")
    assert r.kind.startswith("invalid __shared__ write") and r.count == 1 and r.access.thread == (31, 0, 0)
    assert r.line == line_of("s[threadIdx.x + 1] = 1")
    q = vgpu.zeros(64, np.int32, device=d)
    q.free()
    r = one(launch(mod, "misaligned", q, device=d)[0], "memcheck")   # misaligned wins, as the fault does
    assert "misaligned" in r.kind
    reports, err = launch(mod, "atomics", q, device=d)
    assert isinstance(err, vgpu.sim.UseAfterFree)
    assert one(reports, "memcheck").kind.endswith("(use after free)")


# -- racecheck --------------------------------------------------------------------------------------
def test_racecheck_read_after_write_names_both_threads_and_lines(mod):
    out = vgpu.zeros(64, np.int32, device=(d := dev("racecheck")))
    r = one(launch(mod, "raw", out, 0, block=64, device=d)[0], "racecheck")
    assert r.kind == "read-after-write hazard on __shared__ memory"
    assert r.line == line_of("out[t] = s[(t + 1) % 64]")
    assert r.other.line == line_of("s[t] = t;")
    assert r.access.thread == (0, 0, 0) and r.other.thread == (1, 0, 0)
    assert r.access.block == r.other.block == (0, 0, 0)
    assert r.count == 64 and r.size == 4
    assert launch(mod, "raw", out, 1, block=64, device=d)[0] == []
    assert np.array_equal(out.copy_to_host(), np.roll(np.arange(64), -1))   # checking changes no result


def test_racecheck_write_after_read_and_write_after_write(mod):
    d = dev("racecheck")
    out = vgpu.zeros(64, np.int32, device=d)
    r = one(launch(mod, "war", out, block=64, device=d)[0], "racecheck")
    assert r.kind == "write-after-read hazard on __shared__ memory"
    assert (r.line, r.other.line) == (line_of("s[t] = v;"), line_of("int v = s[(t + 1) % 64]"))
    assert r.other.thread == ((r.access.thread[0] - 1) % 64, 0, 0)
    r = one(launch(mod, "waw", out, block=64, device=d)[0], "racecheck")
    assert r.kind == "write-after-write hazard on __shared__ memory"
    assert {r.line, r.other.line} == {line_of("if (t == 3) s[0] = 1"), line_of("if (t == 40) s[0] = 2")}
    assert {r.access.thread, r.other.thread} == {(3, 0, 0), (40, 0, 0)}


def test_racecheck_within_a_warp_needs_syncwarp(mod):
    d = dev("racecheck")
    out = vgpu.zeros(32, np.int32, device=d)
    r = one(launch(mod, "warp_sync", out, 0, device=d)[0], "racecheck")
    assert r.kind.startswith("read-after-write") and r.count == 32
    assert launch(mod, "warp_sync", out, 1, device=d)[0] == []


def test_racecheck_global_memory_across_blocks_but_not_atomics(mod):
    d = dev("racecheck")
    x, out = vgpu.zeros(8, np.int32, device=d), vgpu.zeros(1, np.int32, device=d)
    r = one(launch(mod, "global_race", x, out, grid=2, block=1, device=d)[0], "racecheck")
    assert r.space == "global" and r.address == x.address + 20
    assert {r.line, r.other.line} == {line_of("x[5] = 7"), line_of("out[0] = x[5]")}
    assert {r.access.block, r.other.block} == {(0, 0, 0), (1, 0, 0)}
    assert "different blocks" in r.note
    x = vgpu.zeros(1 + 4 * 64, np.int32, device=d)
    assert launch(mod, "atomics", x, grid=4, block=64, device=d)[0] == []


# -- synccheck --------------------------------------------------------------------------------------
def test_synccheck_divergent_barrier_and_invalid_syncwarp_mask(mod):
    d = dev("synccheck")
    out = vgpu.zeros(32, np.int32, device=d)
    r = one(launch(mod, "divergent_barrier", out, device=d)[0], "synccheck")
    assert r.kind == "divergent barrier" and "one warp" in r.note
    assert {(r.line, r.access.thread), (r.other.line, r.other.thread)} == {
        (line_of("        __syncthreads();", 0), (0, 0, 0)), (line_of("        __syncthreads();", 1), (16, 0, 0))}
    reports, err = launch(mod, "bad_mask", out, device=d)
    assert isinstance(err, vgpu.sim.WarpSyncError)
    r = one(reports, "synccheck")
    assert r.line == line_of("__syncwarp(1)") and "not in the member mask" in r.note


def test_synccheck_barrier_reached_by_part_of_a_warp_whose_rest_exits(mod):
    """if (threadIdx.x < 16) __syncthreads(); in a block of 64: the H200 completes the kernel and
    compute-sanitizer reports "Barrier error detected. Divergent thread(s) in warp" at that line."""
    d = dev("synccheck")
    out = vgpu.zeros(64, np.int32, device=d)
    reports, err = launch(mod, "partial_barrier", out, 64, block=64, device=d)
    assert err is None and np.array_equal(out.copy_to_host(), np.arange(1, 65))
    r = one(reports, "synccheck")
    assert r.kind == "Barrier error detected. Divergent thread(s) in warp"
    assert r.line == line_of("if (t < 16) __syncthreads();") and r.access.thread == (0, 0, 0)
    assert r.other.thread == (16, 0, 0) and "0x0000ffff" in r.note and "0xffff0000" in r.note
    assert launch(mod, "partial_barrier", out, 12, block=64, device=d)[0] == []    # 0..11 all reach it


# -- initcheck --------------------------------------------------------------------------------------
def test_initcheck_global_memory_from_empty(mod):
    d = dev("initcheck")
    a, b = vgpu.empty(64, np.int32, device=d), vgpu.empty(64, np.int32, device=d)
    r = one(launch(mod, "copy", a, b, 64, grid=2, device=d)[0], "initcheck")
    assert r.kind == "uninitialized __global__ memory read of 4 bytes" and r.count == 64
    assert r.line == line_of("b[t] = a[t]") and r.address == a.address
    assert launch(mod, "copy", b, a, 64, grid=2, device=d)[0] == []          # b was written by the kernel
    c = vgpu.empty(64, np.int32, device=d)
    c.copy_from_host(np.arange(64, dtype=np.int32))
    assert launch(mod, "copy", c, a, 64, grid=2, device=d)[0] == []          # written by the host
    e = vgpu.empty(64, np.int32, device=d)
    d.sim.write(e.address, np.zeros(10, np.int32))                          # the first 10 only
    r = one(launch(mod, "copy", e, a, 64, grid=2, device=d)[0], "initcheck")
    assert r.count == 54 and r.access.thread == (10, 0, 0)


def test_initcheck_shared_memory_of_this_block(mod):
    d = dev("initcheck")
    out = vgpu.zeros(32, np.int32, device=d)
    r = one(launch(mod, "shared_uninit", out, 0, grid=3, device=d)[0], "initcheck")
    assert r.kind.startswith("uninitialized __shared__") and r.count == 3 * 24
    assert r.access.thread == (8, 0, 0)
    assert launch(mod, "shared_uninit", out, 1, grid=3, device=d)[0] == []


def test_a_launch_keyword_checks_one_launch_and_unchecked_launches_count_as_writes(mod):
    d = vgpu.Device(workers=0)
    a, b = vgpu.empty(32, np.int32, device=d), vgpu.empty(32, np.int32, device=d)
    k = mod.get_function("copy")
    assert k(a, b, 32, grid=1, block=32, device=d).reports == []
    assert len(k(b, a, 32, grid=1, block=32, device=d, check="initcheck").reports) == 0   # b may be written
    c = vgpu.empty(32, np.int32, device=d)
    assert one(k(c, a, 32, grid=1, block=32, device=d, check="initcheck").reports, "initcheck")


def test_parse_checks():
    assert parse_checks("memcheck, racecheck") == {"memcheck", "racecheck"}
    assert parse_checks(["all"]) == set(CHECKS)
    assert parse_checks(None) == set()
    with pytest.raises(ValueError, match="unknown check bogus"):
        parse_checks("bogus")


# -- the command line -------------------------------------------------------------------------------
def test_cli_prints_reports_and_exits_3(tmp_path, capsys):
    src = tmp_path / "race.vk"
    src.write_text(SRC)
    np.save(tmp_path / "o.npy", np.zeros(64, np.int32))
    base = ["run", str(src), "--kernel", "raw", "--grid", "1", "--block", "64", f"out=@{tmp_path / 'o.npy'}"]
    assert main(base + ["sync=0", "--check", "racecheck,initcheck"]) == 3
    err = capsys.readouterr().err
    assert "racecheck: read-after-write hazard on __shared__ memory (64 times)" in err
    assert "ERROR SUMMARY: 64 errors (1 distinct)" in err
    assert main(base + ["sync=1", "--check", "racecheck", "--check", "memcheck"]) == 0
    assert "ERROR SUMMARY: 0 errors" in capsys.readouterr().err
    assert main(base + ["sync=1", "--check", "bogus"]) == 2


def readme_commands():
    text = (ROOT / "examples" / "README.md").read_text()
    return [shlex.split(m) for m in re.findall(r"`(vgpuc run [^`]+)`", text)]


@pytest.mark.parametrize("cmd", readme_commands(), ids=lambda c: c[2].split("/")[-1] + ":" + c[c.index("--kernel") + 1])
def test_examples_are_clean_under_every_check(cmd, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    argv = [x for x in cmd[1:] if x != "--stats"]
    argv[argv.index("--save") + 1] = str(tmp_path)
    assert main(argv + ["--check", "all"]) == 0
    assert "ERROR SUMMARY: 0 errors" in capsys.readouterr().err


# -- the random schedule ----------------------------------------------------------------------------
ORDER = r"""
__global__ void missing_sync(const int *in, int *out) {
    __shared__ int s[64];
    int t = threadIdx.x;
    s[t] = in[t];
    out[t] = s[(t + 32) % 64];
}
"""


def test_random_schedule_exposes_a_missing_barrier_deterministically():
    k = vgpu.compile(ORDER, "order.vk").get_function("missing_sync")
    data = np.arange(1, 65, dtype=np.int32)
    want = np.roll(data, -32)

    def run(schedule, seed=0):        # the interpreter's schedules (the compiled executor's order is its own)
        d = vgpu.Device(workers=0, schedule=schedule, seed=seed, executor="interp")
        out = vgpu.zeros(64, np.int32, device=d)
        k(vgpu.to_device(data, device=d), out, grid=1, block=64, device=d)
        return out.copy_to_host()

    assert np.array_equal(run("fixed"), want)                     # lockstep warps hide the bug
    outs = [run("random", seed) for seed in range(6)]
    assert any(not np.array_equal(o, want) for o in outs)
    assert np.array_equal(run("random", 3), outs[3])
