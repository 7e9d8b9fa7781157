"""The project's own tests, as a Numba user writes them (run on vgpu by tests/test_python_numba_compat.py)."""
import numpy as np


def test_vector_add():
    from numba import cuda
    from kernels import vector_add
    a = np.arange(100, dtype=np.float32)
    d_out = cuda.device_array_like(a)
    vector_add[1, 128](cuda.to_device(a), cuda.to_device(a), d_out)
    cuda.synchronize()
    np.testing.assert_array_equal(d_out.copy_to_host(), a * 2)


def test_histogram_counts_everything():
    from kernels import histogram
    data = np.arange(1000, dtype=np.int32)
    bins = np.zeros(10, np.int32)
    histogram[4, 64](data, bins)
    assert bins.sum() == 1000 and (bins == 100).all()
