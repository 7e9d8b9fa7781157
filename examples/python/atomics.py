"""Atomics: every thread adds into one counter and a histogram (snippet and the atomic-sum example)."""
import numpy as np

import vgpu
from vgpu import cuda


@vgpu.kernel
def atomic_sum(threadIdx, blockIdx, blockDim, gridDim, x, total, hist, n):
    i = blockIdx.x * blockDim.x + threadIdx.x
    if i < n:
        cuda.atomic.add(total, 0, x[i])
        cuda.atomic.add(hist, x[i] % 4, 1)


def main():
    gpu = vgpu.VirtualGPU()
    vgpu.VirtualGPU.set_current(gpu)
    n = 1000
    x = np.random.default_rng(0).integers(0, 100, n).astype(np.int32)
    px = gpu.malloc(n * 4, np.int32, "x")
    total, hist = gpu.malloc(4, np.int32, "total"), gpu.malloc(16, np.int32, "hist")
    gpu.memcpy_host_to_device(x, px)
    gpu.launch_kernel(atomic_sum, (n + 255) // 256, 256, px, total, hist, n)
    assert total[0] == x.sum()
    assert gpu.memcpy_device_to_host(hist).tolist() == np.bincount(x % 4, minlength=4).tolist()
    print("sum", total[0])
    return int(total[0])


if __name__ == "__main__":
    main()
