"""A small MLP (1 -> H tanh -> 1) fitting sin(x) by full-batch gradient descent; forward and backward
are kernels, one thread per sample, weight gradients reduced with atomics."""
import math

import numpy as np

from vgpu import cuda

H = 16


@cuda.jit
def forward_backward(x, y, w1, b1, w2, b2, g_w1, g_b1, g_w2, g_b2, loss):
    i = cuda.grid(1)
    if i < x.size:
        h = cuda.local.array(H, np.float64)
        out = b2[0]
        for j in range(H):
            h[j] = math.tanh(w1[j] * x[i] + b1[j])
            out += w2[j] * h[j]
        err = out - y[i]
        cuda.atomic.add(loss, 0, err * err)
        cuda.atomic.add(g_b2, 0, err)
        for j in range(H):
            cuda.atomic.add(g_w2, j, err * h[j])
            dh = err * w2[j] * (1 - h[j] * h[j])
            cuda.atomic.add(g_w1, j, dh * x[i])
            cuda.atomic.add(g_b1, j, dh)


def main(n=64, epochs=60, lr=0.2):
    rng = np.random.default_rng(8)
    x = np.linspace(-math.pi, math.pi, n)
    y = np.sin(x)
    w1, b1 = rng.standard_normal(H), rng.standard_normal(H) * 0.1
    w2, b2 = rng.standard_normal(H) * 0.3, np.zeros(1)
    d_x, d_y = cuda.to_device(x), cuda.to_device(y)
    losses = []
    for _ in range(epochs):
        grads = [np.zeros(H), np.zeros(H), np.zeros(H), np.zeros(1)]
        loss = np.zeros(1)
        forward_backward[1, n](d_x, d_y, w1, b1, w2, b2, *grads, loss)
        for p, g in zip((w1, b1, w2, b2), grads):
            p -= lr * g / n
        losses.append(loss[0] / n)
    assert losses[-1] < 0.5 * losses[0]
    print(f"mse {losses[0]:.4f} -> {losses[-1]:.4f}")
    return losses


if __name__ == "__main__":
    main()
