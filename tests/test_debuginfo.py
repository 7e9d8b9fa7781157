"""The compiler's debug information, checked by running: at every breakpoint stop, every variable in
scope prints its model value in every active lane (or `<optimised out>`, never another value).

Each kernel has a model in plain Python that yields, per thread, the snapshots of its variables at
the lines marked `// BP name`; a stop of a warp at such a line consumes the next snapshot of each of
its active lanes.  Kernels: loops with reassignment, if/else joins, shadowing, an inlined device
function, a copy sharing a register (loops.vk), register pressure with spills (pressure.vk), a Python
kernel (pyloops.py); and the fuzzer's random kernels against their C model.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import vgpu
from vgpu import pipeline
from vgpu.debug import Session
from vgpu.debug.expr import OPTIMISED_OUT
from vgpu.isa import asm, debuginfo, disasm
from vgpu.isa.program import Mem

HERE = Path(__file__).parent / "debuginfo_kernels"


def bp_lines(path: Path) -> dict[int, str]:
    """Line number -> breakpoint name of the `// BP name` marks of a file."""
    out = {}
    for k, text in enumerate(path.read_text().splitlines()):
        if "# BP " in text or "// BP " in text:
            out[k + 1] = text.split("BP ", 1)[1].strip()
    return out


def check_session(s: Session, path: Path, model, nthreads: int, min_checked: dict[str, int]) -> dict[str, int]:
    """Run `s` to the end, stopping at every BP line of `path`; compare every visible variable of every
    active lane with the lane's next model snapshot there.  Returns how many values were compared per
    variable name (optimised-out ones are not counted) and asserts the minimum counts."""
    lines = bp_lines(path)
    snaps = {t: {} for t in range(nthreads)}
    for t in range(nthreads):
        for name, values in model(t):
            snaps[t].setdefault(name, []).append(values)
    for ln in lines:
        s.break_at(ln)
    checked: dict[str, int] = {}
    stops = 0
    stop = s.run()
    while stop.reason != "exited":
        assert stop.reason == "breakpoint", stop
        stops += 1
        tag = lines[stop.line]
        names = debuginfo.visible(s.code, stop.pc)
        for block, warp, mask in stop.issuing:            # every warp running the line now
            s.focus(block=block)
            s.focus_warp(warp)
            expected = {lane: snaps[warp * 32 + lane][tag].pop(0) for lane in range(32) if mask >> lane & 1}
            for name, var in names.items():
                if s.code.debug_vars[var].ctype.endswith("*"):
                    continue                               # pointers: checked by the values they index
                got = s.print(name, all_lanes=True)
                if isinstance(got, str):
                    assert got == OPTIMISED_OUT
                    continue
                for lane, want in expected.items():
                    assert name in want, f"{name} is visible at BP {tag} (line {stop.line}) but not in the model"
                    assert got[lane] == want[name], (f"BP {tag} (line {stop.line}, pc {stop.pc}), thread "
                                                     f"{warp * 32 + lane}: {name} = {got[lane]}, model {want[name]}")
                    checked[name] = checked.get(name, 0) + 1
        stop = s.cont()
    left = {t: {k: len(v) for k, v in d.items() if v} for t, d in snaps.items()}
    assert not any(left.values()), f"model snapshots never reached: {left}"
    for name, n in min_checked.items():
        assert checked.get(name, 0) >= n, f"{name} compared {checked.get(name, 0)} times, expected >= {n}: {checked}"
    return checked


def loops_model(i: int, n: int = 4):
    acc, x, same, p, q = i, 1, i, i * 3, i + 7
    for j in range(n):
        t = acc + j
        x = x * 2 if (t & 1) == 0 else x + i
        yield "join", dict(i=i, acc=acc, x=x, same=same, p=p, q=q, j=j, t=t, n=n)
        m = t * 3 + x
        if m > 20:
            m -= 7
        yield "mix", dict(a=t, b=x, m=m)
        acc = m
        yield "shadow", dict(i=i, acc=acc, x=acc - 5, same=same, p=p, q=q, j=j, t=t, n=n)
        acc ^= j
        yield "after", dict(i=i, acc=acc, x=x, same=same, p=p, q=q, j=j, t=t, n=n)
    yield "end", dict(i=i, acc=acc, x=x, same=same, p=p, q=q, n=n)


def compiled(name: str, max_registers=None):
    return pipeline.compile_path(str(HERE / name), max_registers=max_registers)


@pytest.fixture
def dev():
    d = vgpu.Device(workers=0)
    yield d
    d.close()


@pytest.mark.parametrize("max_registers", [None, 8])
def test_loops_ifs_shadowing_inlining(dev, max_registers):
    prog = compiled("loops.vk", max_registers)
    out = np.zeros(64, np.int32)
    s = Session(vgpu.Module(prog).get_function("k1"), out, 4, grid=1, block=64, device=dev)
    got = check_session(s, HERE / "loops.vk", loops_model, 64,
                        {"i": 64 * 12, "acc": 64 * 8, "x": 64 * 8, "j": 64 * 8, "t": 64 * 4, "m": 64 * 4,
                         "b": 64, "same": 64 * 4, "n": 64, "p": 64 * 4, "q": 64 * 4})
    assert got["x"] >= 64 * 12 if max_registers is None else True   # outer and shadowing x both shown


def pressure_model(i: int, n: int = 3):
    a, b, c, d, e = i * 3, i * 5, i * 7, i * 11, i * 13
    f = np.float32(i * 0.5)
    for k in range(n):
        a += b * k
        c += d + e
        yield "loop", dict(i=i, a=a, b=b, c=c, d=d, e=e, f=f, k=k, n=n)
        e += a
        f = np.float32(f * np.float32(2.0) + np.float32(c))
    yield "end", dict(i=i, a=a, b=b, c=c, d=d, e=e, f=f, n=n)


def test_spilled_variables_under_register_pressure(dev):
    prog = compiled("pressure.vk", max_registers=8)
    code = prog.kernels["k2"]
    spilled = {code.debug_vars[v].name for v, _, _, loc in debuginfo.table(code)
               if isinstance(loc, Mem) and loc.base.name == "__spill" and not code.debug_vars[v].ctype.endswith("*")}
    assert spilled, "the register budget should force spills"
    out = np.zeros(32, np.int32)
    s = Session(vgpu.Module(prog).get_function("k2"), out, 3, grid=1, block=32, device=dev)
    got = check_session(s, HERE / "pressure.vk", pressure_model, 32, {})
    assert all(got.get(name, 0) >= 32 for name in spilled), (spilled, got)     # read from their slots
    assert sum(got.values()) >= 32 * 20


def test_python_kernel(dev):
    spec = importlib.util.spec_from_file_location("pyloops_dbg", HERE / "pyloops.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["pyloops_dbg"] = mod
    spec.loader.exec_module(mod)

    def model(i, n=4):
        acc, x = i, 1
        for j in range(n):
            t = acc + j
            x = x * 2 if t % 2 == 0 else x + i
            yield "join", dict(i=i, acc=acc, x=x, j=j, t=t, n=n)
            m = t * 3 + x
            if m > 20:
                m -= 7
            acc = m
            yield "after", dict(i=i, acc=acc, x=x, j=j, t=t, n=n)
        yield "end", dict(i=i, acc=acc, x=x, j=n - 1, t=t, n=n)

    out = np.zeros(32, np.int64)
    s = Session(mod.k3, out, np.int64(4), grid=1, block=32, device=dev)
    check_session(s, HERE / "pyloops.py", model, 32, {"i": 32 * 9, "acc": 32 * 4, "x": 32 * 9, "t": 32 * 4})


def test_listing_round_trips_with_debug_info():
    for name, mr in (("loops.vk", None), ("pressure.vk", 8)):
        prog = compiled(name, mr)
        text = disasm.disassemble(prog, debug_info=True)
        back = asm.assemble(text, name + ".vasm")
        assert disasm.disassemble(back, debug_info=True) == text
        for k, code in prog.kernels.items():
            assert back.kernels[k].debug_vars == code.debug_vars
            assert back.kernels[k].debug_ranges == debuginfo.table(code)


def test_info_locals_shadowing_and_optimised_out(dev):
    """`info locals` at the shadowing block shows the inner x; inside the inlined mix() only mix's
    variables; a variable whose value is gone reads `<optimised out>` (never a reused register)."""
    prog = compiled("loops.vk")
    out = np.zeros(32, np.int32)
    s = Session(vgpu.Module(prog).get_function("k1"), out, 4, grid=1, block=32, device=dev)
    lines = {v: k for k, v in bp_lines(HERE / "loops.vk").items()}
    s.break_at(lines["shadow"])
    s.run()
    s.focus(thread=(5, 0, 0))
    snap = next(v for tag, v in loops_model(5) if tag == "shadow")
    got = s.info_locals()
    assert list(got)[0] == "x" and got["x"] == snap["x"] and got["acc"] == snap["acc"]
    assert {"i", "j", "t", "same", "n", "p", "q"} <= set(got)
    s.delete()
    s.break_at(lines["mix"])
    s.cont()
    assert set(s.info_locals()) == {"a", "b", "m", "o"}
    code = prog.kernels["k1"]
    gone = [d.name for v, d in enumerate(code.debug_vars) if d.func == "mix"
            and debuginfo.location_at(code, v, s.stop.pc) is None]
    for name in gone:
        assert s.print(name) == OPTIMISED_OUT
