"""A fused Adam optimiser step: one kernel updates the moments and the parameters together."""
import math

import numpy as np

from vgpu import cuda


@cuda.jit
def adam(param, grad, m, v, lr, beta1, beta2, eps, step):
    i = cuda.grid(1)
    if i < param.size:
        g = grad[i]
        m[i] = beta1 * m[i] + (1 - beta1) * g
        v[i] = beta2 * v[i] + (1 - beta2) * g * g
        mhat = m[i] / (1 - beta1 ** step)
        vhat = v[i] / (1 - beta2 ** step)
        param[i] -= lr * mhat / (math.sqrt(vhat) + eps)


def main(n=500, steps=5):
    rng = np.random.default_rng(5)
    p = rng.standard_normal(n).astype(np.float32)
    target = np.zeros(n, np.float32)
    m, v = np.zeros(n, np.float32), np.zeros(n, np.float32)
    d_p, d_m, d_v = cuda.to_device(p), cuda.to_device(m), cuda.to_device(v)
    ref_p, ref_m, ref_v = p.astype(np.float64), m.astype(np.float64), v.astype(np.float64)
    for step in range(1, steps + 1):
        grad = 2 * (d_p.copy_to_host() - target)
        adam[(n + 127) // 128, 128](d_p, cuda.to_device(grad), d_m, d_v, 0.01, 0.9, 0.999, 1e-8, step)
        g = 2 * (ref_p - target)
        ref_m = 0.9 * ref_m + 0.1 * g
        ref_v = 0.999 * ref_v + 0.001 * g * g
        ref_p = ref_p - 0.01 * (ref_m / (1 - 0.9 ** step)) / (np.sqrt(ref_v / (1 - 0.999 ** step)) + 1e-8)
    out = d_p.copy_to_host()
    assert np.allclose(out, ref_p, atol=1e-5)
    assert np.abs(out).mean() < np.abs(p).mean()
    print("mean |p|:", np.abs(p).mean(), "->", np.abs(out).mean())
    return out


if __name__ == "__main__":
    main()
