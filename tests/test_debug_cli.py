"""`vgpuc debug` with commands piped on stdin: one output block per command, errors as one line,
quit and end of input end it; a .vk kernel and a Python kernel."""
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent / "debug_kernels"


def debug(args, commands: str, tmp_path=None):
    p = subprocess.run([sys.executable, "-m", "vgpu.cli", "debug", *args], input=commands, capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def blocks(out: str) -> dict:
    """command -> its output block."""
    res, cur = {}, None
    for line in out.splitlines():
        if line.startswith("(vgpu-gdb) "):
            cur = line[len("(vgpu-gdb) "):]
            n = 2
            while cur in res:                                       # a repeated command: "step #2", ...
                cur = f"{line[len('(vgpu-gdb) '):]} #{n}"
                n += 1
            res[cur] = []
        elif cur is not None:
            res[cur].append(line)
    return {k: "\n".join(v) for k, v in res.items()}


def test_scripted_session_on_divergent_kernel(tmp_path):
    np.save(tmp_path / "out.npy", np.zeros(64, np.int32))
    script = "\n".join(["break 6", "run", "info stack", "info warps", "print/all v", "step", "step", "step",
                        "info stack", "delete", "break 11", "continue", "print/all k", "print k", "x/4d out",
                        "info breakpoints", "list", "nonsense", "print nosuch", "focus block 0 thread 33",
                        "info lanes", "delete", "break 13 if i == 7 || !(i - 9)", "continue", "print i",
                        "delete", "watch out[2]", "continue", "goto 12", "x/4d out", "quit",
                        "print never"])
    rc, out, err = debug([str(HERE / "divergent.vk"), "--grid", "1", "--block", "64",
                          f"out=@{tmp_path / 'out.npy'}", "n=64"], script + "\n")
    assert rc == 0 and "Traceback" not in out + err
    b = blocks(out)
    assert b["run"].startswith("Breakpoint 1, line 6")
    stack = b["info stack"].splitlines()
    assert len(stack) == 4 and "0x55555555" in stack[1] and "0xaaaaaaaa" in stack[2] and "0xffffffff" in stack[3]
    assert "#.#.#." in b["info warps"]
    assert "Step, line 10" in b["step #3"] and len(b["info stack #2"].splitlines()) == 2   # popped to one entry
    assert "Breakpoint 2, line 11" in b["continue"]
    rows = b["print/all k"].splitlines()[1:]
    assert rows[2].split()[-1] == "0" and rows[2].split()[-2] == "yes" and rows[0].split()[-2] == "no"
    assert b["print k"] == "k = 0"
    assert b["x/4d out"].startswith("0x") and b["x/4d out"].endswith("0 0 0 0")
    assert "breakpoint  line 11" in b["info breakpoints"] and "=>  11" in b["list"]
    assert b["nonsense"].startswith("error: unknown command") and b["print nosuch"].startswith("error: no variable")
    assert "thread (33, 0, 0) (warp 1)" in b["focus block 0 thread 33"]
    assert "if i == 7 || !(i - 9)" in b["break 13 if i == 7 || !(i - 9)"]
    assert "condition" in b["continue #2"] and b["print i"] == "i = 7"
    assert "old = 0  new = 21  written by block (0, 0, 0) thread (2, 0, 0) at line 13" in b["continue #3"]
    assert b["goto 12"].startswith("Goto, line 11, pc 12, step 12")
    assert b["x/4d out #2"].endswith("0 0 0 0")                    # back in time: nothing stored yet
    assert "print never" not in b                                   # quit ended it


def test_shared_tile_and_eof_ends(tmp_path):
    np.save(tmp_path / "out.npy", np.zeros(64, np.int32))
    rc, out, err = debug([str(HERE / "shared_tile.vk"), "--grid", "1", "--block", "64",
                          f"out=@{tmp_path / 'out.npy'}"], "break 7\nrun\nx/8d tile\nx/2d shared 8\ncontinue\n")
    b = blocks(out)
    assert rc == 0 and b["x/8d tile"].endswith("0 3 6 9 12 15 18 21")
    assert b["x/2d shared 8"].endswith("6 9")
    assert "[kernel finished]" in b["continue"]


def test_python_kernel_and_usage_errors(tmp_path):
    np.save(tmp_path / "out.npy", np.zeros(32, np.int64))
    rc, out, err = debug([str(HERE / "pykernel.py"), "--grid", "1", "--block", "32",
                          f"out=@{tmp_path / 'out.npy'}"], "break 10\nrun\nprint/all k\ninfo lanes\n")
    b = blocks(out)
    assert rc == 0 and "Breakpoint 1, line 10" in b["run"] and "inactive" in b["info lanes"]
    rc, out, err = debug([str(HERE / "divergent.vk"), "--grid", "1", "--block", "64"], "")
    assert rc == 2 and "missing kernel argument" in err and "Traceback" not in err


def test_asm_debug_info():
    p = subprocess.run([sys.executable, "-m", "vgpu.cli", "asm", "--debug-info", str(HERE / "divergent.vk")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    listing, tail = p.stdout.split("// divergent: variable locations", 1)
    assert '.var i .s32 "int"' in listing and '.var k .s32 "int"' in listing
    rows = {ln.split()[1]: ln for ln in tail.splitlines() if ln.startswith("//   ")}
    assert "lines 3-14" in rows["i"] and "%r1" in rows["i"]
    assert "lines 10-12" in rows["k"]                  # the loop variable's scope: the for statement
    # the listing with its .var directives is assembly that reads back to the same text
    from vgpu.isa import asm, disasm
    assert disasm.disassemble(asm.assemble(listing, "d.vasm"), debug_info=True) == listing.rstrip("\n") + "\n"


def test_info_locals_from_the_compilers_debug_information(tmp_path):
    np.save(tmp_path / "out.npy", np.zeros(64, np.int32))
    rc, out, err = debug([str(HERE / "divergent.vk"), "--grid", "1", "--block", "64", "n=64",
                          f"out=@{tmp_path / 'out.npy'}"], "break 11\nrun\ninfo locals\nprint/all k\n")
    b = blocks(out)
    assert rc == 0, err
    rows = dict(r.split(" = ", 1) for r in b["info locals"].splitlines())
    assert rows["k"] == "0" and rows["i"] == "1" and rows["v"] == "101" and rows["n"] == "64"   # thread 1 first
    assert list(rows)[0] == "k"                                      # innermost scope first
