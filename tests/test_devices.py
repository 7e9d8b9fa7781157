"""Several devices in one program: identity, the current device, separate memories and constant banks,
logs, peer copies over the modelled links, byte order, the watchdog budget, devices in their own
processes (and that none outlives its program), and the data-distribution helpers."""
from __future__ import annotations

import _thread
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import vgpu
from vgpu.runtime.device import DeviceLost, live_devices
from vgpu.runtime.links import NVLINK4, PCIE5, Link, Topology

INC = vgpu.compile("""
__constant__ float bias[4];
__global__ void inc(float *x, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) x[i] += bias[i % 4]; }
__global__ void spin(int *x) { while (x[0] == 0) { } }
""", filename="inc.vk")


@pytest.fixture
def devs():
    ds = vgpu.devices(3, workers=0, global_bytes=1 << 20)
    yield ds
    for d in ds:
        d.close()


def test_devices_have_ids_names_and_are_listed_in_creation_order(devs):
    assert len({d.id for d in devs}) == 3 and devs[0].id < devs[1].id < devs[2].id
    assert [d.name for d in devs] == [f"gpu{d.id}" for d in devs]
    live = live_devices()
    assert [d for d in live if d in devs] == devs
    assert vgpu.device_count() == len(live)
    devs[1].close()
    assert devs[1] not in live_devices() and vgpu.device_count() == len(live) - 1
    with pytest.raises(RuntimeError, match=f"{devs[1].name} is closed"):
        vgpu.empty(4, device=devs[1])


def test_with_device_is_the_current_device_and_nests(devs):
    before = vgpu.current_device()
    with devs[1]:
        a = vgpu.to_device(np.ones(3, np.float32))
        with devs[2]:
            b = vgpu.zeros(2)
        c = vgpu.empty(2)
    assert (a.device, b.device, c.device) == (devs[1], devs[2], devs[1])
    assert vgpu.current_device() is before
    assert not devs[1].closed                      # leaving the block does not close the device


def test_each_device_has_its_own_memory_and_constant_bank(devs):
    x = [vgpu.to_device(np.full(8, i, np.float32), device=d) for i, d in enumerate(devs)]
    assert len({a.address for a in x}) == 1         # same address on every device, different contents
    for i, d in enumerate(devs):
        INC.set_constant("bias", np.full(4, 10 * (i + 1), np.float32), device=d)
        INC.get_function("inc")(x[i], 8, grid=1, block=32, device=d)
    for i, a in enumerate(x):
        np.testing.assert_array_equal(a.copy_to_host(), np.full(8, i + 10 * (i + 1), np.float32))


def test_kernel_log_and_transfer_log_per_device(devs):
    d0, d1 = devs[0], devs[1]
    x = vgpu.to_device(np.arange(256, dtype=np.float32), device=d0)
    INC.get_function("inc")(x, 256, grid=(2,), block=(128,), device=d0)
    rec = d0.kernel_log[-1]
    assert (rec.kernel, rec.grid, rec.block, rec.file) == ("inc", (2, 1, 1), (128, 1, 1), "inc.vk")
    assert rec.instructions > 0 and rec.seconds > 0
    assert not d1.kernel_log
    y = x.copy_to(d1)
    host = y.copy_to_host()
    h2d, p2p = d0.transfer_log[0], d0.transfer_log[-1]
    assert (h2d.kind, h2d.src, h2d.dst, h2d.nbytes, h2d.link) == ("HtoD", "host", d0.name, 1024, PCIE5.name)
    assert h2d.seconds == pytest.approx(PCIE5.latency + 1024 / PCIE5.bandwidth)
    assert (p2p.kind, p2p.src, p2p.dst, p2p.link) == ("PtoP", d0.name, d1.name, NVLINK4.name)
    assert p2p.seconds == pytest.approx(2e-6 + 1024 / 450e9)
    assert d1.transfer_log[0] is p2p and d1.transfer_log[-1].kind == "DtoH"
    stats = d1.get_transfer_stats()
    assert stats["PtoP"]["bytes"] == 1024 and stats["DtoH"]["count"] == 1
    np.testing.assert_array_equal(host, x.copy_to_host())


def test_topology_is_configurable_per_pair():
    topo = Topology(peer=PCIE5)
    a, b, c = vgpu.devices(3, workers=0, global_bytes=1 << 20, topology=topo)
    fast = Link("NVLink 4 x2", 900e9, 1e-6)
    topo.set_link(a.id, b.id, fast)
    x = vgpu.zeros(1 << 16, np.uint8, device=a)
    x.copy_to(b)
    x.copy_to(c)
    assert [t.link for t in a.transfer_log] == [fast.name, PCIE5.name]
    assert a.transfer_log[0].seconds == pytest.approx(1e-6 + 65536 / 900e9)
    for d in (a, b, c):
        d.close()


def test_copy_peer_slices_and_errors(devs):
    a = vgpu.to_device(np.arange(10, dtype=np.int32), device=devs[0])
    b = vgpu.zeros(10, np.int32, device=devs[1])
    vgpu.copy_peer(b[2:6], a[5:9])
    np.testing.assert_array_equal(b.copy_to_host(), [0, 0, 5, 6, 7, 8, 0, 0, 0, 0])
    b.copy_from(a)
    np.testing.assert_array_equal(b.copy_to_host(), np.arange(10))
    with pytest.raises(ValueError, match="does not match"):
        vgpu.copy_peer(b[:3], a)
    with pytest.raises(ValueError, match="does not match"):
        vgpu.copy_peer(vgpu.zeros(10, np.float32, device=devs[1]), a)
    with pytest.raises(IndexError, match="contiguous"):
        a[::2]
    m = a.reshape(2, 5)
    np.testing.assert_array_equal(m[1].copy_to_host(), [5, 6, 7, 8, 9])


def test_launch_with_an_array_of_another_device_names_both(devs):
    x = vgpu.zeros(4, device=devs[0])
    with pytest.raises((TypeError, ValueError)) as e:
        INC.get_function("inc")(x, 4, grid=1, block=4, device=devs[1])
    assert devs[0].name in str(e.value) and devs[1].name in str(e.value)


def test_big_endian_arrays_are_converted_to_native_order(devs):
    big = np.arange(4, dtype=">f4")
    x = vgpu.to_device(big, device=devs[0])
    assert x.dtype == np.dtype("<f4")
    INC.set_constant("bias", np.ones(4, np.float32), device=devs[0])
    INC.get_function("inc")(x, 4, grid=1, block=4, device=devs[0])
    np.testing.assert_array_equal(x.copy_to_host(), [1, 2, 3, 4])


def test_max_steps_is_the_watchdog_budget():
    d = vgpu.Device(workers=0, global_bytes=1 << 20, max_steps=2000)
    assert d.sim.max_steps == 2000
    flag = vgpu.zeros(1, np.int32, device=d)
    t = time.perf_counter()
    with pytest.raises(vgpu.DeviceError, match="spin"):
        INC.get_function("spin")(flag, grid=1, block=1, device=d)
    assert time.perf_counter() - t < 20
    with pytest.raises(ValueError, match="max_steps"):
        vgpu.Device(workers=0, max_steps=0)
    d.close()


def test_devices_in_their_own_processes_give_the_same_results():
    local = vgpu.Device(workers=0, global_bytes=1 << 20)
    remote = vgpu.devices(2, process=True, workers=0, global_bytes=1 << 20)
    try:
        pids = {d.sim.pid for d in remote}
        assert len(pids) == 2 and os.getpid() not in pids
        outs = []
        for d in (local, *remote):
            INC.set_constant("bias", np.array([1, 2, 3, 4], np.float32), device=d)
            x = vgpu.to_device(np.arange(16, dtype=np.float32), device=d)
            INC.get_function("inc")(x, 16, grid=1, block=32, device=d)
            outs.append(x)
        y = outs[1].copy_to(remote[1])                     # between two device processes
        for a in (*outs, y):
            np.testing.assert_array_equal(a.copy_to_host(), outs[0].copy_to_host())
        ops = [m.op for m in remote[0].message_log]
        assert {"malloc", "write", "load", "launch", "read"} <= set(ops)
        assert any(m.direction == "<-" and m.op == "read" and m.nbytes >= 64 for m in remote[0].message_log)
        assert remote[0].kernel_log[-1].kernel == "inc"
        peer = [m for m in remote[1].message_log if m.direction == "=>"]      # device to device, not via us
        assert [(m.op, m.nbytes) for m in peer] == [(f"peer {remote[0].name}->{remote[1].name}", 64)]
        bad = vgpu.DeviceArray(remote[0], 16, (4,), np.float32, owner=False)
        with pytest.raises(vgpu.DeviceError, match="inc.vk:3"):      # a fault in the other process, located
            INC.get_function("inc")(bad, 4, grid=1, block=4, device=remote[0])
        os.kill(remote[1].sim.pid, 9)
        remote[1].sim.proc.join(5)
        with pytest.raises(DeviceLost, match=remote[1].name):
            y.copy_to_host()
    finally:
        for d in (local, *remote):
            d.close()
    assert all(not d.sim.proc.is_alive() for d in remote)


def test_an_interrupted_call_stops_the_device_process_instead_of_desynchronising_it():
    d = vgpu.Device(process=True, workers=0, global_bytes=1 << 20, max_steps=10 ** 9, max_instructions=10 ** 12)
    flag = vgpu.zeros(1, np.int32, device=d)
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            INC.get_function("spin")(flag, grid=1, block=1, device=d)       # spins until interrupted
    finally:
        timer.cancel()
    assert not d.sim.proc.is_alive()
    with pytest.raises(DeviceLost, match="a 'launch' call was interrupted"):
        flag.copy_to_host()
    d.close()


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_no_device_process_outlives_its_program(how):
    code = ("import vgpu, sys, time\n"
            "d = vgpu.Device(process=True, workers=2, num_sms=2, global_bytes=1 << 20)\n"
            "print(d.sim.pid, flush=True)\n"
            "sys.stdin.readline()\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pid = int(p.stdout.readline())
    assert _alive(pid)
    if how == "kill":
        p.kill()
    else:
        p.stdin.write("\n")
        p.stdin.flush()
    p.wait(30)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# -- data distribution ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, sizes", [({}, [3, 2, 2]), ({"weights": [1, 2, 1]}, [2, 3, 2]),
                                       ({"weights": [0, 1, 3]}, [0, 2, 5]), ({"block": 2}, [3, 2, 2]),
                                       ({"axis": 1}, [2, 1, 1]), ({"axis": -1, "block": 1}, [2, 1, 1])])
def test_split_and_gather(devs, kw, sizes):
    a = np.arange(7 * 4, dtype=np.int32).reshape(7, 4)
    d = vgpu.distribute.split(a, devs, **kw)
    axis = kw.get("axis", 0) % 2
    assert [p.shape[axis] for p in d.parts] == sizes
    assert [p.device for p in d.parts] == devs
    np.testing.assert_array_equal(vgpu.distribute.gather(d), a)
    if kw.get("block") == 2:
        assert d.ranges[0] == [(0, 2), (6, 7)]
        np.testing.assert_array_equal(d.parts[0].copy_to_host(), a[[0, 1, 6]])


def test_halo_exchange(devs):
    a = np.arange(9 * 3, dtype=np.float32).reshape(9, 3)
    d = vgpu.distribute.split(a, devs, halo=1)
    assert d.stored == [(0, 4), (2, 7), (5, 9)]
    for i, p in enumerate(d.parts):                 # spoil every halo row, then exchange
        host = p.copy_to_host()
        lo, hi = d.owned(i)
        host[:lo] = -1
        host[hi:] = -1
        p.copy_from_host(host)
    seconds = d.exchange_halos()
    assert seconds == pytest.approx(NVLINK4.time(12))
    for (lo, hi), p in zip(d.stored, d.parts):
        np.testing.assert_array_equal(p.copy_to_host(), a[lo:hi])
    with pytest.raises(ValueError, match="at least halo=4"):
        vgpu.distribute.split(a, devs, halo=4)
    with pytest.raises(ValueError, match="block-cyclic"):
        vgpu.distribute.split(a, devs, block=2, halo=1)
