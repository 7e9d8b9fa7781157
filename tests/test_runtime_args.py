"""Launch arguments: converted once (vgpu.runtime.params) into the `.param` bytes at each ParamInfo.offset,
and every argument that does not fit its parameter is an error naming the kernel and the parameter."""
from __future__ import annotations

import numpy as np
import pytest

import vgpu
from vgpu.runtime.array import DeviceArray
from vgpu.runtime.params import ArgumentError, pack_args
from vgpu.sim import InvalidLaunch

SOURCE = r"""
__global__ void mixed(char c, double d, short s, long long q, float f, unsigned int u, int *oi, double *od) {
    oi[0] = c; oi[1] = s; oi[2] = (int)u;
    od[0] = d; od[1] = (double)q; od[2] = f;
}
__global__ void scale(float *x, int n, float a) {
    int i = threadIdx.x;
    if (i < n) x[i] = x[i] * a;
}
__global__ void store(int *out, int n) { out[0] = n; }
__global__ void anything(void *p, int n) { if (n) ((char *)p)[0] = 1; }
"""


@pytest.fixture(scope="module")
def dev():
    d = vgpu.Device(workers=0)
    yield d
    d.close()


@pytest.fixture(scope="module")
def mod():
    return vgpu.compile(SOURCE, filename="args.vk")


def test_every_type_lands_at_its_offset(dev, mod):
    k = mod.get_function("mixed")
    assert [p.offset for p in k.code.params] == [0, 8, 16, 24, 32, 36, 40, 48]
    oi, od = vgpu.zeros(3, np.int32, device=dev), vgpu.zeros(3, np.float64, device=dev)
    k(np.int8(-7), 0.1, -300, -(1 << 40), np.float32(1.5), 4_000_000_000, oi, od, device=dev)
    assert oi.copy_to_host().tolist() == [-7, -300, 4_000_000_000 - (1 << 32)]
    assert od.copy_to_host().tolist() == [0.1, float(-(1 << 40)), 1.5]


def test_the_runtime_hands_the_simulator_bytes(dev, mod):
    k = mod.get_function("store")
    out = vgpu.zeros(1, np.int32, device=dev)
    params = pack_args("store", k.code.params, [out, 42], dev)
    assert params == out.address.to_bytes(8, "little") + (42).to_bytes(4, "little")
    loaded = dev.load(mod.program)
    dev.sim.launch(loaded, "store", params, grid=(1, 1, 1), block=(1, 1, 1))
    assert out.copy_to_host()[0] == 42
    with pytest.raises(InvalidLaunch, match="takes 12 bytes of parameters, got 11"):
        dev.sim.launch(loaded, "store", params[:-1], grid=(1, 1, 1), block=(1, 1, 1))


def test_a_launch_passes_the_simulator_bytes_once_converted(mod, monkeypatch):
    from vgpu.sim import SimDevice
    seen = []
    real = SimDevice.launch

    def spy(self, loaded, kernel, params, **kw):
        seen.append(params)
        return real(self, loaded, kernel, params, **kw)

    monkeypatch.setattr(SimDevice, "launch", spy)
    with vgpu.Device(workers=0) as d:
        out = vgpu.zeros(1, np.int32, device=d)
        mod.get_function("store")[1, 1, 0, d](out, np.int64(-5))
        assert out.copy_to_host()[0] == -5
        d.close()
    assert seen == [out.address.to_bytes(8, "little") + (-5).to_bytes(4, "little", signed=True)]


@pytest.mark.parametrize("value, type_name", [
    (4294967297, "int"), (1 << 31, "int"), (-(1 << 31) - 1, "int"),
])
def test_out_of_range_integer(dev, mod, value, type_name):
    out = vgpu.zeros(1, np.int32, device=dev)
    with pytest.raises(ValueError, match=rf"store\(\): parameter 'n' \({type_name}, .*\): {value} is out of range"):
        mod.get_function("store")(out, value, device=dev)
    assert out.copy_to_host()[0] == 0                      # nothing ran


def test_integer_edges_are_accepted_and_reinterpret_wraps(dev, mod):
    k, out = mod.get_function("store"), vgpu.zeros(1, np.int32, device=dev)
    for v in (-(1 << 31), (1 << 31) - 1, True, np.uint16(65535)):
        k(out, v, device=dev)
        assert out.copy_to_host()[0] == int(v)
    k(out, 4294967297, device=dev, allow_reinterpret=True)
    assert out.copy_to_host()[0] == 1
    k(out, 0xFFFFFFFF, device=dev, allow_reinterpret=True)
    assert out.copy_to_host()[0] == -1


def test_unsigned_and_narrow_ranges(dev, mod):
    k = mod.get_function("mixed")
    oi, od = vgpu.zeros(3, np.int32, device=dev), vgpu.zeros(3, np.float64, device=dev)
    base = [1, 1.0, 1, 1, 1.0, 1, oi, od]
    for index, bad, name in ((5, -1, "u"), (5, 1 << 32, "u"), (0, 128, "c"), (2, -32769, "s"), (3, 1 << 63, "q")):
        args = list(base)
        args[index] = bad
        with pytest.raises(ValueError, match=rf"mixed\(\): parameter '{name}' .*out of range"):
            k(*args, device=dev)


def test_float_out_of_range_and_kinds(dev, mod):
    k, x = mod.get_function("scale"), vgpu.zeros(4, np.float32, device=dev)
    with pytest.raises(ValueError, match=r"scale\(\): parameter 'a' \(float\): 1e\+39 is out of range"):
        k(x, 4, 1e39, device=dev)
    k(x, 4, float("inf"), device=dev)                      # an explicit infinity is a float value
    with pytest.raises(TypeError, match=r"scale\(\): parameter 'n' is an integer \(int\), not float"):
        k(x, 4.0, 2.0, device=dev)
    with pytest.raises(TypeError, match=r"scale\(\): parameter 'x' is a pointer and takes a DeviceArray, "
                                        r"not ndarray \(copy it with vgpu.to_device first\)"):
        k(np.zeros(4, np.float32), 4, 2.0, device=dev)
    with pytest.raises(TypeError, match=r"scale\(\) takes 3 arguments \(x, n, a\), 2 given"):
        k(x, 4, device=dev)
    with pytest.raises(TypeError, match=r"parameter 'a' is a float, not str"):
        k(x, 4, "2", device=dev)


def test_array_dtype_must_match_the_pointee(dev, mod):
    k = mod.get_function("scale")
    ints = vgpu.to_device(np.array([1, 2, 3, 4], np.int32), device=dev)
    with pytest.raises(TypeError, match=r"scale\(\): parameter 'x' points to float elements, but the array "
                                        r"holds int32 \(allow_reinterpret=True or vgpuc --allow-reinterpret"):
        k(ints, 4, 2.0, device=dev)
    assert isinstance(pytest.raises(ArgumentError, k, ints, 4, 2.0, device=dev).value, TypeError)
    k(ints, 4, 1.0, device=dev, allow_reinterpret=True)     # the bits read as floats: x * 1.0 keeps them
    assert ints.copy_to_host().tolist() == [1, 2, 3, 4]
    store, u = mod.get_function("store"), vgpu.zeros(1, np.uint32, device=dev)
    store(u, 5, device=dev)                                # either signedness of the same width is fine
    assert u.copy_to_host()[0] == 5
    with pytest.raises(TypeError, match="points to int elements, but the array holds float32"):
        store(vgpu.zeros(1, np.float32, device=dev), 5, device=dev)
    mod.get_function("anything")(vgpu.zeros(3, np.float64, device=dev), 1, device=dev)   # void *: any array
    mod.get_function("anything")(None, 0, device=dev)                                  # a null pointer


def test_non_native_byte_order_array_is_rejected(dev, mod):
    raw = vgpu.zeros(4, np.float32, device=dev)
    big = DeviceArray(dev, raw.address, (4,), np.dtype(">f4"), owner=False)
    with pytest.raises(TypeError, match=r"parameter 'x': the array's dtype >f4 is not in the device's"):
        mod.get_function("scale")(big, 4, 2.0, device=dev)


def test_array_of_another_device_names_both(mod):
    with vgpu.Device(workers=0) as one, vgpu.Device(workers=0) as two:
        x = vgpu.to_device(np.ones(4, np.float32), device=one)
        with pytest.raises(ValueError) as e:
            mod.get_function("scale")(x, 4, 2.0, device=two)
        msg = str(e.value)
        assert "scale(): parameter 'x'" in msg and repr(one) in msg and repr(two) in msg
        assert repr(one) != repr(two)
        mod.get_function("scale")(x, 4, 2.0, block=4, device=one)
        assert x.copy_to_host().tolist() == [2.0] * 4


@pytest.mark.parametrize("grid, words", [((1, 2, 3, 4), "grid must be an int or a tuple of 1 to 3 ints"),
                                         ("8", "grid must be an int"), (0, "grid dimension x = 0"),
                                         ((2, 0), "grid dimension y = 0")])
def test_launch_geometry_has_one_normaliser(dev, mod, grid, words):
    with pytest.raises(InvalidLaunch, match=words):
        mod.get_function("store")(vgpu.zeros(1, np.int32, device=dev), 1, grid=grid, device=dev)


CONSTANT = """
__constant__ float taps[4];
__global__ void k(float *out) { out[threadIdx.x] = taps[threadIdx.x]; }
"""


def test_set_constant_checks_the_element_type():
    mod = vgpu.compile(CONSTANT)
    with pytest.raises(TypeError, match="'taps' holds float32 elements, but the array holds int32"):
        mod.set_constant("taps", np.arange(4, dtype=np.int32))
    mod.set_constant("taps", np.arange(4, dtype=np.int32), allow_reinterpret=True)   # the bits, as asked
    out = vgpu.zeros(4, np.float32)
    mod.get_function("k")(out, grid=1, block=4)
    assert out.copy_to_host().view(np.int32).tolist() == [0, 1, 2, 3]
    mod.set_constant("taps", np.arange(4, dtype=np.float32))
    mod.get_function("k")(out, grid=1, block=4)
    assert out.copy_to_host().tolist() == [0.0, 1.0, 2.0, 3.0]


def test_cli_constant_of_the_wrong_dtype_is_a_usage_error(tmp_path, capsys):
    from vgpu.cli import main
    (tmp_path / "k.vk").write_text(CONSTANT)
    np.save(tmp_path / "taps.npy", np.arange(4, dtype=np.int32))
    np.save(tmp_path / "out.npy", np.zeros(4, np.float32))
    code = main(["run", str(tmp_path / "k.vk"), "--kernel", "k", "--grid", "1", "--block", "4", "--workers", "0",
                 f"--constant=taps=@{tmp_path / 'taps.npy'}", f"out=@{tmp_path / 'out.npy'}"])
    err = capsys.readouterr().err
    assert code == 2 and "--constant taps" in err and "int32" in err and "Traceback" not in err
