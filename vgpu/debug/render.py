"""Text and HTML views of debugger data (DeviceArray and LaunchResult draw themselves).

In:  a `Session` (its stop, focused warp, SIMT stack, source), `Stop`/`WarpInfo`/`StackEntry`/`Lane`
     lists.
Out: strings: the REPL's output blocks, and `_repr_html_` markup for notebooks (the warp's lanes
     as a row of 32 cells coloured active / inactive / exited, the SIMT stack as a table, the
     source with the current line marked).
"""
from __future__ import annotations

import html

import numpy as np

from .memory import DebugError


def mask_bits(mask: int, n: int = 32) -> str:
    """A mask as 32 characters, lane 0 first: '#' active, '.' not."""
    return "".join("#" if mask >> i & 1 else "." for i in range(n))


def stop_text(session, stop) -> str:
    if stop is None:
        return "The kernel is not running."
    if stop.reason in ("exited", "fault-exit", "error"):
        head = {"exited": "[kernel finished]", "fault-exit": "[kernel ended by a device fault]",
                "error": "[launch failed]"}[stop.reason]
        return f"{head} {stop.detail} (step {stop.step})"
    what = {"breakpoint": f"Breakpoint {stop.breakpoint}", "step": "Step", "stepi": "Stepi", "goto": "Goto",
            "watch": f"Watchpoint {stop.breakpoint}", "fault": "Device fault", "sanitizer": "Sanitizer report",
            "warp-exited": "Warp exited",
            "entry": "Kernel entry"}.get(stop.reason, stop.reason)
    where = f"line {stop.line}" if stop.line is not None else "no line"
    lines = [f"{what}, {where}, pc {stop.pc}, step {stop.step}: block {session.focus_block} thread "
             f"{session.focus_thread} (warp {session._focus_warp_in_block()})"]
    if stop.reason in ("watch", "fault", "sanitizer", "warp-exited") or "(condition" in stop.detail:
        lines.append("  " + stop.detail)
    if stop.line is not None:
        lines.append(f"{stop.line:>5}\t{session.source_text(stop.line).strip()}")
    if stop.pc is not None and session.wave is not None and stop.pc < len(session.wave.ops):
        lines.append(f"      pc {stop.pc}: {session.wave.ops[stop.pc].text}")
    return "\n".join(lines)


def warps_text(warps) -> str:
    rows = ["  warp  pc    line  active mask (lane 0 first)          state"]
    for w in warps:
        rows.append(f"{'*' if w.focused else ' '} {w.warp:>4}  {w.pc:<4}  {w.line if w.line is not None else '-':>4}  "
                    f"{mask_bits(w.active)}  {w.state}")
    return "\n".join(rows)


def blocks_text(blocks) -> str:
    rows = ["  block        ready  at barrier  exited"]
    for b in blocks:
        rows.append(f"{'*' if b['focused'] else ' '} {str(b['block']):<12} {b['ready']:>5}  {b['at barrier']:>10}  "
                    f"{b['exited']:>6}")
    return "\n".join(rows)


def stack_text(entries) -> str:
    rows = ["  #  pc    line  reconverge  mask (lane 0 first)               "]
    for k, e in enumerate(entries):
        r = "exit" if e.rpc is None else str(e.rpc)
        rows.append(f"{'>' if k == 0 else ' '} {k}  {e.pc:<4}  {e.line if e.line is not None else '-':>4}  {r:>10}  "
                    f"{mask_bits(e.mask)}  {e.mask:#010x}{'  waiting' if e.waiting else ''}")
    return "\n".join(rows)


def lanes_text(lanes) -> str:
    rows = ["  lane  thread        state     pc"]
    for ln in lanes:
        st = "exited" if ln.exited else "active" if ln.active else "inactive"
        rows.append(f"  {ln.lane:>4}  {str(ln.thread):<12}  {st:<8}  {'-' if ln.exited else ln.pc}")
    return "\n".join(rows)


def values_table(expr: str, values, lanes) -> str:
    """One row per lane of the focused warp: lane, thread, active, value (a struct: a column per field)."""
    cols = _columns(expr, values)
    width = [max(len(name), 10) for name, _ in cols]
    rows = ["  lane  thread        active  " + "  ".join(f"{n:<{w}}" for (n, _), w in zip(cols, width)).rstrip()]
    for ln in lanes:
        cells = "  ".join(f"{_fmt(v[ln.lane]) if not isinstance(v, str) else v:<{w}}" for (_, v), w in zip(cols, width))
        rows.append(f"  {ln.lane:>4}  {str(ln.thread):<12}  {'yes' if ln.active else 'no ':<6}  {cells.rstrip()}")
    return "\n".join(rows)


def _columns(expr: str, values) -> list:
    """(name, per-lane values) per scalar field of a struct's dict of values, else [(expr, values)]."""
    if not isinstance(values, dict):
        return [(expr, values)]
    return [c for k, v in values.items() for c in _columns(expr + (k if k.startswith("[") else "." + k), v)]


def breakpoints_text(bps) -> str:
    if not bps:
        return "No breakpoints or watchpoints."
    rows = ["  num  type        where                     hits"]
    for b in bps:
        where = (f"line {b.line}" if b.line is not None else "kernel entry") if b.kind == "breakpoint" else b.expr
        if getattr(b, "cond", None):
            where += f" if {b.cond}"
        rows.append(f"  {b.number:>3}  {b.kind:<10}  {where:<24}  {b.hits:>4}")
    return "\n".join(rows)


def list_text(rows) -> str:
    return "\n".join(f"{'=>' if cur else '  '}{n:>4}\t{text}" for n, text, cur in rows)


def memory_text(addr: int, values: np.ndarray, fmt: str) -> str:
    per = 8 if values.dtype.itemsize <= 4 else 4
    out = []
    for k in range(0, values.size, per):
        chunk = values[k:k + per]
        cells = " ".join(f"{int(v) & (1 << 8 * values.dtype.itemsize) - 1:#x}" if fmt == "x" else _fmt(v)
                         for v in chunk)
        out.append(f"{addr + k * values.dtype.itemsize:#x}:  {cells}")
    return "\n".join(out)


def _fmt(v) -> str:
    """One value as the debugger prints it; a struct (a dict of fields) as gdb does: `{x = 1, y = 2}`,
    an array of them `{1, 2}`."""
    if isinstance(v, dict):
        if all(k.startswith("[") for k in v):
            return "{" + ", ".join(_fmt(x) for x in v.values()) + "}"
        return "{" + ", ".join(f"{k} = {_fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, str):
        return v
    v = np.asarray(v).item()
    return f"{v:.9g}" if isinstance(v, float) else str(v)


def session_text(session) -> str:
    """The session's state as text (its repr)."""
    head = f"<vgpu.debug.Session {session.kernel_name} grid {session.launcher.grid} block {session.launcher.block}"
    if session.stop is None:
        return head + ": not started>"
    parts = [head + ">", stop_text(session, session.stop)]
    if session.wave is not None and not session.finished:
        try:
            parts += [stack_text(session.info_stack())]
        except DebugError as e:
            parts.append(str(e))
    return "\n".join(parts)


# -- HTML ---------------------------------------------------------------------------------------
_CSS = ("<style>.vgd td,.vgd th{padding:1px 6px;font-family:monospace;font-size:12px}"
        ".vgd .ln{display:inline-block;width:14px;height:14px;margin:0 1px;border:1px solid #888;"
        "font-size:8px;text-align:center}.vgd .on{background:#4caf50}.vgd .off{background:#ddd}"
        ".vgd .gone{background:#555}.vgd .cur{background:#fff3a0}</style>")


def lanes_html(mask: int, alive: int = 0xFFFFFFFF) -> str:
    cells = []
    for i in range(32):
        cls = "on" if mask >> i & 1 else "off" if alive >> i & 1 else "gone"
        cells.append(f'<span class="ln {cls}" title="lane {i}">{i}</span>')
    return "<div>" + "".join(cells) + "</div>"


def session_html(session) -> str:
    e = html.escape
    out = [_CSS, '<div class="vgd">', f"<b>{e(session.kernel_name)}</b> grid {session.launcher.grid} "
           f"block {session.launcher.block}<br>"]
    if session.stop is None:
        return "".join(out) + "not started</div>"
    out.append(f"<pre>{e(stop_text(session, session.stop))}</pre>")
    if session.wave is not None and not session.finished:
        try:
            w = session._need_warp()
            simt = session.wave.simt
            out.append(f"warp {session._focus_warp_in_block()} lanes:" + lanes_html(int(simt.mask[w]), int(simt.alive[w])))
            out.append("<table><tr><th>#</th><th>pc</th><th>line</th><th>reconverge</th><th>mask</th></tr>")
            for k, s in enumerate(session.info_stack()):
                out.append(f"<tr><td>{k}</td><td>{s.pc}</td><td>{s.line}</td><td>{'exit' if s.rpc is None else s.rpc}"
                           f"</td><td>{lanes_html(s.mask, int(simt.alive[w]))}</td></tr>")
            out.append("</table>")
        except DebugError as err:
            out.append(f"<p>{e(str(err))}</p>")
    out.append("<table>")
    for n, text, cur in session.list():
        out.append(f'<tr class="{"cur" if cur else ""}"><td>{n}</td><td><pre style="margin:0">{e(text)}</pre></td></tr>')
    out.append("</table></div>")
    return "".join(out)
