"""2-D convolution: the 3x3 filter in constant memory, a (B+2)x(B+2) input tile with its halo in shared memory."""
import numpy as np

from vgpu import cuda

B = 8
FILTER = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 16


@cuda.jit
def conv2d(img, out):
    f = cuda.const.array_like(FILTER)
    tile = cuda.shared.array((B + 2, B + 2), np.float32)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    x0, y0 = cuda.blockIdx.x * B, cuda.blockIdx.y * B
    h, w = img.shape
    for dy in range(ty, B + 2, B):            # load the tile and its halo (zero outside the image)
        for dx in range(tx, B + 2, B):
            y, x = y0 + dy - 1, x0 + dx - 1
            tile[dy, dx] = img[y, x] if 0 <= y < h and 0 <= x < w else 0
    cuda.syncthreads()
    y, x = y0 + ty, x0 + tx
    if y < h and x < w:
        acc = np.float32(0)
        for i in range(3):
            for j in range(3):
                acc += f[i, j] * tile[ty + i, tx + j]
        out[y, x] = acc


def reference(img):
    p = np.pad(img, 1)
    out = np.zeros_like(img)
    for i in range(3):
        for j in range(3):
            out += FILTER[i, j] * p[i:i + img.shape[0], j:j + img.shape[1]]
    return out


def main(h=19, w=23):
    img = np.random.default_rng(3).random((h, w)).astype(np.float32)
    out = np.zeros_like(img)
    conv2d[((w + B - 1) // B, (h + B - 1) // B), (B, B)](img, out)
    assert np.allclose(out, reference(img), atol=1e-6)
    print(out[:2, :4])
    return out


if __name__ == "__main__":
    main()
