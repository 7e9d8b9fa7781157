"""vgpu.debug.Session driven from Python: breakpoints in divergent code, the SIMT stack pushing and
popping, variables in every lane, shared memory after a barrier, a watchpoint on a racing write, a
fault stopping the session at its line, replay to a step, a Python kernel, notebook rendering."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import vgpu
from vgpu import pipeline
from vgpu.debug import DebugError, Session
from vgpu.isa import debuginfo
from vgpu.isa.program import Mem

HERE = Path(__file__).parent / "debug_kernels"


def kernel(name: str, file: str):
    return vgpu.Module(pipeline.compile_path(str(HERE / file))).get_function(name)


def line_of(file: str, text: str) -> int:
    lines = (HERE / file).read_text().splitlines()
    return next(k + 1 for k, ln in enumerate(lines) if text in ln)


@pytest.fixture
def dev():
    d = vgpu.Device(workers=0)
    yield d
    d.close()


def divergent(dev, n=64):
    out = np.zeros(n, np.int32)
    return Session(kernel("divergent", "divergent.vk"), out, n, grid=1, block=n, device=dev), out


def expected_divergent(n):
    i = np.arange(n)
    v = np.where(i % 2 == 0, i * 10, i + 100)
    return v + np.array([sum(range(k % 4)) for k in i])


def test_breakpoint_in_divergent_if_shows_pushed_entry_and_mask(dev):
    s, _ = divergent(dev)
    s.break_at(line_of("divergent.vk", "v = i * 10"))
    stop = s.run()
    assert stop.reason == "breakpoint" and stop.line == line_of("divergent.vk", "v = i * 10")
    stack = s.info_stack()
    assert len(stack) == 3                                    # then-path, else-path, reconvergence entry
    assert stack[0].mask == 0x55555555 and stack[1].mask == 0xAAAAAAAA and stack[2].mask == 0xFFFFFFFF
    assert stack[0].rpc == stack[1].rpc == stack[2].pc        # both paths reconverge where the bottom entry waits
    assert stack[2].rpc is None                               # the bottom entry ends at exit
    warps = s.info_warps()
    assert [w.state for w in warps] == ["ready", "ready"] and warps[0].active == 0x55555555
    lanes = s.info_lanes()
    assert [ln.active for ln in lanes[:4]] == [True, False, True, False]
    assert [ln.pc for ln in lanes[:4]] == [stack[0].pc, stack[1].pc] * 2      # odd lanes wait at the else
    s.close()


def test_step_to_reconvergence_pops_the_stack(dev):
    s, out = divergent(dev)
    s.break_at(line_of("divergent.vk", "v = i * 10"))
    s.run()
    rpc = s.info_stack()[2].pc
    depths = []
    for _ in range(6):
        stop = s.step()
        depths.append(len(s.info_stack()))
        if stop.pc == rpc:
            break
    assert stop.pc == rpc and stop.line == line_of("divergent.vk", "for (int k")
    assert depths[-1] == 1 and max(depths) == 3               # the two paths popped, one full entry left
    assert s.info_stack()[0].mask == 0xFFFFFFFF
    assert s.print("v", all_lanes=True).tolist() == np.where(np.arange(32) % 2 == 0, np.arange(32) * 10,
                                                             np.arange(32) + 100).tolist()
    s.delete()
    assert s.cont().reason == "exited"
    assert out.tolist() == expected_divergent(64).tolist()    # the launch's result is the kernel's


def test_loop_variable_in_all_lanes(dev):
    s, _ = divergent(dev)
    s.break_at(line_of("divergent.vk", "v += k"))
    s.run()
    k0 = s.print("k", all_lanes=True)
    s.cont()                                                  # the lanes still looping come round again
    k1 = s.print("k", all_lanes=True)
    active = np.array([ln.active for ln in s.info_lanes()])
    assert k0[1] == 0 and k1[active].tolist() == [1] * int(active.sum())
    assert active.tolist() == [(lane % 4) >= 2 for lane in range(32)]   # only lanes with k < i%4 loop again
    assert s.focus_thread == (2, 0, 0) and s.print("i") == 2      # the focus moved to the lowest lane that hit it
    assert s.print("threadIdx.x + 1", all_lanes=True).tolist() == list(range(1, 33))


def test_shared_tile_after_barrier(dev):
    out = np.zeros(64, np.int32)
    s = Session(kernel("mirror", "shared_tile.vk"), out, grid=1, block=64, device=dev)
    s.break_at(line_of("shared_tile.vk", "out[t] = tile"))
    stop = s.run()
    assert stop.reason == "breakpoint"
    assert s.x("tile", 64).tolist() == [3 * t for t in range(64)]   # every warp wrote before the barrier let one on
    assert s.x(0, 4, space="shared").tolist() == [0, 3, 6, 9]
    assert s.print("tile[63 - t]", all_lanes=True).tolist() == [3 * (63 - t) for t in range(32)]
    s.cont()
    assert out.tolist() == [3 * (63 - t) for t in range(64)]


def test_watchpoint_catches_racing_write(dev):
    flag, out = np.zeros(1, np.int32), np.zeros(64, np.int32)
    s = Session(kernel("race", "race.vk"), flag, out, grid=1, block=64, device=dev)
    s.break_at(None)                                          # kernel entry
    assert s.run().pc == 0
    wp = s.watch("flag[0]")
    first = s.cont()
    assert first.reason == "watch" and f"at line {line_of('race.vk', 'flag[0] = 1')}" in first.detail
    assert "old = 0  new = 1" in first.detail and "thread (0, 0, 0)" in first.detail
    second = s.cont()
    assert second.reason == "watch" and f"at line {line_of('race.vk', 'flag[0] = 2')}" in second.detail
    assert "old = 1  new = 2" in second.detail and "thread (40, 0, 0)" in second.detail
    assert s.focus_thread == (40, 0, 0) and wp.hits == 2
    assert s.cont().reason == "exited" and flag[0] == 2


def test_fault_stops_at_its_line_with_state_intact(dev):
    out = np.zeros(32, np.int32)
    s = Session(kernel("oob", "fault.vk"), out, grid=1, block=32, device=dev)
    stop = s.run()
    assert stop.reason == "fault" and stop.line == line_of("fault.vk", "out[j] = i")
    assert s.focus_thread == (5, 0, 0) and "thread (5,0,0)" in stop.detail
    assert s.print("j") == 100005 and s.print("i") == 5        # the faulting thread's registers, intact
    end = s.cont()
    assert end.reason == "fault-exit" and end.error is not None


def test_replay_is_deterministic_and_goto_travels_back(dev):
    s, _ = divergent(dev)
    s.break_at(line_of("divergent.vk", "v += k"))
    s.run()
    s.cont()
    step, v = s.stop.step, s.print("v", all_lanes=True)
    s.cont()
    assert s.stop.step > step
    back = s.goto(step)
    assert back.step == step and s.print("v", all_lanes=True).tolist() == v.tolist()
    again = s.run()                                           # run from the start: the same first stop
    assert again.step < step and again.line == back.line
    s.close()


def test_stepi_moves_one_instruction(dev):
    s, _ = divergent(dev)
    s.break_at(None)
    s.run()
    pcs = [s.stepi().pc for _ in range(3)]
    assert pcs == [1, 2, 3]


def test_python_kernel(dev):
    spec = importlib.util.spec_from_file_location("pykernel", HERE / "pykernel.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = np.zeros(32, np.int64)
    s = Session(mod.tri, out, grid=1, block=32, device=dev)
    s.break_at(line_of("pykernel.py", "s += k"))
    stop = s.run()
    assert stop.reason == "breakpoint"
    active = np.array([ln.active for ln in s.info_lanes()])
    assert active.tolist() == [i % 5 > 0 for i in range(32)]
    assert s.print("k", all_lanes=True)[active].tolist() == [0] * int(active.sum())
    s.delete()
    s.cont()
    assert out.tolist() == [sum(range(i % 5)) for i in range(32)]


def test_errors_name_what_is_wrong(dev):
    s, _ = divergent(dev)
    with pytest.raises(DebugError, match="no code"):
        s.break_at(999)
    with pytest.raises(DebugError, match="not running"):
        s.cont()
    s.break_at(line_of("divergent.vk", "v = i * 10"))
    s.run()
    with pytest.raises(DebugError, match="no variable"):
        s.print("nosuch")
    with pytest.raises(DebugError, match="outside the grid"):
        s.focus(block=(3, 0, 0))
    with pytest.raises(DebugError, match="k is not in scope"):
        s.print("k")                                        # before the loop: no stale register shown
    with pytest.raises(DebugError, match="cannot parse"):
        s.print("v +")
    s.close()


def test_notebook_rendering(dev):
    s, _ = divergent(dev)
    assert "not started" in repr(s)
    s.break_at(line_of("divergent.vk", "v = i * 10"))
    s.run()
    page = s._repr_html_()
    assert page.count('class="ln on"') == 16 + (16 + 16 + 32)   # the warp's row, then the stack: then, else, full
    assert "reconverge" in page and 'class="cur"' in page
    assert "Breakpoint 1" in repr(s)
    arr = vgpu.to_device(np.arange(4, dtype=np.int32), device=dev)
    assert "DeviceArray" in arr._repr_html_() and "[0 1 2 3]" in arr._repr_html_()
    s.close()


def test_variable_table_from_the_compiler():
    prog = pipeline.compile_path(str(HERE / "divergent.vk"))
    code = prog.kernels["divergent"]
    scopes = {d.name: (d.first, d.func) for d in code.debug_vars}
    assert scopes["i"] == (line_of("divergent.vk", "int i ="), "divergent")
    assert scopes["k"] == (line_of("divergent.vk", "for (int k"), "divergent")
    named = {code.debug_vars[v].name for v, *_ in debuginfo.table(code)}
    assert {"i", "k"} <= named


def test_sanitizer_report_stops_the_session(dev):
    flag, out = np.zeros(1, np.int32), np.zeros(64, np.int32)
    s = Session(kernel("race", "race.vk"), flag, out, grid=1, block=64, device=dev, check="racecheck")
    stop = s.run()
    assert stop.reason == "sanitizer" and "write-after-write" in stop.detail
    assert s.info_warps()[0].state in ("ready", "exited")      # the wave is still there to inspect
    assert s.cont().reason == "exited"


def test_stepping_past_the_warps_exit_stops_there(dev):
    out = np.zeros(64, np.int32)
    s = Session(kernel("mirror", "shared_tile.vk"), out, grid=1, block=64, device=dev)
    s.break_at(line_of("shared_tile.vk", "out[t] = tile"))
    s.run()
    reasons = [s.step().reason]
    while reasons[-1] == "step" and len(reasons) < 5:
        reasons.append(s.step().reason)
    assert reasons[-1] == "warp-exited"
    assert s.info_warps()[0].state == "exited" and s.info_lanes()[0].exited
    assert s.cont().reason == "exited" and out[0] == 3 * 63


def test_x_of_constant_and_local_memory(dev):
    out = np.zeros(32, np.int32)
    s = Session(kernel("spaces", "spaces.vk"), out, 3, grid=1, block=32, device=dev)
    s.break_at(line_of("spaces.vk", "out[t] ="))
    s.run()
    s.focus(thread=(2,))
    assert s.x("table", 4).tolist() == [7, 11, 13, 17]                 # __constant__
    assert s.x("a", 8).tolist() == [200 + k for k in range(8)]          # thread 2's own local array
    assert s.x(0, 8, space="local").tolist() == [200 + k for k in range(8)]
    s.focus(thread=(5,))
    assert s.print("a[1]") == 501 and s.print("table[t % 4]", all_lanes=True)[:4].tolist() == [7, 11, 13, 17]
    s.cont()
    assert out[2] == 200 + 5 + 13


def test_spilled_variables_are_read_from_their_slots(dev):
    prog = pipeline.compile_path(str(HERE / "spill.vk"), max_registers=6)
    code = prog.kernels["sp"]
    spilled = {code.debug_vars[v].name for v, _, _, loc in debuginfo.table(code)
               if isinstance(loc, Mem) and loc.base.name == "__spill"}
    assert {"i", "b", "d"} <= spilled                       # the listing says they live in local memory
    out = np.zeros(32, np.int32)
    s = Session(vgpu.Module(prog).get_function("sp"), out, 3, grid=1, block=32, device=dev)
    s.break_at(line_of("spill.vk", "out[i] ="))
    s.run()
    lanes = np.arange(32)
    assert s.print("i", all_lanes=True).tolist() == lanes.tolist()
    assert s.print("b", all_lanes=True).tolist() == (lanes * 5).tolist()
    assert s.print("d", all_lanes=True).tolist() == (lanes * 11).tolist()
    assert s.print("n") == 3
    with pytest.raises(DebugError, match="k is not in scope at line 14"):
        s.print("k")                                        # the loop's variable: its scope ended


def test_launch_result_html(dev):
    out = vgpu.to_device(np.zeros(64, np.int32), device=dev)
    r = kernel("divergent", "divergent.vk")(out, 64, grid=1, block=64, device=dev)
    page = r._repr_html_()
    assert "<b>divergent</b> grid (1, 1, 1) block (64, 1, 1)" in page and "occupancy: 64 warps per SM" in page
    eff = r.stats["thread_instructions"] / (32 * r.stats["warp_instructions"])
    assert f"{r.stats['divergent_branches']} of {r.stats['branches']} branches divergent" in page
    assert f"SIMT efficiency {eff:.0%}" in page and eff < 1


def test_conditional_breakpoint_in_a_late_block(dev):
    out = np.zeros(64 * 8, np.int32)
    s = Session(kernel("divergent", "divergent.vk"), out, 64, grid=8, block=64, device=dev)
    s.break_at(line_of("divergent.vk", "v += k"), cond="blockIdx.x == 6 && threadIdx.x == 43")
    stop = s.run()
    assert stop.reason == "breakpoint" and s.focus_block == (6, 0, 0) and s.focus_thread == (43, 0, 0)
    assert s.print("k") == 0 and s.print("i") == 43
    assert s.cont().line == stop.line and s.print("k") == 1           # thread 43 (i % 4 == 3) loops again
    s.close()


def test_structs_print_whole_by_field_and_in_every_lane(dev):
    """A struct in registers (`p`) and one in local memory (`s`, its member function takes `this`):
    `print` gives a dict as the struct nests, a field and a sub-struct by name; `info locals` shows
    each struct once and not the compiler's temporaries; print/all a column per field."""
    from vgpu.debug import render
    from vgpu.debug.repl import execute
    out = np.zeros(32, np.float32)
    s = Session(kernel("structs", "structs.vk"), out, grid=1, block=32, device=dev)
    s.break_at(line_of("structs.vk", "stop here"))
    s.run()
    s.focus(thread=(3, 0, 0))
    assert s.print("p") == {"x": 3.0, "y": 6.0}
    assert s.print("s") == {"center": {"x": 3.0, "y": 6.0}, "radius": 0.5}
    assert s.print("s.center") == {"x": 3.0, "y": 6.0} and s.print("s.center.y") == 6.0
    assert render._fmt(s.print("s")) == "{center = {x = 3, y = 6}, radius = 0.5}"
    locals_ = s.info_locals()
    assert locals_["s"] == s.print("s") and locals_["p"] == {"x": 3.0, "y": 6.0}
    assert not any(n.startswith("__vgpu") or "." in n for n in locals_)
    every = s.print("s.center", all_lanes=True)
    assert every["y"].tolist() == [2.0 * k for k in range(32)]
    table = execute(s, "print/all s.center")
    assert table.splitlines()[0].split()[-2:] == ["s.center.x", "s.center.y"]
    assert table.splitlines()[4].split()[-2:] == ["3", "6"]
    s.close()
