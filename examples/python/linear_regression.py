"""Linear regression by gradient descent: a kernel computes the per-sample errors and reduces the
gradient with atomics; the host updates w and b."""
import numpy as np

from vgpu import cuda


@cuda.jit
def gradient(x, y, w, b, grad):
    i = cuda.grid(1)
    if i < x.size:
        err = w * x[i] + b - y[i]
        cuda.atomic.add(grad, 0, err * x[i])
        cuda.atomic.add(grad, 1, err)


def main(n=256, epochs=150, lr=1.0):
    rng = np.random.default_rng(6)
    x = rng.random(n)
    y = 3.0 * x - 1.0 + 0.01 * rng.standard_normal(n)
    d_x, d_y = cuda.to_device(x), cuda.to_device(y)
    w = b = 0.0
    for _ in range(epochs):
        grad = np.zeros(2)
        gradient[(n + 127) // 128, 128](d_x, d_y, w, b, grad)
        w -= lr * grad[0] / n
        b -= lr * grad[1] / n
    assert abs(w - 3.0) < 0.02 and abs(b + 1.0) < 0.02
    print(f"w={w:.3f} b={b:.3f}")
    return w, b


if __name__ == "__main__":
    main()
