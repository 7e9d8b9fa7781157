"""Logistic regression on two Gaussian blobs: a kernel for the gradient (sigmoid, atomics), host updates."""
import math

import numpy as np

from vgpu import cuda


@cuda.jit(device=True)
def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


@cuda.jit
def gradient(x, y, w, grad):
    i = cuda.grid(1)
    if i < y.size:
        z = w[0] * x[i, 0] + w[1] * x[i, 1] + w[2]
        err = sigmoid(z) - y[i]
        cuda.atomic.add(grad, 0, err * x[i, 0])
        cuda.atomic.add(grad, 1, err * x[i, 1])
        cuda.atomic.add(grad, 2, err)


def main(n=200, epochs=40):
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(-1.5, 1, (n // 2, 2)), rng.normal(1.5, 1, (n // 2, 2))])
    y = np.concatenate([np.zeros(n // 2), np.ones(n // 2)])
    d_x, d_y = cuda.to_device(x), cuda.to_device(y)
    w = np.zeros(3)
    for _ in range(epochs):
        grad = np.zeros(3)
        gradient[(n + 127) // 128, 128](d_x, d_y, w, grad)
        w -= 1.0 * grad / n
    acc = (((x @ w[:2] + w[2]) > 0) == (y > 0.5)).mean()
    assert acc > 0.9
    print("accuracy", acc)
    return acc


if __name__ == "__main__":
    main()
