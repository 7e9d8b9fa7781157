"""Inlining: every call of a device function is replaced by a copy of its body.

In:  a Module whose call graph has no cycles.  Out: the kernels, with no calls left; device
functions are dropped from the module (kernels are what runs).  A call splits its block: the part
before jumps to the copied entry, each copied `ret v` jumps to the part after, where a phi
gathers the returned values.
"""
from __future__ import annotations

from ...diagnostics import CompileError, Diagnostic, Span
from ..nodes import Block, Function, Instr, Module, Undef, Value
from .rewrite import replace_uses, resolve


def inline_calls(m: Module) -> bool:
    """Inline all calls (callees first) and drop the device functions; True if anything changed."""
    changed = False
    for fn in _callees_first(m):
        changed |= _inline_into(fn, m)
    devices = [n for n, f in m.functions.items() if f.kind == "device"]
    for n in devices:
        del m.functions[n]
    return changed or bool(devices)


def _callees_first(m: Module) -> list[Function]:
    """Functions in an order where every callee precedes its callers; CompileError on recursion."""
    order: list[Function] = []
    state: dict[str, int] = {}       # 1: on the stack, 2: done

    def visit(fn: Function, via: Instr | None) -> None:
        if state.get(fn.name) == 2:
            return
        if state.get(fn.name) == 1:
            raise _error(m, via, f"recursion is not supported: @{fn.name} calls itself")
        state[fn.name] = 1
        for i in [i for b in fn.blocks for i in b.instrs if i.op == "call"]:
            callee = m.functions.get(i.attrs.get("callee"))
            if callee is None or callee.kind != "device":
                raise _error(m, i, f"call of @{i.attrs.get('callee')}, which is not a device function")
            visit(callee, i)
        state[fn.name] = 2
        order.append(fn)

    try:
        for fn in list(m.functions.values()):
            visit(fn, None)
    finally:
        visit = None                     # noqa: F841 - the closure calls itself: break that cycle
    return order


def _error(m: Module, i: Instr | None, msg: str) -> CompileError:
    span = (i.span if i is not None else None) or Span(m.filename, 0, 0)
    return CompileError(Diagnostic(span, msg))


def _inline_into(fn: Function, m: Module) -> bool:
    calls = [i for b in fn.blocks for i in b.instrs if i.op == "call"]
    repl: dict[Value, Value] = {}
    for call in calls:
        result = _inline(fn, call, m.functions[call.attrs["callee"]], repl)
        if result is not None:
            repl[call] = result
    replace_uses(fn, repl)
    return bool(calls)


def _inline(fn: Function, call: Instr, callee: Function, repl: dict[Value, Value]) -> Value | None:
    """Replace `call` by a copy of callee's body; returns the value standing for the call's result."""
    b = call.block
    k = b.instrs.index(call)
    after = Block(b.name + ".ret", b.instrs[k + 1:])
    b.instrs = b.instrs[:k]
    for i in after.instrs:
        i.block = after
    for s in after.succs:
        s.preds = [after if p is b else p for p in s.preds]
        for phi in s.phis:
            phi.attrs["blocks"] = [after if x is b else x for x in phi.attrs["blocks"]]
    body = _clone(callee, [resolve(repl, a) for a in call.args], len(fn.debug_vars))
    fn.debug_vars += callee.debug_vars          # each inlined copy has its own variables
    at = fn.blocks.index(b) + 1
    fn.blocks[at:at] = body + [after]
    body[0].preds = [b]
    b.append(Instr("jmp", None, [], {"targets": [body[0]]}, call.span))
    returns: list[tuple[Value, Block]] = []
    for cb in body:
        t = cb.terminator
        if t.op == "ret":
            returns.append((t.args[0] if t.args else None, cb))
            cb.instrs[-1] = Instr("jmp", None, [], {"targets": [after]}, t.span, cb)
    after.preds = [cb for _, cb in returns]
    if call.type is None:
        return None
    if len(returns) == 1:
        return returns[0][0]
    if not returns:
        return Undef(call.type)
    phi = Instr("phi", call.type, [v for v, _ in returns], {"blocks": list(after.preds)}, call.span, after)
    after.instrs.insert(0, phi)
    return phi


def _clone(callee: Function, args: list[Value], var_base: int = 0) -> list[Block]:
    """A copy of callee's blocks with its parameters replaced by args (and its debug variables
    numbered from var_base)."""
    vmap: dict[Value, Value] = dict(zip(callee.params, args))
    bmap = {cb: Block(f"{callee.name}.{cb.name}") for cb in callee.blocks}
    for cb, nb in bmap.items():
        for i in cb.instrs:
            ni = vmap[i] = nb.append(Instr(i.op, i.type, [], dict(i.attrs), i.span))
            if "var" in ni.attrs and i.op in ("dbg", "phi"):
                ni.attrs["var"] += var_base
    for cb, nb in bmap.items():
        nb.preds = [bmap[p] for p in cb.preds]
        for i, ni in zip(cb.instrs, nb.instrs):
            ni.args = [vmap.get(a, a) for a in i.args]
            for key in ("targets", "blocks"):
                if key in ni.attrs:
                    ni.attrs[key] = [bmap[x] for x in ni.attrs[key]]
    return list(bmap.values())
