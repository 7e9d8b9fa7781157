"""The seed's vector multiply: c = a * b elementwise, one thread per element."""
import numpy as np

import vgpu


@vgpu.kernel
def vmul(threadIdx, blockIdx, blockDim, gridDim, a, b, c, n):
    i = blockIdx.x * blockDim.x + threadIdx.x
    if i < n:
        c[i] = a[i] * b[i]


def main(n=1000):
    gpu = vgpu.VirtualGPU()
    vgpu.VirtualGPU.set_current(gpu)
    rng = np.random.default_rng(1)
    a, b = rng.random(n).astype(np.float32), rng.random(n).astype(np.float32)
    pa, pb, pc = (gpu.malloc(n * 4, np.float32, s) for s in "abc")
    gpu.memcpy_host_to_device(a, pa)
    gpu.memcpy_host_to_device(b, pb)
    gpu.launch_kernel(vmul, ((n + 127) // 128, 1, 1), (128, 1, 1), pa, pb, pc, n)
    c = gpu.memcpy_device_to_host(pc, n * 4)
    assert np.array_equal(c, a * b)
    print(gpu.get_transfer_stats())
    return c


if __name__ == "__main__":
    main()
