"""`vgpuc debug`: a command loop with cuda-gdb's vocabulary over a `Session`.

In:  a Session and a stream of commands (a terminal with readline history and line editing, or
     commands piped on stdin).
Out: one output block per command on stdout (piped commands are echoed after the prompt) (errors as one `error: ...` line, never a traceback);
     `quit` or end of input ends it.

Commands: break LINE [if COND] | break (kernel entry) | run | continue | step | next | stepi | goto STEP |
focus block X[,Y,Z] thread X[,Y,Z] | focus warp N | info warps|blocks|lanes|stack|breakpoints|locals |
print EXPR | print/all EXPR (every lane of the warp) | x/N[dfuxgb] [global|shared|local|const] WHERE |
list [LINE] | watch EXPR | delete [N] | where | help | quit.  Short forms: b r c s n si p l q.
"""
from __future__ import annotations

import sys

from . import render as R
from .memory import DebugError

HELP = __doc__.split("Commands:", 1)[1].strip()
_FMT = {"d": "int32", "u": "uint32", "x": "uint32", "f": "float32", "g": "float64", "b": "uint8", "l": "int64"}
_ALIAS = {"b": "break", "r": "run", "c": "continue", "s": "step", "n": "next", "si": "stepi", "p": "print",
          "l": "list", "q": "quit", "cont": "continue", "exit": "quit", "bt": "where", "h": "help"}


def _coords(text: str) -> tuple:
    text = text.strip().strip("()")
    try:
        return tuple(int(c) for c in text.replace(" ", "").split(",") if c != "")
    except ValueError:
        raise DebugError(f"coordinates are X[,Y,Z], not {text!r}") from None


def execute(session, line: str) -> str | None:
    """Run one command; its output text (None for quit)."""
    words = line.strip().split(None, 1)
    if not words:
        return ""
    cmd, rest = words[0], (words[1] if len(words) > 1 else "").strip()
    sub = ""
    if "/" in cmd:
        cmd, sub = cmd.split("/", 1)
    cmd = _ALIAS.get(cmd, cmd)
    s = session
    if cmd == "quit":
        return None
    if cmd == "help":
        return HELP
    if cmd == "break":
        where, _, cond = rest.partition(" if ")
        if rest.startswith("if "):
            where, cond = "", rest[3:]
        where = where.strip()
        bp = s.break_at(_line_arg(where) if where else None, cond.strip() or None)
        where = f"line {bp.line}" if bp.line is not None else f"the entry of {s.kernel_name}"
        return (f"Breakpoint {bp.number} at {where} (pc {', '.join(map(str, sorted(bp.pcs)))})"
                + (f" if {bp.cond}" if bp.cond else ""))
    if cmd in ("run", "restart"):
        return R.stop_text(s, s.run())
    if cmd in ("continue", "step", "next", "stepi"):
        return R.stop_text(s, {"continue": s.cont, "step": s.step, "next": s.next, "stepi": s.stepi}[cmd]())
    if cmd == "goto":
        if not rest.isdigit():
            raise DebugError("goto takes a step number (shown in every stop)")
        return R.stop_text(s, s.goto(int(rest)))
    if cmd == "focus":
        return _focus(s, rest)
    if cmd == "info":
        what = rest.split()[0] if rest else ""
        if what in ("warps", "warp"):
            return R.warps_text(s.info_warps())
        if what in ("blocks", "block"):
            return R.blocks_text(s.info_blocks())
        if what in ("lanes", "lane"):
            return R.lanes_text(s.info_lanes())
        if what == "stack":
            return R.stack_text(s.info_stack())
        if what in ("breakpoints", "break", "watchpoints"):
            return R.breakpoints_text(s.info_breakpoints())
        if what in ("locals", "local"):
            vals = s.info_locals()
            return "\n".join(f"{n} = {R._fmt(v)}" for n, v in vals.items()) or "No locals."
        raise DebugError("info warps | blocks | lanes | stack | breakpoints | locals")
    if cmd == "print":
        if not rest:
            raise DebugError("print EXPR")
        if sub == "all":
            vals = s.print(rest, all_lanes=True)
            return f"{rest} = {vals}" if isinstance(vals, str) else R.values_table(rest, vals, s.info_lanes())
        return f"{rest} = {R._fmt(s.print(rest))}"
    if cmd == "x":
        return _examine(s, sub, rest)
    if cmd == "list":
        return R.list_text(s.list(int(rest) if rest.isdigit() else None))
    if cmd == "watch":
        wp = s.watch(rest)
        return f"Watchpoint {wp.number}: {rest} ({wp.dtype} at {wp.address:#x})"
    if cmd == "delete":
        s.delete(int(rest) if rest else None)
        return f"Deleted {'breakpoint ' + rest if rest else 'all breakpoints'}"
    if cmd == "where":
        return R.stop_text(s, s.stop)
    raise DebugError(f"unknown command {words[0]!r} (help lists the commands)")


def _line_arg(text: str) -> int:
    tail = text.rsplit(":", 1)[-1]
    if not tail.isdigit():
        raise DebugError(f"break takes a source line number, not {text!r}")
    return int(tail)


def _focus(s, rest: str) -> str:
    words = rest.replace("(", " (").split()
    if len(words) >= 2 and words[0] == "warp":
        s.focus_warp(int(words[1]))
    else:
        block = thread = None
        text = rest
        if "thread" in text:
            text, t = text.split("thread", 1)
            thread = _coords(t)
        if "block" in text:
            block = _coords(text.split("block", 1)[1])
        if block is None and thread is None:
            raise DebugError("focus block X[,Y,Z] thread X[,Y,Z] | focus warp N")
        s.focus(block=block, thread=thread)
    return f"Focus: block {s.focus_block} thread {s.focus_thread} (warp {s._focus_warp_in_block()})"


def _examine(s, sub: str, rest: str) -> str:
    n = "".join(c for c in sub if c.isdigit())
    fmt = "".join(c for c in sub if c.isalpha()) or "d"
    if fmt not in _FMT:
        raise DebugError(f"x/N FORMAT: formats {', '.join(_FMT)} (d int32, u uint32, x hex, f float32, "
                         f"g float64, b byte, l int64)")
    words = rest.split(None, 1)
    space = None
    if words and words[0] in ("global", "shared", "local", "const"):
        space, rest = words[0], (words[1] if len(words) > 1 else "")
    if not rest:
        raise DebugError("x/N[FMT] [SPACE] ADDRESS|SYMBOL|EXPR")
    addr = s.eval.address(rest, space)
    values = s.x(addr, int(n or 1), _FMT[fmt])
    return R.memory_text(addr, values, fmt)


def loop(session, stdin=None, stdout=None) -> int:
    """Read commands until quit or end of input; 0."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin is sys.stdin and stdin.isatty()
    history = _history(interactive)
    try:
        while True:
            try:
                line = input("(vgpu-gdb) ") if interactive else stdin.readline()
            except EOFError:
                break
            if not interactive:
                if not line:
                    break
                if line.strip():
                    print(f"(vgpu-gdb) {line.strip()}", file=stdout)
            try:
                out = execute(session, line)
            except DebugError as e:
                out = f"error: {e}"
            except (ValueError, KeyError, IndexError, TypeError) as e:
                out = f"error: {e}"
            if out is None:
                break
            if out:
                print(out, file=stdout)
            stdout.flush()
    finally:
        session.close()
        if history is not None:
            history()
    return 0


def _history(interactive: bool):
    """Line editing and history (~/.vgpu_debug_history) for a terminal; a function that saves it."""
    if not interactive:
        return None
    try:
        import readline
    except ImportError:
        return None
    import os
    path = os.path.expanduser("~/.vgpu_debug_history")
    try:
        readline.read_history_file(path)
    except OSError:
        pass

    def save():
        try:
            readline.set_history_length(1000)
            readline.write_history_file(path)
        except OSError:
            pass
    return save


def python_kernel(path: str, name: str | None, pairs: list[str], usage_error):
    """`vgpuc debug FILE.py`: the `vgpu.cuda.jit` kernel `name` of a Python file and its arguments
    from NAME=VALUE pairs (@PATH.npy for an array, else a number)."""
    import inspect
    import runpy

    import numpy as np
    try:
        namespace = runpy.run_path(path, run_name="__vgpu_debug__")
    except OSError as e:
        raise usage_error(f"cannot read {path}: {e.strerror}") from None
    kernels = {k: v for k, v in namespace.items() if hasattr(v, "_types_for") and not getattr(v, "device", False)}
    if name is None:
        if len(kernels) != 1:
            raise usage_error(f"--kernel is required: {path} has kernels {', '.join(kernels) or '(none)'}")
        name = next(iter(kernels))
    if name not in kernels:
        raise usage_error(f"{path} has no kernel {name!r} (kernels: {', '.join(kernels) or 'none'})")
    disp = kernels[name]
    params = list(inspect.signature(disp.py_func).parameters)[disp.dim3_params:]
    given = {}
    for item in pairs:
        k, eq, v = item.partition("=")
        if not eq or k not in params:
            raise usage_error(f"kernel arguments are NAME=VALUE with NAME one of {', '.join(params)}, not {item!r}")
        given[k] = v
    missing = [p for p in params if p not in given]
    if missing:
        raise usage_error(f"missing kernel argument(s): {', '.join(missing)}")
    values = []
    for p in params:
        raw = given[p]
        if raw.startswith("@"):
            try:
                values.append(np.load(raw[1:], allow_pickle=False))
            except (OSError, ValueError) as e:
                raise usage_error(f"parameter {p!r}: cannot load {raw[1:]!r}: {e}") from None
        else:
            try:
                values.append(int(raw, 0))
            except ValueError:
                try:
                    values.append(float(raw))
                except ValueError:
                    raise usage_error(f"parameter {p!r} takes a number or @PATH.npy, not {raw!r}") from None
    return disp, values
