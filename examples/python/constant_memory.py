"""Constant memory: the host writes coefficients with set_constant, every thread reads them."""
import numpy as np

import vgpu


@vgpu.kernel
def poly(threadIdx, blockIdx, blockDim, gridDim, coef, x, y, n):
    i = blockIdx.x * blockDim.x + threadIdx.x
    if i < n:
        v = x[i]
        y[i] = coef[0] + v * (coef[1] + v * coef[2])


def main():
    gpu = vgpu.VirtualGPU()
    vgpu.VirtualGPU.set_current(gpu)
    c = np.array([1.0, -2.0, 0.5], np.float64)
    gpu.set_constant(c)
    assert np.frombuffer(gpu.read_constant(0, 24), np.float64).tolist() == c.tolist()
    n = 64
    x = np.linspace(-2, 2, n)
    px, py = gpu.malloc(n * 8, np.float64, "x"), gpu.malloc(n * 8, np.float64, "y")
    gpu.memcpy_host_to_device(x, px)
    gpu.launch_kernel(poly, 1, 64, gpu.constant_pointer(np.float64), px, py, n)
    y = gpu.memcpy_device_to_host(py)
    assert np.allclose(y, c[0] + x * (c[1] + x * c[2]), rtol=1e-15)
    print(y[:4])
    return y


if __name__ == "__main__":
    main()
