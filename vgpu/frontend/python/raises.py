"""`raise` and `assert` in Python kernels, as numba-cuda compiles them.

In:  the statement's AST node and the lowering state (`FnLower`).
Out: IR that ends the raising thread (numba-cuda's kernels return when a user exception is raised).
     With `cuda.jit(debug=True)` the first thread to raise also records, by a compare-and-swap on the
     kernel's error word (the module symbol `$exc`: code, then tid x y z and ctaid x y z), which
     exception it raised and where; the launch then raises that exception on the host with numba-cuda's
     message, "In function 'k', file F, line L, tid=[z, y, x] ctaid=[z, y, x]: message".
Exceptions must be built-in exception classes (or instances with constant arguments), as in Numba.
"""
from __future__ import annotations

import ast
import builtins

from ... import types as T
from ...ir import nodes as ir

EXC_SYMBOL = "$exc"


def _exception(fl, node, stmt):
    """(class, args) of `raise node`: a constant exception class or call with constant arguments."""
    if node is None:
        raise fl.err(stmt, "a bare raise (re-raise) is not supported in a kernel")
    call = node if isinstance(node, ast.Call) else None
    target = call.func if call else node
    cls = None
    if isinstance(target, ast.Name):
        found, cls = fl.src.lookup(target.id)
        if not found:
            cls = getattr(builtins, target.id, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        raise fl.err(node, "raise needs an exception class, e.g. raise ValueError('message')")
    args = ()
    if call is not None:
        if call.keywords:
            raise fl.err(call, "exception arguments must be positional constants")
        args = tuple(fl.calls.const_eval(fl, a) for a in call.args)
    return cls, args


def raise_(fl, cls, args, node) -> None:
    """End this thread; with debug=True record (cls, args, location) first (the first raising thread)."""
    b = fl.b
    if fl.ctx.debug and not fl.dry:
        table = fl.ctx.exceptions
        table.append((cls, args, (fl.src.name, fl.src.filename, fl.src.span(node).line)))
        code = len(table)
        if EXC_SYMBOL not in fl.ctx.module.globals:
            fl.ctx.module.globals[EXC_SYMBOL] = ir.GlobalVar(EXC_SYMBOL, "global", 28, 4, T.S32, (7,))
        addr = b.emit("addr", T.U64, sym=EXC_SYMBOL)
        old = b.emit("atom", T.S32, [addr, ir.Const(T.S32, 0), ir.Const(T.S32, code)])
        old.attrs.update(op="cas", space="global")
        first, done = b.block("exc.first"), b.block("exc.done")
        b.br(b.emit("eq", T.PRED, [old, ir.Const(T.S32, 0)]), first, done)
        b.seal(first)
        b.at(first)
        for k, reg in enumerate(("tid.x", "tid.y", "tid.z", "ctaid.x", "ctaid.y", "ctaid.z")):
            v = b.emit("bitcast", T.S32, [b.emit("sreg", T.U32, name=reg)])
            a = b.emit("add", T.U64, [addr, ir.Const(T.U64, 4 * (k + 1))])
            b.emit("store", None, [a, v], space="global")
        b.jmp(done)
        b.seal(done)
        b.at(done)
    b.ret()


def raise_stmt(fl, s: ast.Raise) -> None:
    if s.cause is not None:
        raise fl.err(s.cause, "raise ... from ... is not supported in a kernel")
    cls, args = _exception(fl, s.exc, s)
    raise_(fl, cls, args, s)


def assert_stmt(fl, s: ast.Assert) -> None:
    b = fl.b
    ok, fail = b.block("assert.ok"), b.block("assert.fail")
    fl.branch(s.test, ok, fail)
    b.seal(fail)
    b.at(fail)
    args = () if s.msg is None else (fl.calls.const_eval(fl, s.msg),)
    raise_(fl, AssertionError, args, s)
    b.seal(ok)
    b.at(ok)


def host_exception(table: list, words) -> BaseException | None:
    """The exception a debug launch raises on the host, from the error word's 7 ints; None if no error."""
    code = int(words[0])
    if code == 0:
        return None
    cls, args, (fn, filename, line) = table[code - 1]
    import os
    tid, ctaid = [int(words[3]), int(words[2]), int(words[1])], [int(words[6]), int(words[5]), int(words[4])]
    prefix = f"In function {fn!r}, file {os.path.abspath(filename)}, line {line}, tid={tid} ctaid={ctaid}"
    args = (f"{prefix}: {args[0]}",) + tuple(args[1:]) if args else (prefix,)
    return cls(*args)
