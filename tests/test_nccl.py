"""vgpu.nccl: every collective on 1 to 8 devices (sizes not divisible by the device count, in place),
every op and dtype against numpy, the fixed reduction order, send/recv and the deadlock error, and the
modelled algorithm and bus bandwidth."""
from __future__ import annotations

import numpy as np
import pytest

import vgpu
from vgpu.nccl import Communicator, DeadlockError, group
from vgpu.runtime.links import NVLINK4

NUMPY = {"sum": np.add, "prod": np.multiply, "max": np.maximum, "min": np.minimum}


@pytest.fixture(scope="module")
def pool():
    ds = vgpu.devices(8, workers=0, global_bytes=1 << 20)
    yield ds
    for d in ds:
        d.close()


def put(hosts, devs):
    return [vgpu.to_device(h, device=d) for h, d in zip(hosts, devs)]


def data(n, count, dtype=np.int32, seed=0):
    rng = np.random.default_rng(seed + 31 * n + count)
    return [rng.integers(-9, 10, count).astype(dtype) for _ in range(n)]


@pytest.mark.parametrize("n", range(1, 9))
def test_all_reduce_on_1_to_8_devices(pool, n):
    devs, count = pool[:n], 2 * n + 3              # not a multiple of n (for n > 1)
    comm = Communicator(devs)
    hosts = data(n, count)
    send = put(hosts, devs)
    recv = [vgpu.empty(count, np.int32, device=d) for d in devs]
    comm.all_reduce(send, recv, op="sum")
    for r in recv:
        np.testing.assert_array_equal(r.copy_to_host(), np.sum(hosts, axis=0, dtype=np.int32))
    for s, h in zip(send, hosts):                    # out of place: the send buffers are untouched
        np.testing.assert_array_equal(s.copy_to_host(), h)
    comm.all_reduce(send, send, op="max")            # in place
    for s in send:
        np.testing.assert_array_equal(s.copy_to_host(), np.max(hosts, axis=0))


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_tree_all_reduce(pool, n):
    devs, count = pool[:n], 6
    comm = Communicator(devs)
    hosts = data(n, count, seed=9)
    send = put(hosts, devs)
    rec = comm.all_reduce(send, send, op="sum", algorithm="tree")
    for s in send:
        np.testing.assert_array_equal(s.copy_to_host(), np.sum(hosts, axis=0, dtype=np.int32))
    depth = int(np.ceil(np.log2(n)))
    assert rec.steps == 2 * depth
    if n == 8:
        assert "step  0: gpu" in comm.trace[1] and "partial of rank 1" in comm.trace[1]
        ring = comm.all_reduce(send, send, op="sum")
        assert rec.seconds < ring.seconds               # a small message: fewer latency-bound steps
    with pytest.raises(ValueError, match="'ring' or 'tree'"):
        comm.all_reduce(send, send, algorithm="star")


@pytest.mark.parametrize("n", range(1, 9))
def test_broadcast_and_reduce_on_1_to_8_devices(pool, n):
    devs, count, root = pool[:n], 3 * n + 1, n // 2
    comm = Communicator(devs)
    hosts = data(n, count, seed=1)
    send = put(hosts, devs)
    recv = [vgpu.zeros(count, np.int32, device=d) for d in devs]
    comm.broadcast(send, recv, root=root)
    for r in recv:
        np.testing.assert_array_equal(r.copy_to_host(), hosts[root])
    comm.broadcast(send, send, root=root)           # in place
    for s in send:
        np.testing.assert_array_equal(s.copy_to_host(), hosts[root])
    send = put(hosts, devs)
    out = [vgpu.zeros(count, np.int32, device=d) for d in devs]
    comm.reduce(send, out, op="min", root=root)
    np.testing.assert_array_equal(out[root].copy_to_host(), np.min(hosts, axis=0))
    for r, o in enumerate(out):
        if r != root:                               # only the root's buffer is written
            np.testing.assert_array_equal(o.copy_to_host(), np.zeros(count, np.int32))
    for s, h in zip(send, hosts):
        np.testing.assert_array_equal(s.copy_to_host(), h)
    comm.reduce(send, send, op="sum", root=root)    # in place
    np.testing.assert_array_equal(send[root].copy_to_host(), np.sum(hosts, axis=0, dtype=np.int32))


@pytest.mark.parametrize("n", range(1, 9))
def test_all_gather_and_reduce_scatter_on_1_to_8_devices(pool, n):
    devs, count = pool[:n], 5
    comm = Communicator(devs)
    hosts = data(n, count, seed=2)
    recv = [vgpu.zeros(n * count, np.int32, device=d) for d in devs]
    comm.all_gather(put(hosts, devs), recv)
    for r in recv:
        np.testing.assert_array_equal(r.copy_to_host(), np.concatenate(hosts))
    inplace = [vgpu.zeros(n * count, np.int32, device=d) for d in devs]
    for r, (buf, h) in enumerate(zip(inplace, hosts)):
        buf[r * count:(r + 1) * count].copy_from_host(h)
    comm.all_gather([b[r * count:(r + 1) * count] for r, b in enumerate(inplace)], inplace)
    for b in inplace:
        np.testing.assert_array_equal(b.copy_to_host(), np.concatenate(hosts))
    big = data(n, n * count, seed=3)
    send = put(big, devs)
    out = [vgpu.zeros(count, np.int32, device=d) for d in devs]
    comm.reduce_scatter(send, out, op="sum")
    total = np.sum(big, axis=0, dtype=np.int32)
    for r, o in enumerate(out):
        np.testing.assert_array_equal(o.copy_to_host(), total[r * count:(r + 1) * count])
    comm.reduce_scatter(send, [s[r * count:(r + 1) * count] for r, s in enumerate(send)], op="prod")  # in place
    prod = np.prod(big, axis=0, dtype=np.int32)
    for r, s in enumerate(send):
        np.testing.assert_array_equal(s[r * count:(r + 1) * count].copy_to_host(), prod[r * count:(r + 1) * count])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.uint32, np.int64, np.uint64])
@pytest.mark.parametrize("op", ["sum", "prod", "max", "min"])
def test_integer_ops_equal_numpy_including_wraparound(pool, dtype, op):
    devs = pool[:3]
    info = np.iinfo(dtype)
    rng = np.random.default_rng(7)
    hosts = [rng.integers(info.min, info.max, 11, dtype=dtype, endpoint=True) for _ in devs]
    recv = [vgpu.empty(11, dtype, device=d) for d in devs]
    Communicator(devs).all_reduce(put(hosts, devs), recv, op=op)
    with np.errstate(over="ignore"):
        expected = NUMPY[op].reduce(np.stack(hosts), axis=0).astype(dtype)
    for r in recv:
        np.testing.assert_array_equal(r.copy_to_host(), expected)


def test_avg_divides_after_the_sum(pool):
    devs = pool[:4]
    ints = [np.array([7, -7, 1, 100], np.int32) * (i + 1) for i in range(4)]
    recv = [vgpu.empty(4, np.int32, device=d) for d in devs]
    Communicator(devs).all_reduce(put(ints, devs), recv, op="avg")
    total = np.sum(ints, axis=0)
    np.testing.assert_array_equal(recv[2].copy_to_host(), np.trunc(total / 4).astype(np.int32))   # C division
    floats = data(4, 9, np.float64, seed=4)
    recv = [vgpu.empty(9, np.float64, device=d) for d in devs]
    Communicator(devs).all_reduce(put(floats, devs), recv, op="avg")
    np.testing.assert_allclose(recv[0].copy_to_host(), np.mean(floats, axis=0), rtol=1e-15)


def test_float_sums_follow_the_ring_order_and_are_deterministic(pool):
    n, count = 5, 13
    devs = pool[:n]
    rng = np.random.default_rng(5)
    hosts = [(rng.standard_normal(count) * 10.0 ** rng.integers(-6, 6, count)).astype(np.float32) for _ in range(n)]
    comm = Communicator(devs)
    results = []
    for _ in range(2):
        recv = [vgpu.empty(count, np.float32, device=d) for d in devs]
        comm.all_reduce(put(hosts, devs), recv, op="sum")
        results.append([r.copy_to_host() for r in recv])
    expected = np.empty(count, np.float32)
    q, rem = divmod(count, n)
    lo = 0
    for c in range(n):                                   # chunk c: x[c] + x[c+1] + ... in ring order
        hi = lo + q + (c < rem)
        acc = hosts[c][lo:hi].copy()
        for k in range(1, n):
            acc = acc + hosts[(c + k) % n][lo:hi]
        expected[lo:hi] = acc
        lo = hi
    for run in results:
        for r in run:
            assert r.tobytes() == expected.tobytes()


def test_trace_and_bandwidths(pool):
    n, count = 4, 1 << 14
    devs = pool[:n]
    comm = Communicator(devs)
    send = [vgpu.zeros(count, np.float32, device=d) for d in devs]
    rec = comm.all_reduce(send, send, op="sum")
    nbytes = count * 4
    assert (rec.name, rec.nbytes, rec.ranks, rec.steps) == ("all_reduce", nbytes, n, 2 * (n - 1))
    assert rec.algbw == pytest.approx(nbytes / rec.seconds)
    assert rec.busbw == pytest.approx(rec.algbw * 2 * (n - 1) / n)
    chunk = NVLINK4.time(nbytes // n)
    assert rec.seconds > 2 * (n - 1) * chunk                 # the copies plus the reduction kernels
    assert comm.log[-1] is rec
    copies = [line for line in comm.trace if "NVLink 4" in line]
    kernels = [line for line in comm.trace if "sum kernel" in line]
    assert len(copies) == 2 * (n - 1) * n and len(kernels) == (n - 1) * n
    assert comm.trace[1].startswith("step  0: gpu")
    gather = comm.all_gather([s[:count // n] for s in send], send)
    assert gather.busbw == pytest.approx(gather.algbw * (n - 1) / n)
    bc = comm.broadcast(send, send, root=1)
    assert bc.busbw == pytest.approx(bc.algbw)


def test_send_recv_in_a_group(pool):
    devs = pool[:3]
    comm = Communicator(devs)
    a = [vgpu.to_device(np.full(6, r, np.int64), device=d) for r, d in enumerate(devs)]
    b = [vgpu.zeros(6, np.int64, device=d) for d in devs]
    with group():                                        # a ring shift: each rank sends to the next
        for r in range(3):
            comm.send(a[r], peer=(r + 1) % 3)
            comm.recv(b[r], peer=(r - 1) % 3)
    for r in range(3):
        np.testing.assert_array_equal(b[r].copy_to_host(), np.full(6, (r - 1) % 3))
    assert comm.log[-1].name == "send_recv" and comm.log[-1].steps == 1


def test_unmatched_send_or_recv_is_a_deadlock_error_naming_the_ranks(pool):
    devs = pool[:3]
    comm = Communicator(devs)
    buf = [vgpu.zeros(4, np.float32, device=d) for d in devs]
    with pytest.raises(DeadlockError, match="rank 0 sends 16 B to rank 2, but rank 2 posts no recv from rank 0"):
        with group():
            comm.send(buf[0], peer=2)
            comm.recv(buf[2], peer=1)
    with pytest.raises(DeadlockError, match="rank 1 waits to recv 16 B from rank 0"):
        comm.recv(buf[1], peer=0)                          # alone, outside a group
    with pytest.raises(ValueError, match="does not match the recv on rank 1"):
        with group():
            comm.send(buf[0], peer=1)
            comm.recv(vgpu.zeros(2, np.float32, device=devs[1]), peer=0)


def test_argument_errors(pool):
    devs = pool[:2]
    comm = Communicator(devs)
    a = [vgpu.zeros(4, np.float32, device=d) for d in devs]
    with pytest.raises(ValueError, match=r"recv\[1\] is on gpu\d+, but rank 1 is gpu"):
        comm.all_reduce(a, [a[0], a[0]])
    with pytest.raises(ValueError, match="one array per rank"):
        comm.all_reduce(a, a[:1])
    with pytest.raises(ValueError, match="unknown reduction op 'mean'"):
        comm.all_reduce(a, a, op="mean")
    with pytest.raises(TypeError, match="float16"):
        comm.all_reduce([vgpu.zeros(4, np.float16, device=d) for d in devs],
                        [vgpu.zeros(4, np.float16, device=d) for d in devs])
    with pytest.raises(ValueError, match="expected 8"):
        comm.all_gather(a, a)
    with pytest.raises(ValueError, match="root must be a rank"):
        comm.broadcast(a, a, root=2)
    with pytest.raises(ValueError, match="only once"):
        Communicator([devs[0], devs[0]])
