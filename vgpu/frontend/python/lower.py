"""Lower a Python kernel (its `ast`) to SSA IR, typing it with Numba's rules on the way.

In:  a `PySource` and the Numba types of the kernel's arguments.
Out: an `ir.Function` (kind 'kernel') in the module of the `Ctx`; device functions are inlined.

Typing is flow-sensitive as Numba's SSA typing is: each assignment gives the variable the type of the
value; where paths join (after if/else, at a loop head, after a loop) the types unify
(`ntypes.unify`) and values are converted on the incoming edges.  A loop head's types are found by
running the loop body on a scratch builder until they stop changing (`_fixpoint`).

Arrays are a data address plus an int64 per dimension (the shape); kernel parameter `a` of an
N-d array is the IR parameters `a` (u64), `a.shape0` ... Indexing converts each index to int64,
wraps negative (signed) indices around by adding the dimension as Numba does, and addresses the
element in C order.
"""
from __future__ import annotations

import ast

from ... import types as T
from ...diagnostics import CompileError
from ...ir import nodes as ir
from ...ir.builder import Builder
from ...ir.debug import DebugVar
from . import calls
from . import ntypes as N
from .exprs import _ARITH, _REJECT, Exprs
from .source import PySource
from .values import ArrayVal, V, cast, flatten, from_mem, leaves, unflatten

DYN_SHARED_PARAM = "$dynshared_bytes"


class Ctx:
    """One compilation: the IR module, statics by call site, and the chain of inlined functions."""

    def __init__(self, module: ir.Module):
        self.module = module
        self.statics: dict = {}
        self.inlining: list = []
        self.ninst = 0
        self.fn: ir.Function | None = None        # the kernel (for hidden parameters)
        self.dyn_param: ir.Param | None = None
        self.fastmath = False                     # cuda.jit(fastmath=True): fast float32 math functions
        self.debug = False                        # cuda.jit(debug=True): raised exceptions reach the host
        self.exceptions: list = []                # (class, args, (function, file, line)) by code - 1

    def dynamic_shared_bytes(self) -> ir.Param:
        """The hidden last kernel parameter holding the launch's dynamic shared memory size."""
        if self.dyn_param is None:
            self.dyn_param = ir.Param(DYN_SHARED_PARAM, T.S64, len(self.fn.params))
            self.fn.params.append(self.dyn_param)
        return self.dyn_param


class _Frame:
    def __init__(self, head_env, exit_env, cont, exit_blk):
        self.head_env, self.exit_env, self.cont, self.exit = head_env, exit_env, cont, exit_blk
        self.backs: list[dict] = []
        self.breaks: list[dict] = []


class FnLower(Exprs):
    def __init__(self, ctx: Ctx, src: PySource, b: Builder):
        self.calls = calls
        self.ctx, self.src, self.b = ctx, src, b
        self.env: dict[str, object] = {}
        self.consts: dict[str, V] = {}
        self.loops: list[_Frame] = []
        self.dry = False
        self.dbg_keys: dict[str, dict] = {}     # variable name -> {type: its debug keys}
        ctx.ninst += 1
        self.inst = ctx.ninst
        self.ret_type = None            # device functions: the unified return type
        self.returns: list = []         # dry runs: types returned
        self.ret_blk: ir.Block | None = None
        self.kernel = True

    def err(self, node, msg: str) -> CompileError:
        return self.src.error(node, msg)

    # -- variables -------------------------------------------------------------------------------------
    def key(self, name, t, k):
        return (self.inst, name, t, k)

    def read_var(self, name: str, node) -> V:
        t = self.env[name]
        vals = [self.b.read(self.key(name, t, k), st) for k, (_, st) in enumerate(leaves(t))]
        return unflatten(t, vals)

    def write_var(self, name: str, v: V, node) -> None:
        if not isinstance(v.type, (N.Number, N.Array, N.Tuple)):
            raise self.err(node, f"a variable cannot hold {v.type} (only numbers, arrays and tuples)")
        self.env[name] = v.type
        for k, x in enumerate(flatten(v)):
            self.b.write(self.key(name, v.type, k), x)
        if not self.dry and isinstance(v.type, (N.Number, N.Tuple)) and not name.startswith("$"):
            self.debug_value(name, v)

    def debug_value(self, name: str, v: V) -> None:
        """The dbgs of a write of a number (or tuple of numbers) variable (vgpu.ir.debug): the first
        write of a name with a type registers it, scoped to the whole function; its values under
        another type are optimised out from here."""
        b, keys = self.b, self.dbg_keys.setdefault(name, {})
        if v.type not in keys:
            fn = b.fn
            tree = self.src.tree
            first = self.src.span(tree).line
            last = first + (getattr(tree, "end_lineno", tree.lineno) - tree.lineno)
            ks = []
            for k, (suffix, st) in enumerate(leaves(v.type)):
                if isinstance(v.type, N.Number) or all(isinstance(t, N.Number) for t in v.type.items):
                    fn.debug_vars.append(DebugVar(name + suffix, str(v.type) if not suffix else st.name, st.name,
                                                  self.src.filename, first, last, self.src.name))
                    b.debug_keys[self.key(name, v.type, k)] = len(fn.debug_vars) - 1
                    ks.append((self.key(name, v.type, k), st))
            keys[v.type] = ks
        for t, ks in keys.items():
            if t == v.type:
                for (key, _), x in zip(ks, flatten(v)):
                    b.debug_value(key, x)
            else:
                for key, st in ks:
                    b.debug_value(key, ir.Undef(st))

    def unify_envs(self, envs: list[dict], node) -> dict:
        out: dict = {}
        for e in envs:
            for name, t in e.items():
                if name not in out:
                    out[name] = t
                    continue
                u = N.unify(out[name], t)
                if u is None:
                    raise self.err(node, f"variable {name!r} is {out[name]} on one path and {t} on another: "
                                         f"Numba cannot unify them")
                out[name] = u
        return out

    def convert_env(self, target: dict, node) -> None:
        """Give every variable the type it has in `target` (before a jump to a join)."""
        for name, t in target.items():
            cur = self.env.get(name)
            if cur is None or cur == t:
                continue
            self.write_var(name, self.convert(self.read_var(name, node), t, node), node)

    def convert(self, v: V, t, node) -> V:
        if v.type == t:
            return v
        if isinstance(v.type, N.Number) and isinstance(t, N.Number):
            return V(t, cast(self.b, v.val, v.type, t))
        if isinstance(v.type, N.Tuple) and isinstance(t, N.Tuple) and len(v.type.items) == len(t.items):
            return V(t, [self.convert(x, it, node) for x, it in zip(v.val, t.items)])
        if isinstance(v.type, N.Array) and N.unify(v.type, t) == t:
            from .views import with_layout
            return with_layout(self, v, t)
        raise self.err(node, f"cannot convert {v.type} to {t}")

    # -- the function ----------------------------------------------------------------------------------
    def lower_kernel(self, fn: ir.Function, argtypes: list, dim3_params: int = 0) -> None:
        """dim3_params: the first parameters are threadIdx, blockIdx, blockDim, gridDim (the seed's
        kernel signature), bound to the special registers instead of arguments."""
        tree = self.src.tree
        a = tree.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or a.posonlyargs:
            raise self.err(tree, "kernel parameters must be plain positional names")
        names = [p.arg for p in a.args]
        if len(names) < dim3_params:
            raise self.err(tree, "a kernel takes (threadIdx, blockIdx, blockDim, gridDim, *args)")
        for name, reg in zip(names[:dim3_params], ("tid", "ctaid", "ntid", "nctaid")):
            self.consts[name] = V(N.Dim3(reg))
        names = names[dim3_params:]
        a = ast.arguments(posonlyargs=[], args=a.args[dim3_params:], kwonlyargs=[], kw_defaults=[], defaults=[])
        if len(names) != len(argtypes):
            raise self.err(tree, f"{tree.name}() takes {len(names)} arguments, {len(argtypes)} given")
        b = self.b
        entry = b.block("entry")
        b.at(entry)
        b.seal(entry)
        b.span = self.src.span(tree)
        for name, t, p in zip(names, argtypes, a.args):
            span = self.src.span(p)
            if isinstance(t, N.Array):
                data = ir.Param(name, T.U64, len(fn.params), t.dtype.mem, True, span)
                fn.params.append(data)
                shape = []
                for k in range(t.ndim):
                    sp = ir.Param(f"{name}.shape{k}", T.S64, len(fn.params), None, False, span)
                    fn.params.append(sp)
                    shape.append(sp)
                strides = None
                if t.layout != "C":          # F and A layouts: the byte strides follow the shape
                    strides = []
                    for k in range(t.ndim):
                        sp = ir.Param(f"{name}.stride{k}", T.S64, len(fn.params), None, False, span)
                        fn.params.append(sp)
                        strides.append(sp)
                self.write_var(name, V(t, ArrayVal(data, shape, strides)), p)
            elif isinstance(t, N.Number):
                prm = ir.Param(name, t.mem, len(fn.params), None, False, span)
                fn.params.append(prm)
                self.write_var(name, V(t, from_mem(b, prm, t)), p)
            else:
                raise self.err(p, f"parameter {name!r}: {t} cannot be a kernel argument")
        self.body(tree.body)
        if not b.terminated:
            b.ret()

    def inline(self, tree: ast.FunctionDef, args: list[V], node) -> V:
        """Lower a device function's body in place (self is a fresh FnLower for the callee)."""
        self.kernel = False
        names = [p.arg for p in tree.args.args]
        if len(names) != len(args) or tree.args.vararg or tree.args.kwonlyargs:
            raise self.err(node, f"{tree.name}() takes {len(names)} arguments, {len(args)} given")
        start_env = {}
        for name, v in zip(names, args):
            start_env[name] = v.type
        # first a dry run to learn the return type
        saved_b = self.b
        self._dry_setup(start_env)
        for name, v in zip(names, args):
            self.write_var(name, V(v.type, [ir.Undef(st) for _, st in leaves(v.type)] and
                                   unflatten(v.type, [ir.Undef(st) for _, st in leaves(v.type)]).val), node)
        self.body(tree.body)
        if not self.b.terminated:
            self.returns.append(N.NONE)
        rets = self.returns
        self.b, self.dry = saved_b, False
        self.env = {}
        rt = rets[0] if rets else N.NONE
        for t in rets[1:]:
            u = N.unify(rt, t) if not (rt == N.NONE or t == N.NONE) else (rt if rt == t else None)
            if u is None:
                raise self.err(tree, f"{tree.name}() returns {rt} on one path and {t} on another")
            rt = u
        self.ret_type = rt
        for name, v in zip(names, args):
            self.write_var(name, v, node)
        self.ret_blk = self.b.block("inline.ret")
        self.body(tree.body)
        if not self.b.terminated:
            self.b.jmp(self.ret_blk)
        self.b.seal(self.ret_blk)
        self.b.at(self.ret_blk)
        if rt == N.NONE:
            return V(N.NONE)
        vals = [self.b.read(self.key("$ret", rt, k), st) for k, (_, st) in enumerate(leaves(rt))]
        return unflatten(rt, vals)

    def _dry_setup(self, env: dict) -> None:
        fn = ir.Function("$scratch", "device", [], None)
        b = Builder(fn)
        e = b.block("entry")
        b.at(e)
        b.seal(e)
        b.span = self.b.span
        self.b, self.dry, self.env = b, True, dict(env)

    # -- statements ------------------------------------------------------------------------------------
    def body(self, stmts: list) -> None:
        for s in stmts:
            if self.b.terminated:
                dead = self.b.block("dead")
                self.b.seal(dead)
                self.b.at(dead)
            self.stmt(s)

    def stmt(self, s) -> None:
        saved = self.b.span
        self.b.span = self.src.span(s)
        try:
            m = getattr(self, "s_" + type(s).__name__, None)
            if m is None:
                raise self.err(s, _REJECT.get(type(s), f"{type(s).__name__} statements are not supported "
                                                      f"in a kernel"))
            m(s)
        finally:
            self.b.span = saved

    def s_Pass(self, s) -> None:
        pass

    def s_Expr(self, s) -> None:
        if isinstance(s.value, ast.Constant) and isinstance(s.value.value, str):
            return                                   # a docstring
        self.expr(s.value)

    def s_Assign(self, s) -> None:
        v = self.expr(s.value)
        for tgt in s.targets:
            self.assign(tgt, v, s)

    def s_AnnAssign(self, s) -> None:
        if s.value is None:
            return
        self.assign(s.target, self.expr(s.value), s)

    def assign(self, tgt, v: V, s) -> None:
        if isinstance(tgt, ast.Name):
            if isinstance(v.type, (N.Ref, N.Dim3)) and tgt.id not in self.env:
                self.consts[tgt.id] = v           # a name for a compile-time object (g = cuda.cg.this_grid())
                return
            if isinstance(v.type, N.Ref) or v.type == N.NONE or isinstance(v.type, (N.Dim3, N.Range)):
                raise self.err(s.value if hasattr(s, "value") else tgt,
                               f"{v.type} cannot be assigned to a variable in a kernel")
            self.write_var(tgt.id, v, tgt)
        elif isinstance(tgt, ast.Subscript):
            base = self.expr(tgt.value)
            self.store_index(base, tgt, v)
        elif isinstance(tgt, (ast.Tuple, ast.List)):
            if not isinstance(v.type, N.Tuple) or len(v.type.items) != len(tgt.elts):
                raise self.err(tgt, f"cannot unpack {v.type} into {len(tgt.elts)} names")
            for t, item in zip(tgt.elts, v.val):
                self.assign(t, item, s)
        elif isinstance(tgt, ast.Attribute):
            raise self.err(tgt, "attributes cannot be assigned in a kernel")
        else:
            raise self.err(tgt, "this cannot be assigned to")

    def s_AugAssign(self, s) -> None:
        op = _ARITH[type(s.op)]
        if isinstance(s.target, ast.Name):
            if s.target.id not in self.env:
                raise self.err(s.target, f"name {s.target.id!r} is not defined")
            old = self.read_var(s.target.id, s.target)
            self.write_var(s.target.id, self.binop(op, old, self.expr(s.value), s), s.target)
        elif isinstance(s.target, ast.Subscript):
            base = self.expr(s.target.value)
            addr, et = self.element(base, s.target)
            old = V(et, from_mem(self.b, self.b.emit("load", et.mem, [addr], space=base.type.space), et))
            new = self.binop(op, old, self.expr(s.value), s)
            self.store_at(addr, base.type, new, s)
        else:
            raise self.err(s.target, "this cannot be assigned to")

    def s_Raise(self, s) -> None:
        from .raises import raise_stmt
        raise_stmt(self, s)

    def s_Assert(self, s) -> None:
        from .raises import assert_stmt
        assert_stmt(self, s)

    def s_Return(self, s) -> None:
        if self.kernel:
            if s.value is not None and not (isinstance(s.value, ast.Constant) and s.value.value is None):
                raise self.err(s.value, "a kernel cannot return a value")
            self.b.ret()
            return
        v = self.expr(s.value) if s.value is not None else V(N.NONE)
        if self.dry:
            self.returns.append(v.type)
            if not self.b.terminated:
                self.b.jmp(self.b.block("ret"))
            return
        if self.ret_type != N.NONE:
            v = self.convert(v, self.ret_type, s)
            for k, x in enumerate(flatten(v)):
                self.b.write(self.key("$ret", self.ret_type, k), x)
        self.b.jmp(self.ret_blk)

    def s_If(self, s) -> None:
        b = self.b
        then, other = b.block("if.then"), b.block("if.else")
        self.branch(s.test, then, other)
        start = dict(self.env)
        ends = []
        for blk, stmts in ((then, s.body), (other, s.orelse)):
            b.seal(blk)
            b.at(blk)
            self.env = dict(start)
            self.body(stmts)
            if not b.terminated:
                ends.append((b.cur, self.env))
        self.join(ends, s)

    def join(self, ends: list, node) -> None:
        b = self.b
        end = b.block("join")
        env = self.unify_envs([e for _, e in ends], node) if ends else {}
        for blk, e in ends:
            b.at(blk)
            self.env = dict(e)
            self.convert_env(env, node)
            b.jmp(end)
        b.seal(end)
        b.at(end)
        self.env = env

    def s_While(self, s) -> None:
        if s.orelse:
            raise self.err(s, "while ... else is not supported in a kernel")

        def head():
            return self.truth(s.test)
        self.loop(s, head, None, s.body)

    def s_For(self, s) -> None:
        if s.orelse:
            raise self.err(s, "for ... else is not supported in a kernel")
        it = s.iter
        if not isinstance(s.target, (ast.Name, ast.Tuple)):
            raise self.err(s.target, "the loop variable must be a name")
        items = None
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
                and it.func.id not in self.env and self.src.lookup("range")[1] is range):
            seq = self.expr(it)
            if not isinstance(seq.type, N.Tuple) or not seq.val:
                raise self.err(it, "only `for ... in range(...)` and loops over tuples are supported in a kernel")
            t = seq.type.items[0]
            for x in seq.type.items[1:]:
                t = N.unify(t, x)
                if t is None or not isinstance(t, N.Number):
                    raise self.err(it, f"a loop over {seq.type}: the items must be numbers of one type")
            items = f"$items{id(s)}"
            self.write_var(items, self.convert(seq, N.Tuple((t,) * len(seq.val)), it), it)
            elem = t
            t = N.INT64
            args = [V(t, ir.Const(t.ir, len(seq.val)))]
        else:
            if it.keywords or not 1 <= len(it.args) <= 3:
                raise self.err(it, "range() takes 1 to 3 positional arguments")
            args = [self.expr(a) for a in it.args]
            for a, node in zip(args, it.args):
                if not (isinstance(a.type, N.Number) and (a.type.is_int or a.type == N.BOOL)):
                    raise self.err(node, f"range() arguments must be integers, not {a.type}")
            t = N.range_type([a.type for a in args])
            args = [self.convert(a, t, it) for a in args]
        if len(args) == 1:
            start, stop, step = V(t, ir.Const(t.ir, 0)), args[0], V(t, ir.Const(t.ir, 1))
        else:
            start, stop = args[0], args[1]
            step = args[2] if len(args) == 3 else V(t, ir.Const(t.ir, 1))
        idx, lim, stp = f"$it{id(s)}", f"$stop{id(s)}", f"$step{id(s)}"
        self.write_var(idx, start, it)
        self.write_var(lim, stop, it)
        self.write_var(stp, step, it)

        def head():
            i, n, st = (self.read_var(x, it).val for x in (idx, lim, stp))
            if isinstance(st, ir.Const):
                return self.b.emit("lt" if st.value > 0 else "gt", T.PRED, [i, n])
            up = self.b.emit("lt", T.PRED, [i, n])
            down = self.b.emit("gt", T.PRED, [i, n])
            pos = self.b.emit("gt", T.PRED, [st, ir.Const(t.ir, 0)])
            return self.b.emit("select", T.PRED, [pos, up, down])

        def first():
            i, st = self.read_var(idx, it), self.read_var(stp, it)
            self.write_var(idx, V(t, self.b.emit("add", t.ir, [i.val, st.val])), it)
            if items is not None:
                tup = self.read_var(items, it).val
                v = tup[-1].val
                for k in range(len(tup) - 2, -1, -1):
                    hit = self.b.emit("eq", T.PRED, [i.val, ir.Const(T.S64, k)])
                    v = self.b.emit("select", elem.ir, [hit, tup[k].val, v])
                i = V(elem, v)
            self.assign(s.target, i, s)
        self.loop(s, head, first, s.body)

    def loop(self, s, head_fn, first_fn, body: list) -> None:
        head_env, exit_env = self._fixpoint(s, head_fn, first_fn, body)
        b = self.b
        head, blk, out, end = b.block("loop.head"), b.block("loop.body"), b.block("loop.exit"), b.block("loop.end")
        self.convert_env(head_env, s)
        b.jmp(head)
        b.at(head)
        self.env = dict(head_env)
        saved = b.span
        b.span = self.src.span(s)
        cond = head_fn()
        b.br(cond, blk, out)
        b.span = saved
        b.seal(blk)
        b.at(blk)
        frame = _Frame(head_env, exit_env, head, end)
        self.loops.append(frame)
        if first_fn:
            first_fn()
        self.body(body)
        self.loops.pop()
        if not b.terminated:
            self.convert_env(head_env, s)
            b.jmp(head)
        b.seal(head)
        b.seal(out)
        b.at(out)
        self.env = dict(head_env)
        self.convert_env(exit_env, s)
        b.jmp(end)
        b.seal(end)
        b.at(end)
        self.env = dict(exit_env)

    def _fixpoint(self, s, head_fn, first_fn, body):
        """The types variables have at the loop head and after the loop."""
        if self.dry and self.loops and getattr(self.loops[-1], "head_env", None) is None:
            pass
        saved = (self.b, self.dry, self.env, self.loops)
        head = dict(self.env)
        try:
            for _ in range(50):
                self._dry_setup(head)
                self.loops = list(saved[3])
                cond = head_fn()
                blk, out = self.b.block("b"), self.b.block("o")
                self.b.br(cond, blk, out)
                self.b.seal(blk)
                self.b.at(blk)
                frame = _Frame(None, None, None, self.b.block("x"))
                self.loops.append(frame)
                if first_fn:
                    first_fn()
                self.body(body)
                if not self.b.terminated:
                    frame.backs.append(dict(self.env))
                new = self.unify_envs([head] + frame.backs, s)
                if new == head:
                    return head, self.unify_envs([head] + frame.breaks, s)
                head = new
            raise self.err(s, "the types of this loop's variables do not settle")
        finally:
            self.b, self.dry, self.env, self.loops = saved
            self.env = dict(saved[2])

    def s_Break(self, s) -> None:
        if not self.loops:
            raise self.err(s, "'break' outside loop")
        f = self.loops[-1]
        if f.head_env is None:
            f.breaks.append(dict(self.env))
        else:
            self.convert_env(f.exit_env, s)
        self.b.jmp(f.exit)

    def s_Continue(self, s) -> None:
        if not self.loops:
            raise self.err(s, "'continue' not properly in loop")
        f = self.loops[-1]
        if f.head_env is None:
            f.backs.append(dict(self.env))
            self.b.jmp(f.exit)
        else:
            self.convert_env(f.head_env, s)
            self.b.jmp(f.cont)

