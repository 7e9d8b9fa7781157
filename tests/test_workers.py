"""SM worker processes (vgpu.sim.pool): the same launch gives the same bytes, counters, printf output
and faults with workers=0, 1 and 2; atomics and the last-block pattern work across processes;
a dead worker gives WorkerDied and the pool restarts; Ctrl-C and exit leave no process or
/dev/shm segment behind.  The devices have one SM, so that small grids already have several waves.
Launches here run on the interpreter (VGPU_EXECUTOR=interp for this module): the compiled executor
runs in-process and would take the launches away from the pool under test."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vgpu
from vgpu.sim import DeviceError, OutOfBounds
from vgpu.sim import WorkerDied
from vgpu.sim.launch import encode_params

ROOT = Path(__file__).resolve().parents[1]
MODES = (0, 1, 2)


@pytest.fixture(scope="module", autouse=True)
def interpreter():
    """Launches (and the subprocesses' launches) of this module on the interpreter and its pool."""
    before = os.environ.get("VGPU_EXECUTOR")
    os.environ["VGPU_EXECUTOR"] = "interp"
    yield
    if before is None:
        del os.environ["VGPU_EXECUTOR"]
    else:
        os.environ["VGPU_EXECUTOR"] = before


@pytest.fixture(scope="module")
def devices(interpreter):
    devs = {w: vgpu.Device(num_sms=1, workers=w, global_bytes=64 << 20) for w in MODES}
    yield devs
    for d in devs.values():
        d.close()


def example(name: str) -> vgpu.Module:
    return vgpu.compile_file(ROOT / "examples" / f"{name}.vk")


EXAMPLES = {name: example(name) for name in ("vector_add", "saxpy", "reduce", "matmul", "histogram", "collatz")}


def inputs(name: str, n: int, rng) -> tuple[str, list]:
    """(kernel, args) of an example, with n elements; arrays as numpy, filled from rng."""
    f32 = lambda k: rng.random(k, dtype=np.float32)  # noqa: E731
    if name == "vector_add":
        return "vector_add", [f32(n), f32(n), np.zeros(n, np.float32), n]
    if name == "saxpy":
        return "saxpy", [np.float32(1.5), f32(n), f32(n), n]
    if name == "reduce":
        return "reduce_sum", [f32(n), np.zeros(max(n, 70), np.float32), n]     # one partial per block
    if name == "matmul":
        m = max(int(np.sqrt(n)), 1)
        return "matmul", [f32(m * m), f32(m * m), np.zeros(m * m, np.float32), m]
    if name == "histogram":
        return "histogram", [rng.integers(0, 256, n).astype(np.int32), np.zeros(64, np.uint32), n]
    return "collatz", [rng.integers(1, 5000, n).astype(np.uint32), np.zeros(n, np.int32), n]


def run_on(dev, mod, kernel, args, grid, block):
    """Launch with fresh device copies of the array arguments: the output bytes and the result's
    counters and printf output, or the fault's message."""
    dargs = [vgpu.to_device(a, device=dev) if isinstance(a, np.ndarray) and a.ndim else a for a in args]
    try:
        res = mod.get_function(kernel)(*dargs, grid=grid, block=block, device=dev)
    except DeviceError as e:
        return str(e)
    outs = b"".join(d.copy_to_host().tobytes() for d in dargs if isinstance(d, vgpu.DeviceArray))
    return outs, dict(res.stats), res.op_counts, res.line_counts, res.output


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(EXAMPLES)), n=st.integers(1, 3000), blocks=st.integers(1, 70),
       bx=st.sampled_from([32, 64, 96, 256, 512]), seed=st.integers(0, 2 ** 16))
def test_examples_same_with_any_number_of_workers(devices, name, n, blocks, bx, seed):
    kernel, args = inputs(name, n, np.random.default_rng(seed))
    grid, block = blocks, bx
    if name == "matmul":
        grid, block = (blocks % 5 + 1, blocks // 5 + 1), (16, 16)
    if name == "reduce":
        block = 256
    got = {w: run_on(devices[w], EXAMPLES[name], kernel, args, grid, block) for w in MODES}
    assert not isinstance(got[0], str), got[0]
    for w in MODES[1:]:
        assert got[w][0] == got[0][0], f"{name} output differs with workers={w}"
        assert got[w] == got[0], f"{name} counters or printf output differ with workers={w}"


PROBE = vgpu.compile(textwrap.dedent("""
    __device__ unsigned int done;
    __device__ int total;
    __global__ void probe(int *out, unsigned int *count, float *fsum) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        long long t0 = clock64();
        atomicAdd(count, 1u);
        atomicAdd(fsum, 0.5f);
        out[i] = (int)(clock64() - t0);
        if (threadIdx.x % 97 == 5)
            printf("block %d thread %d clock %d\\n", blockIdx.x, threadIdx.x, (int)(clock() & 0xffff));
    }
    __global__ void hammer(unsigned int *c, int reps) {
        for (int k = 0; k < reps; ++k)
            atomicAdd(&c[k & 1], 1u);
    }
    __global__ void last_block(int *partial) {
        if (threadIdx.x == 0) {
            partial[blockIdx.x] = blockIdx.x + 1;
            __threadfence();
            unsigned int ticket = atomicInc(&done, gridDim.x - 1);
            if (ticket == gridDim.x - 1) {
                int s = 0;
                for (int b = 0; b < gridDim.x; ++b)
                    s += atomicAdd(&partial[b], 0);
                total = s;
            }
        }
    }
    __global__ void oob(int *out, int n) {
        int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (threadIdx.x == 0)
            printf("block %d\\n", blockIdx.x);
        out[i] = i;                         // out has n elements; blocks past it fault
    }
    __global__ void spin(int *out, int bad) {
        int x = 0;
        if (blockIdx.x == bad && threadIdx.x == 0)
            out[-1000000] = 1;
        for (;;)
            x += out[0];
    }
"""), "probe.vk")


@pytest.mark.parametrize("schedule", ["fixed", "random"])
def test_atomics_clock_and_printf_across_workers(devices, schedule, capsys):
    nb, nt = 40, 256                          # 8 blocks per wave on one SM: 5 waves
    seen = {}
    for w in MODES:
        dev = devices[w] if schedule == "fixed" else vgpu.Device(num_sms=1, workers=w, global_bytes=1 << 20,
                                                                 schedule=schedule, seed=5)
        out = vgpu.zeros(nb * nt, np.int32, device=dev)
        count, fsum = vgpu.zeros(1, np.uint32, device=dev), vgpu.zeros(1, np.float32, device=dev)
        res = PROBE.get_function("probe")(out, count, fsum, grid=nb, block=nt, device=dev)
        assert count.copy_to_host()[0] == nb * nt                 # no lost update across processes
        assert fsum.copy_to_host()[0] == nb * nt * 0.5            # exact: sums of halves
        seen[w] = (out.copy_to_host().tobytes(), res.output, dict(res.stats))
        if dev is not devices[w]:
            dev.close()
    assert seen[0] == seen[1] == seen[2]                          # clock values and printf order too
    lines = seen[0][1].splitlines()
    assert [int(s.split()[1]) for s in lines] == sorted(int(s.split()[1]) for s in lines)
    capsys.readouterr()


def test_no_lost_atomic_update_between_workers(devices):
    c = vgpu.zeros(2, np.uint32, device=devices[2])
    PROBE.get_function("hammer")(c, 200, grid=16, block=256, device=devices[2])   # 2 waves at once
    assert c.copy_to_host().tolist() == [16 * 256 * 100] * 2


def test_last_block_pattern_across_workers(devices):
    nb = 64                                   # 8 waves: the last ticket may be taken in any of them
    for w in MODES:
        for _ in range(3):
            part = vgpu.zeros(nb, np.int32, device=devices[w])
            PROBE.get_function("last_block")(part, grid=nb, block=256, device=devices[w])
            assert PROBE.get_global("total", device=devices[w]).copy_to_host().view(np.int32)[0] == nb * (nb + 1) // 2


def fresh(w: int) -> vgpu.Device:
    """A device with nothing allocated yet (fault messages name addresses)."""
    return vgpu.Device(num_sms=1, workers=w, global_bytes=1 << 20)


def test_fault_in_a_later_wave_is_the_in_process_fault(capsys):
    msgs = {}
    for w in MODES:
        with fresh(w) as dev:
            out = vgpu.zeros(8 * 256 + 3, np.int32, device=dev)    # block 8 (wave 1) runs past the end
            with pytest.raises(OutOfBounds) as e:
                PROBE.get_function("oob")(out, out.size, grid=30, block=256, device=dev)
        msgs[w] = (str(e.value), capsys.readouterr().out)
    assert msgs[0] == msgs[1] == msgs[2]
    assert "block (8,0,0), thread (3,0,0)" in msgs[0][0]
    assert msgs[0][1].splitlines() == [f"block {b}" for b in range(16)]     # nothing from later waves


def test_a_fault_stops_the_other_workers():
    msgs = []
    for w in (2, 0):
        with vgpu.Device(num_sms=1, workers=w, global_bytes=1 << 20, max_steps=10 ** 12,
                         max_instructions=10 ** 15) as dev:           # only the stop flag ends wave 1
            out = vgpu.zeros(16, np.int32, device=dev)
            t0 = time.perf_counter()
            with pytest.raises(OutOfBounds) as e:               # wave 0 faults, wave 1 would spin forever
                PROBE.get_function("spin")(out, 0, grid=16, block=256, device=dev)
            assert time.perf_counter() - t0 < 60              # a hang guard: without the stop, wave 1 spins on
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1] and "block (0,0,0), thread (0,0,0)" in msgs[0]


def test_cooperative_launch_runs_with_workers(devices):
    mod = vgpu.compile("""
        __global__ void k(int *a, int *b) {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            a[i] = i;
            cooperative_groups::this_grid().sync();
            b[i] = a[(i + blockDim.x) % (gridDim.x * blockDim.x)];
        }""")
    a, b = vgpu.zeros(4 * 64, np.int32, device=devices[2]), vgpu.zeros(4 * 64, np.int32, device=devices[2])
    mod.get_function("k")(a, b, grid=4, block=64, device=devices[2])
    assert np.array_equal(b.copy_to_host(), (np.arange(256) + 64) % 256)


def test_a_dead_worker_raises_worker_died_and_the_pool_restarts():
    dev = vgpu.Device(num_sms=1, workers=2, global_bytes=1 << 20, max_instructions=10 ** 12, max_steps=10 ** 12)
    try:
        out = vgpu.zeros(16, np.int32, device=dev)
        spin = PROBE.get_function("spin")
        with pytest.raises(OutOfBounds):
            spin(out, 0, grid=16, block=256, device=dev)           # starts the pool
        pids = dev.sim.pool.pids
        killer = subprocess.Popen(["sh", "-c", f"sleep 1; kill -9 {pids[1]}"])
        with pytest.raises(WorkerDied) as e:
            spin(out, 99, grid=16, block=256, device=dev)          # spins until the worker is killed
        killer.wait()
        assert f"SM worker 1 (pid {pids[1]}) was killed by SIGKILL" in str(e.value)
        with pytest.raises(OutOfBounds):
            spin(out, 0, grid=16, block=256, device=dev)           # a fresh pool
        assert set(dev.sim.pool.pids).isdisjoint(pids)
    finally:
        dev.close()


CHILD = textwrap.dedent("""
    import sys, numpy as np, vgpu
    mod = vgpu.compile('''__global__ void spin(int *o, int n) { int x = 0;
        for (int k = 0; k < n || n < 0; ++k) x += o[0]; o[blockIdx.x] = x; }''')
    dev = vgpu.Device(num_sms=1, workers=2, global_bytes=1 << 20, max_instructions=10 ** 12, max_steps=10 ** 12)
    o = vgpu.zeros(16, np.int32, device=dev)
    mod.get_function("spin")(o, 10, grid=16, block=256, device=dev)
    import multiprocessing.forkserver as fs, multiprocessing.resource_tracker as rt
    helpers = [p for p in (fs._forkserver._forkserver_pid, rt._resource_tracker._pid) if p]
    print("pids", *dev.sim.pool.pids, *helpers, flush=True)
    mod.get_function("spin")(o, int(sys.argv[1]), grid=16, block=256, device=dev)
    print("done", flush=True)
""")


def segments(pid: int) -> list[str]:
    return [n for n in os.listdir("/dev/shm") if n.startswith(f"vgpu-{pid}-")]


def gone(pids, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{p}").exists() and "Z" not in Path(f"/proc/{p}/stat").read_text().split()[2]
                   for p in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("how", ["exit", "sigint"])
def test_nothing_left_behind(how, tmp_path):
    env = dict(os.environ, VGPU_START_METHOD="fork" if how == "exit" else "forkserver")
    p = subprocess.Popen([sys.executable, "-c", CHILD, "10" if how == "exit" else "-1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    line = p.stdout.readline().split()
    assert line[0] == "pids", p.stderr.read()
    pids = [int(x) for x in line[1:]]
    assert segments(p.pid)                                     # the device's memory is shared
    if how == "sigint":
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=20)                     # Ctrl-C latency: benchmarks/run.py --workers
        assert "KeyboardInterrupt" in err and "leaked" not in err, err
    else:
        p.wait(timeout=60)           # a few lines only: the pipes cannot fill; read through p.stdout, whose
        out, err = p.stdout.read(), p.stderr.read()   # buffer may hold "done" already (communicate skips it)
        assert p.returncode == 0 and "done" in out and not err, err
    assert gone(pids), "an SM worker outlived its parent"
    assert not segments(p.pid), "a /dev/shm segment was left behind"


def test_workers_are_capped_at_the_usable_cores_with_a_warning():
    from vgpu.sim.device import usable_cores
    cores = usable_cores()
    with pytest.warns(RuntimeWarning, match=rf"workers=1000 capped at {cores}: this machine has {cores} usable CPU"):
        dev = vgpu.Device(num_sms=4, workers=1000, global_bytes=1 << 20)
    try:
        assert dev.sim.workers == cores or (cores == 1 and dev.sim.workers <= 1)
        out = vgpu.zeros(64 * 256, np.int32, device=dev)
        fill = vgpu.compile("__global__ void fill(int *o) { o[blockIdx.x * blockDim.x + threadIdx.x] = 7; }")
        fill.get_function("fill")(out, grid=64, block=256, device=dev)          # several waves: on the pool
        assert (out.copy_to_host() == 7).all()
        assert dev.sim.pool is None or len(dev.sim.pool.pids) <= cores
    finally:
        dev.close()


def test_segments_of_a_process_group_killed_with_sigkill_are_swept_at_the_next_start(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", CHILD, "-1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=tmp_path, start_new_session=True)
    try:
        line = p.stdout.readline().split()
        assert line[0] == "pids", p.stderr.read()
        assert segments(p.pid)                                 # the device's memory is shared
    finally:
        os.killpg(p.pid, signal.SIGKILL)                       # no cleanup of any kind runs
        p.wait(timeout=20)
    pids = [int(x) for x in line[1:]]
    assert gone(pids), "an SM worker outlived the killed group"
    left = segments(p.pid)
    assert left, "nothing was left to sweep (the test no longer tests the sweep)"
    dev = vgpu.Device(num_sms=2, workers=2, global_bytes=1 << 20)      # a new pool sweeps first
    try:
        assert not segments(p.pid), f"left behind: {left}"
        assert segments(os.getpid())
    finally:
        dev.close()


@pytest.mark.parametrize("w", MODES)
def test_progress_is_reported_a_few_times_a_second_and_at_the_end(w, devices):
    dev = devices[w]
    out = vgpu.zeros(16, np.int32, device=dev)
    calls = []
    t0 = time.monotonic()
    fill = vgpu.compile("__global__ void f(int *o) { int s = 0; for (int k = 0; k < 200; k++) s += k; o[0] = s; }")
    loaded = dev.sim.load(fill.program)
    dev.sim.launch(loaded, "f", encode_params("f", loaded.kernel("f").code.params, [out.address]), grid=(400,),
                   block=(256,),
                   progress=lambda done, total: calls.append((time.monotonic(), done, total)))
    elapsed = time.monotonic() - t0
    assert calls and calls[-1][1:] == (400, 400)
    assert all(total == 400 for _, _, total in calls)
    assert [d for _, d, _ in calls] == sorted({d for _, d, _ in calls})      # increasing, no repeats
    assert len(calls) <= 4 * elapsed + 2                                     # at most 4 a second
