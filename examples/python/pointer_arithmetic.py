"""Pointer arithmetic on DevicePointers: `p + k` moves k elements; a kernel sees the rest of the allocation."""
import numpy as np

import vgpu


@vgpu.kernel
def double(threadIdx, blockIdx, blockDim, gridDim, x, n):
    i = blockIdx.x * blockDim.x + threadIdx.x
    if i < n:
        x[i] = x[i] * 2


def main():
    gpu = vgpu.VirtualGPU()
    vgpu.VirtualGPU.set_current(gpu)
    p = gpu.malloc(10 * 4, dtype=np.int32, label="ints")
    gpu.memcpy_host_to_device(np.arange(10, dtype=np.int32), p)
    q = p + 4                                     # element 4
    gpu.launch_kernel(double, 1, 32, q, 3)        # doubles elements 4, 5, 6
    out = gpu.memcpy_device_to_host(p, 40)
    assert out.tolist() == [0, 1, 2, 3, 8, 10, 12, 7, 8, 9]
    assert q[0] == 8 and int(q) - int(p) == 16
    print(out)
    return out


if __name__ == "__main__":
    main()
