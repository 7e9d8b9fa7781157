"""The seed's mixed-precision example: weights and activations stored as float16 (half the memory and
bandwidth), products accumulated in float32, results rounded back to float16 once; and a float16 update
step with cuda.fp16.hfma.  Every result is checked bit for bit against NumPy."""
import numpy as np

import vgpu
from vgpu import cuda


@vgpu.kernel
def matvec_f16(threadIdx, blockIdx, blockDim, gridDim, W, x, y, acc_out, rows, cols):
    """y = W @ x with float16 storage and float32 accumulation (the seed's signature)."""
    i = blockIdx.x * blockDim.x + threadIdx.x
    if i < rows:
        acc = np.float32(0.0)
        for j in range(cols):
            acc += np.float32(W[i * cols + j]) * np.float32(x[j])    # float16 * float16 is exact in float32
        acc_out[i] = acc
        y[i] = acc                                                    # rounded to float16 on the store


@cuda.jit
def sgd_f16(w, grad, lr):
    """w -= lr * grad, all in float16: one fused multiply-add rounded once (__hfma)."""
    i = cuda.grid(1)
    if i < w.size:
        w[i] = cuda.fp16.hfma(-lr, grad[i], w[i])


def main(rows=96, cols=64):
    gpu = vgpu.VirtualGPU()
    vgpu.VirtualGPU.set_current(gpu)
    rng = np.random.default_rng(16)
    W = (rng.standard_normal((rows, cols)) / 8).astype(np.float16)
    x = rng.standard_normal(cols).astype(np.float16)
    pW, px = gpu.malloc(W.nbytes, np.float16, "W"), gpu.malloc(x.nbytes, np.float16, "x")
    py, pacc = gpu.malloc(rows * 2, np.float16, "y"), gpu.malloc(rows * 4, np.float32, "acc")
    gpu.memcpy_host_to_device(W.ravel(), pW)
    gpu.memcpy_host_to_device(x, px)
    gpu.launch_kernel(matvec_f16, ((rows + 31) // 32, 1, 1), (32, 1, 1), pW, px, py, pacc, rows, cols)
    y = gpu.memcpy_device_to_host(py, rows * 2)
    acc = gpu.memcpy_device_to_host(pacc, rows * 4)
    want = np.zeros(rows, np.float32)
    for j in range(cols):                      # the same order of additions as each thread
        want = want + W[:, j].astype(np.float32) * x[j].astype(np.float32)
    assert acc.tobytes() == want.tobytes() and y.tobytes() == want.astype(np.float16).tobytes()
    naive = np.zeros(rows, np.float16)         # accumulating in float16 loses what float32 keeps
    for j in range(cols):
        naive = naive + W[:, j] * x[j]
    exact = W.astype(np.float64) @ x.astype(np.float64)
    err32, err16 = np.abs(y - exact).max(), np.abs(naive - exact).max()
    assert err32 <= err16

    w = (rng.standard_normal(1000) / 4).astype(np.float16)
    g = rng.standard_normal(1000).astype(np.float16)
    lr = np.float16(0.01)
    d_w = cuda.to_device(w)
    sgd_f16[(w.size + 127) // 128, 128](d_w, cuda.to_device(g), lr)
    out = d_w.copy_to_host()
    # -lr * g is exact in float64 and so is adding w (22 + 11 bits): one rounding to float16, as __hfma
    assert out.tobytes() == (-lr.astype(np.float64) * g + w).astype(np.float16).tobytes()
    print(f"matvec {rows}x{cols}: max error float32 accumulation {err32:.3g}, float16 accumulation {err16:.3g}")
    print(f"sgd step on {w.size} float16 weights: mean |w| {np.abs(w).mean():.4f} -> {np.abs(out).mean():.4f}")
    return y, out


if __name__ == "__main__":
    main()
