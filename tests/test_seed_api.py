"""The seed's host API: VirtualGPU, DevicePointer, @vgpu.kernel, launch_kernel, logs and errors."""
import numpy as np
import pytest

import vgpu
from vgpu import cuda


@pytest.fixture
def gpu():
    g = vgpu.VirtualGPU(num_sms=2, global_mem_size=1 << 16)
    vgpu.VirtualGPU.set_current(g)
    return g


@vgpu.kernel(grid_dim=(4, 1, 1), block_dim=(32, 1, 1))
def add(threadIdx, blockIdx, blockDim, gridDim, a, b, c, n):
    i = blockIdx.x * blockDim.x + threadIdx.x
    if i < n:
        c[i] = a[i] + b[i]


def test_vector_add_with_pointers_and_logs(gpu):
    n = 100
    a, b = np.arange(n, dtype=np.float32), np.full(n, 0.5, np.float32)
    pa, pb, pc = (gpu.malloc(n * 4, dtype=np.float32, label=x) for x in "abc")
    gpu.memcpy_host_to_device(a, pa)
    gpu.memcpy(pb, b, n * 4, "HostToDevice")
    add(pa, pb, pc, n)
    gpu.synchronize()
    assert np.array_equal(gpu.memcpy_device_to_host(pc, n * 4), a + b)
    gpu.launch_kernel(add, (1, 1, 1), (64, 1, 1), pa + 10, pb, pc, 5)     # pointer arithmetic: elements
    assert gpu.memcpy_device_to_host(pc, 5 * 4).tolist() == [10.5, 11.5, 12.5, 13.5, 14.5]
    log = gpu.get_kernel_log()
    assert [e["name"] for e in log] == ["add", "add"] and log[1]["block_dim"] == (64, 1, 1)
    stats = gpu.get_transfer_stats()
    assert stats["HostToDevice"] == {"count": 2, "bytes": 800}
    assert stats["DeviceToHost"] == {"count": 2, "bytes": 420}
    assert gpu.get_transfer_log()[0]["label"] == "a"


def test_pointer_indexing_views_and_int(gpu):
    p = gpu.malloc(16, dtype=np.int32, label="v")
    p[0] = 7
    (p + 3)[0] = -1
    assert p[0] == 7 and p[3] == -1 and p.size == 4
    assert int(p + 2) == int(p) + 8 and (p + 3) - p == 3
    assert p.view(np.uint8)[0] == 7 and p.view(np.uint32)[3] == 0xFFFFFFFF
    with pytest.raises(IndexError, match="'v'"):
        p[4]


def test_memory_errors(gpu):
    p = gpu.malloc(1024, label="big")
    with pytest.raises(MemoryError, match="out of device memory"):
        gpu.malloc(1 << 20, label="huge")
    gpu.free(p)
    with pytest.raises(ValueError, match="double free of 'big'"):
        gpu.free(p)
    with pytest.raises(ValueError, match="after free"):
        p[0]
    q = gpu.malloc(8, label="small")
    with pytest.raises(ValueError, match="8 bytes"):
        gpu.memcpy_host_to_device(np.zeros(4, np.float32), q)
    with pytest.raises(ValueError, match="not the start"):
        gpu.free(q + 1)
    with pytest.raises(ValueError, match="kind"):
        gpu.memcpy(q, q, 4, "Sideways")


def test_constant_memory(gpu):
    gpu.set_constant(np.array([1.5, 2.5], np.float32), offset=8)
    assert np.frombuffer(gpu.read_constant(8, 8), np.float32).tolist() == [1.5, 2.5]

    @vgpu.kernel
    def scale(threadIdx, blockIdx, blockDim, gridDim, coef, x):
        i = threadIdx.x
        x[i] = x[i] * coef[0] + coef[1]
    px = gpu.malloc(16, dtype=np.float32, label="x")
    gpu.memcpy_host_to_device(np.arange(4, dtype=np.float32), px)
    vgpu.launch_kernel(scale, 1, 4, gpu.constant_pointer(np.float32, offset=8), px)
    assert gpu.memcpy_device_to_host(px).tolist() == [2.5, 4.0, 5.5, 7.0]


def test_seed_kernel_atomics_and_printf(gpu, capfd):
    @vgpu.kernel(grid_dim=2, block_dim=32)
    def count(threadIdx, blockIdx, blockDim, gridDim, total):
        cuda.atomic.add(total, 0, 1)
        if threadIdx.x == 0 and blockIdx.x == 0:
            print("hello from block", blockIdx.x)
    t = gpu.malloc(4, dtype=np.int32, label="total")
    count(t)
    assert t[0] == 64
    assert "hello from block 0\n" in capfd.readouterr().out
