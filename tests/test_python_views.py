"""Array views in Python kernels (a[:, j], a[i], a[lo:hi:step], a[..., j]) with Numba's semantics:
values as NumPy's basic indexing gives them, stores through views landing in the array, layouts as
numba's typing infers them, and F-contiguous / broadcast / 'A'-signature arguments."""
import itertools

import numpy as np
import pytest

from vgpu import cuda
from vgpu.frontend.python import ntypes as N
from vgpu.frontend.python.views import layout_of


@cuda.jit
def slice3(a, lo, hi, st, out, n):
    v = a[lo:hi:st]
    n[0] = v.size
    for j in range(v.size):
        out[j] = v[j]


@cuda.jit
def slice_open(a, lo, hi, st, out, n):
    v = a[lo::st]
    w = a[:hi:st]
    x = a[::st]
    n[0], n[1], n[2] = v.size, w.size, x.size
    for j in range(v.size):
        out[j] = v[j]
    for j in range(w.size):
        out[20 + j] = w[j]
    for j in range(x.size):
        out[40 + j] = x[j]


def test_one_d_slices_match_python():
    a = np.arange(10, dtype=np.float32) * 1.5
    vals = [None, -12, -10, -3, -1, 0, 2, 5, 9, 10, 15]
    for lo, hi, st in itertools.product(vals[1:], vals[1:], [-3, -1, 1, 2, 4]):
        out, n = np.zeros(20, np.float32), np.zeros(1, np.int64)
        slice3[1, 1](a, lo, hi, st, out, n)
        ref = a[lo:hi:st]
        assert n[0] == ref.size and out[:ref.size].tolist() == ref.tolist(), (lo, hi, st)
    for lo, st in itertools.product([-12, -3, 0, 4, 10, 15], [-2, -1, 1, 3]):
        out, n = np.zeros(60, np.float32), np.zeros(3, np.int64)
        slice_open[1, 1](a, lo, lo, st, out, n)
        for k, ref in enumerate((a[lo::st], a[:lo:st], a[::st])):
            assert n[k] == ref.size and out[20 * k:20 * k + ref.size].tolist() == ref.tolist(), (lo, st, k)


@cuda.jit
def views2d(a, out):
    i = cuda.grid(1)
    if i < a.shape[0]:
        col = a[:, 1]                  # strided column ('A' layout)
        out[i, 0] = col[i]
        row = a[i]                     # a row: 'C' layout
        out[i, 1] = row[2] + row[-1]
        sub = a[1:3, ::2]              # two rows, every other column
        out[i, 2] = sub[i % 2, 1] if sub.shape[1] > 1 else -1.0
        rev = a[::-1, 3]
        out[i, 3] = rev[i]
        e = a[..., 0]
        out[i, 4] = e[i] + a[i, ...][1]
        out[i, 5] = a[i, ::-1][0] + a[i][::3].size
    cuda.syncthreads()
    if i < a.shape[0]:
        c = a[:, 4]
        c[i] = -c[i]                   # a store through a strided view lands in the array
        a[i, 1:3][0] = i * 100


def test_two_d_views_and_stores_match_numpy():
    a = np.arange(20, dtype=np.float64).reshape(4, 5)
    out = np.zeros((4, 6))
    ref_a = a.copy()
    views2d[1, 4](a, out)
    ref = np.zeros((4, 6))
    for i in range(4):
        sub = ref_a[1:3, ::2]
        ref[i] = [ref_a[:, 1][i], ref_a[i][2] + ref_a[i][-1], sub[i % 2, 1], ref_a[::-1, 3][i],
                  ref_a[..., 0][i] + ref_a[i, ...][1], ref_a[i, ::-1][0] + ref_a[i][::3].size]
    ref_a[:, 4] *= -1
    ref_a[:, 1] = np.arange(4) * 100
    assert out.tolist() == ref.tolist()
    assert a.tolist() == ref_a.tolist()


@cuda.jit
def colsum(a, out):
    j = cuda.grid(1)
    if j < a.shape[1]:
        c = a[:, j]
        s = 0.0
        for i in range(c.shape[0]):
            s += c[i]
        out[j] = s


def test_fortran_and_broadcast_arguments_keep_their_strides():
    f = np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4))
    out = np.zeros(4)
    colsum[1, 4](f, out)
    assert out.tolist() == f.sum(axis=0).tolist()
    assert list(colsum.inspect_types())[-1] == "(array(float64, 2d, F), array(float64, 1d, C))"
    bc = np.broadcast_to(np.arange(4.0), (3, 4))        # stride 0 rows, as numba-cuda passes it
    colsum[1, 4](bc, out)
    assert out.tolist() == (3 * np.arange(4.0)).tolist()
    assert list(colsum.inspect_types())[-1] == "(array(float64, 2d, A), array(float64, 1d, C))"


def test_any_layout_signature_accepts_c_and_f_arrays():
    k = cuda.jit("void(float64[:, :], float64[::1])")(colsum.py_func)
    for a in (np.arange(6.0).reshape(2, 3), np.asfortranarray(np.arange(6.0).reshape(2, 3))):
        out = np.zeros(3)
        k[1, 3](a, out)
        assert out.tolist() == a.sum(axis=0).tolist()
    assert [str(t) for t in N.parse_signature("void(float32[:], int8[::1], float64[::1, :], float64[:, ::1])")] \
        == ["array(float32, 1d, A)", "array(int8, 1d, C)", "array(float64, 2d, F)", "array(float64, 2d, C)"]


arraydecl = pytest.importorskip("numba.core.typing.arraydecl")
numba_types = pytest.importorskip("numba.core.types")


def _numba_index(kind):
    t = numba_types
    return {"int": t.intp, "slice": t.slice2_type, "step": t.slice3_type, "ellipsis": t.ellipsis}[kind]


def test_view_layouts_match_numbas_typing():
    checked = 0
    for layout, ndim in itertools.product("CFA", (1, 2, 3)):
        ary = numba_types.Array(numba_types.float32, ndim, layout)
        for n in range(1, ndim + 2):
            for kinds in itertools.product(("int", "slice", "step", "ellipsis"), repeat=n):
                if kinds.count("ellipsis") > 1:
                    continue
                n_idx = n - kinds.count("ellipsis")
                if n_idx > ndim:
                    continue
                res = arraydecl.get_array_index_type(ary, numba_types.Tuple([_numba_index(k) for k in kinds]))
                if not isinstance(res.result, numba_types.Array) or res.result.ndim == 0:
                    continue
                mine = layout_of(N.Array(N.FLOAT32, ndim, layout=layout), list(kinds), n_idx, "ellipsis" in kinds)
                assert mine == res.result.layout, (layout, ndim, kinds)
                checked += 1
    assert checked > 200


@cuda.jit
def fills(a, b):
    i = cuda.grid(1)
    if i < a.shape[0]:
        a[i, :] = 0
        a[i, 1:3] = i + 0.5
    cuda.syncthreads()
    if i == 0:
        a[:, 3] = -1
        b[::2] = 7.9                   # converted to the dtype (int32: 7) as Numba's cast
        b[-1] = 9


def test_storing_a_number_into_views():
    a, b = np.ones((4, 5)), np.zeros(7, np.int32)
    fills[1, 4](a, b)
    ref_a, ref_b = np.ones((4, 5)), np.zeros(7, np.int32)
    for i in range(4):
        ref_a[i, :] = 0
        ref_a[i, 1:3] = i + 0.5
    ref_a[:, 3] = -1
    ref_b[::2] = 7
    ref_b[-1] = 9
    assert a.tolist() == ref_a.tolist() and b.tolist() == ref_b.tolist()


@cuda.jit
def colsum_dev(a, out):
    j = cuda.grid(1)
    if j < a.shape[1]:
        s = 0.0
        for i in range(a.shape[0]):
            s += a[i, j]
        out[j] = s


def test_device_array_views_keep_their_strides():
    h = np.arange(24, dtype=np.float64).reshape(4, 6)
    d = cuda.to_device(h)
    for view, ref in ((d[:, ::2], h[:, ::2]), (d[::-1, 1:4], h[::-1, 1:4]), (d[1:3], h[1:3])):
        assert view.shape == ref.shape and view.strides == ref.strides
        assert view.copy_to_host().tolist() == ref.tolist()
        out = cuda.device_array(ref.shape[1])
        colsum_dev[1, 8](view, out)
        assert out.copy_to_host().tolist() == ref.sum(axis=0).tolist()
    assert d[1, 2] == 8.0 and d[-1][-1] == 23.0
    f = cuda.to_device(np.asfortranarray(h))                 # numba-cuda keeps the Fortran strides
    assert f.strides == (8, 32) and f.flags["F_CONTIGUOUS"] and f.copy_to_host().tolist() == h.tolist()
    out = cuda.device_array(6)
    colsum_dev[1, 8](f, out)
    assert out.copy_to_host().tolist() == h.sum(axis=0).tolist()
    assert [k.split(", ")[2] for k in colsum_dev.inspect_types()][:3] == ["A)", "C)", "F)"]
    assert cuda.device_array_like(np.asfortranarray(h)).strides == (8, 32)


@cuda.jit
def transposed(a, o, s):
    i, j = cuda.grid(2)
    at = a.T
    if i < at.shape[0] and j < at.shape[1]:
        o[i, j] = at[i, j]
    if i == 0 and j == 0:
        s[0], s[1] = a.strides
        s[2] = a[:, 1].strides[0]
        s[3] = at.T[1, 2]


def test_transpose_and_strides_attributes():
    a = np.arange(12.0).reshape(3, 4)
    for arg in (a, np.asfortranarray(a)):
        o, s = np.zeros((4, 3)), np.zeros(4, np.int64)
        transposed[(1, 1), (4, 4)](arg, o, s)
        assert o.tolist() == a.T.tolist()
        assert s.tolist() == [*arg.strides, arg[:, 1].strides[0], 6]


SHAPE = (2, 3)


@cuda.jit
def local_tuples(o):
    a = cuda.local.array((2, 3), np.float32)
    b = cuda.local.array(SHAPE, dtype=np.int64)
    c = cuda.local.array(shape=(4,), dtype=np.float64)
    for i in range(2):
        for j in range(3):
            a[i, j] = i * 10 + j
            b[i, j] = a[i, j] * 2
    c[3] = b[1, 2]
    row = a[1]
    o[0] = c[3] + a.shape[1] + b.size + row[2]


def test_local_arrays_with_tuple_shapes():
    o = np.zeros(1)
    local_tuples[1, 1](o)
    assert o[0] == 24 + 3 + 6 + 12
