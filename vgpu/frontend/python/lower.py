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
from . import ntypes as N
from .source import PySource
from .values import ArrayVal, V, cast, flatten, from_mem, leaves, to_mem, unflatten

_ARITH = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv", ast.FloorDiv: "floordiv",
          ast.Mod: "mod", ast.Pow: "pow", ast.BitAnd: "and", ast.BitOr: "or", ast.BitXor: "xor",
          ast.LShift: "shl", ast.RShift: "shr"}
_CMP = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.Eq: "eq", ast.NotEq: "ne"}
_REJECT = {
    ast.List: "list creation is not supported in a kernel (use cuda.local.array)",
    ast.Dict: "dict creation is not supported in a kernel",
    ast.Set: "set creation is not supported in a kernel",
    ast.ListComp: "comprehensions are not supported in a kernel",
    ast.DictComp: "comprehensions are not supported in a kernel",
    ast.SetComp: "comprehensions are not supported in a kernel",
    ast.GeneratorExp: "generator expressions are not supported in a kernel",
    ast.Lambda: "lambda is not supported in a kernel",
    ast.Try: "try/except is not supported in a kernel",
    ast.With: "with is not supported in a kernel",
    ast.Raise: "raise is not supported in a kernel",
    ast.Global: "global is not supported in a kernel",
    ast.Nonlocal: "nonlocal is not supported in a kernel",
    ast.FunctionDef: "nested functions are not supported in a kernel (use @cuda.jit(device=True))",
    ast.ClassDef: "class definitions are not supported in a kernel",
    ast.Import: "import is not supported in a kernel",
    ast.ImportFrom: "import is not supported in a kernel",
    ast.Delete: "del is not supported in a kernel",
    ast.Assert: "assert is not supported in a kernel",
    ast.Yield: "yield is not supported in a kernel",
    ast.Await: "await is not supported in a kernel",
    ast.Starred: "starred expressions are not supported in a kernel",
    ast.JoinedStr: "f-strings are not supported in a kernel (print the values instead)",
    ast.NamedExpr: "assignment expressions (:=) are not supported in a kernel",
}


class Ctx:
    """One compilation: the IR module, statics by call site, and the chain of inlined functions."""

    def __init__(self, module: ir.Module):
        self.module = module
        self.statics: dict = {}
        self.inlining: list = []
        self.ninst = 0


class _Frame:
    def __init__(self, head_env, exit_env, cont, exit_blk):
        self.head_env, self.exit_env, self.cont, self.exit = head_env, exit_env, cont, exit_blk
        self.backs: list[dict] = []
        self.breaks: list[dict] = []


class FnLower:
    def __init__(self, ctx: Ctx, src: PySource, b: Builder):
        from . import calls
        self.calls = calls
        self.ctx, self.src, self.b = ctx, src, b
        self.env: dict[str, object] = {}
        self.consts: dict[str, V] = {}
        self.loops: list[_Frame] = []
        self.dry = False
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
            raise self.err(tree, f"a kernel takes (threadIdx, blockIdx, blockDim, gridDim, *args)")
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
                self.write_var(name, V(t, ArrayVal(data, shape)), p)
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

    # -- conditions ------------------------------------------------------------------------------------
    def truth(self, node) -> ir.Value:
        v = self.expr(node)
        return self.to_pred(v, node)

    def to_pred(self, v: V, node) -> ir.Value:
        if isinstance(v.type, N.Number):
            return cast(self.b, v.val, v.type, N.BOOL)
        if isinstance(v.type, N.Tuple):
            return ir.Const(T.PRED, bool(v.type.items))
        if v.type == N.NONE:
            return ir.Const(T.PRED, False)
        raise self.err(node, f"{v.type} cannot be used as a condition")

    def branch(self, node, t: ir.Block, f: ir.Block) -> None:
        b = self.b
        if isinstance(node, ast.BoolOp):
            for k, value in enumerate(node.values):
                if k == len(node.values) - 1:
                    self.branch(value, t, f)
                    return
                mid = b.block("sc")
                if isinstance(node.op, ast.And):
                    self.branch(value, mid, f)
                else:
                    self.branch(value, t, mid)
                b.seal(mid)
                b.at(mid)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self.branch(node.operand, f, t)
            return
        saved = b.span
        b.span = self.src.span(node)
        b.br(self.truth(node), t, f)
        b.span = saved

    # -- expressions -----------------------------------------------------------------------------------
    def expr(self, node) -> V:
        saved = self.b.span
        self.b.span = self.src.span(node)
        try:
            m = getattr(self, "e_" + type(node).__name__, None)
            if m is None:
                raise self.err(node, _REJECT.get(type(node), f"{type(node).__name__} expressions are not "
                                                             f"supported in a kernel"))
            return m(node)
        finally:
            self.b.span = saved

    def e_Constant(self, node) -> V:
        return self.const_value(node.value, node)

    def const_value(self, value, node) -> V:
        if value is None:
            return V(N.NONE, None, None)
        if isinstance(value, str):
            return V(N.Ref("str", value), None, value)
        try:
            t = N.typeof(value)
        except TypeError:
            raise self.err(node, f"a {type(value).__name__} constant cannot be used in a kernel") from None
        if isinstance(t, N.Number):
            v = bool(value) if t == N.BOOL else (float(value) if t.is_float else int(value))
            return V(t, ir.Const(t.ir, v), v)
        raise self.err(node, f"the global array {getattr(node, 'id', '')!r} cannot be used in a kernel: "
                             f"pass it as an argument or use cuda.const.array_like")

    def e_Name(self, node) -> V:
        name = node.id
        if name in self.env:
            return self.read_var(name, node)
        if name in self.consts:
            return self.consts[name]
        found, value = self.src.lookup(name)
        if not found:
            raise self.err(node, f"name {name!r} is not defined")
        return self.calls.global_value(self, value, node)

    def e_Tuple(self, node) -> V:
        items = [self.expr(e) for e in node.elts]
        for it, e in zip(items, node.elts):
            if not isinstance(it.type, (N.Number, N.Tuple, N.Array)):
                raise self.err(e, f"{it.type} cannot be a tuple item in a kernel")
        return V(N.Tuple(tuple(i.type for i in items)), items)

    def e_Attribute(self, node) -> V:
        base = self.expr(node.value)
        return self.calls.attribute(self, base, node.attr, node)

    def e_Call(self, node) -> V:
        fn = self.expr(node.func)
        return self.calls.call(self, fn, node)

    def e_IfExp(self, node) -> V:
        b = self.b
        yes, no = b.block("ifx.then"), b.block("ifx.else")
        self.branch(node.test, yes, no)
        ends = []
        for blk, e in ((yes, node.body), (no, node.orelse)):
            b.seal(blk)
            b.at(blk)
            ends.append((b.cur, self.expr(e), e))
        return self.join_values(ends, node)

    def join_values(self, ends: list, node) -> V:
        """Join values computed in different blocks (each still open) into one of the unified type."""
        b = self.b
        t = ends[0][1].type
        for _, v, e in ends[1:]:
            u = N.unify(t, v.type)
            if u is None:
                raise self.err(node, f"cannot unify {t} and {v.type}")
            t = u
        end = b.block("ifx.end")
        key = ("$join", id(node), self.inst, t)
        for blk, v, e in ends:
            b.at(blk)
            v = self.convert(v, t, e)
            for k, x in enumerate(flatten(v)):
                b.write((key, k), x)
            b.jmp(end)
        b.seal(end)
        b.at(end)
        return unflatten(t, [b.read((key, k), st) for k, (_, st) in enumerate(leaves(t))])

    def e_BoolOp(self, node) -> V:
        b = self.b
        ends = []
        for k, value in enumerate(node.values):
            v = self.expr(value)
            if k == len(node.values) - 1:
                ends.append((b.cur, v, value))
                break
            p = self.to_pred(v, value)
            nxt, done = b.block("bool.next"), b.block("bool.done")
            if isinstance(node.op, ast.And):
                b.br(p, nxt, done)
            else:
                b.br(p, done, nxt)
            b.seal(done)
            b.at(done)
            ends.append((done, v, value))
            b.seal(nxt)
            b.at(nxt)
        return self.join_values(ends, node)

    def e_UnaryOp(self, node) -> V:
        v = self.expr(node.operand)
        if isinstance(node.op, ast.Not):
            return V(N.BOOL, self.b.emit("not", T.PRED, [self.to_pred(v, node.operand)]))
        if not isinstance(v.type, N.Number):
            raise self.err(node, f"bad operand type for unary operator: {v.type}")
        op = {ast.USub: "neg", ast.UAdd: "pos", ast.Invert: "invert"}[type(node.op)]
        rt = N.unary_result(op, v.type)
        if rt is None:
            raise self.err(node, f"bad operand type for ~: {v.type}")
        x = cast(self.b, v.val, v.type, rt)
        if op == "pos":
            return V(rt, x)
        if op == "invert" and rt == N.BOOL:
            return V(rt, self.b.emit("not", T.PRED, [x]))
        return V(rt, self.b.emit("neg" if op == "neg" else "not", rt.ir, [x]))

    def e_BinOp(self, node) -> V:
        a, c = self.expr(node.left), self.expr(node.right)
        return self.binop(_ARITH[type(node.op)], a, c, node)

    def binop(self, op: str, a: V, c: V, node) -> V:
        from .arith import binop
        if not (isinstance(a.type, N.Number) and isinstance(c.type, N.Number)):
            raise self.err(node, f"unsupported operand types for {op}: {a.type} and {c.type}")
        return binop(self, op, a, c, node)

    def e_Compare(self, node) -> V:
        b = self.b
        left = self.expr(node.left)
        result = None
        for op, right_node in zip(node.ops, node.comparators):
            right = self.expr(right_node)
            if type(op) not in _CMP:
                raise self.err(node, f"the operator {type(op).__name__} is not supported in a kernel")
            if not (isinstance(left.type, N.Number) and isinstance(right.type, N.Number)):
                raise self.err(node, f"cannot compare {left.type} and {right.type}")
            ct = N.compare_type(left.type, right.type)
            x, y = cast(b, left.val, left.type, ct), cast(b, right.val, right.type, ct)
            name = _CMP[type(op)]
            if ct == N.BOOL and name not in ("eq", "ne"):
                x, y = cast(b, x, N.BOOL, N.INT64), cast(b, y, N.BOOL, N.INT64)
            if ct == N.BOOL:
                p = b.emit("xor" if name == "ne" else "xor", T.PRED, [x, y]) if name in ("eq", "ne") else \
                    b.emit(name, T.PRED, [x, y])
                if name == "eq":
                    p = b.emit("not", T.PRED, [p])
            else:
                p = b.emit(name, T.PRED, [x, y])
            result = p if result is None else b.emit("and", T.PRED, [result, p])
            left = right
        return V(N.BOOL, result)

    # -- arrays ---------------------------------------------------------------------------------------
    def indices(self, node) -> list:
        sl = node.slice
        items = sl.elts if isinstance(sl, ast.Tuple) else [sl]
        out = []
        for it in items:
            if isinstance(it, ast.Slice):
                raise self.err(it, "slicing arrays is not supported in a kernel (index every dimension)")
            v = self.expr(it)
            if isinstance(v.type, N.Tuple):
                out += [(x, it) for x in v.val]
            else:
                out.append((v, it))
        return out

    def element(self, base: V, node):
        """The address and element type of base[index]."""
        t = base.type
        if not isinstance(t, N.Array):
            if isinstance(t, N.Tuple):
                raise self.err(node, "tuples cannot be assigned to")
            raise self.err(node, f"{t} cannot be indexed")
        return self.element_at(base, self.indices(node), node)

    def element_at(self, base: V, idx: list, node):
        t = base.type
        if len(idx) != t.ndim:
            raise self.err(getattr(node, "slice", node), f"a {t.ndim}-d array takes {t.ndim} indices, {len(idx)} given"
                           if len(idx) > t.ndim else
                           f"{len(idx)} indices on a {t.ndim}-d array: taking a sub-array is not supported "
                           f"in a kernel (index every dimension)")
        b = self.b
        lin = None
        for k, (v, n) in enumerate(idx):
            if not isinstance(v.type, N.Number) or not (v.type.is_int or v.type == N.BOOL):
                raise self.err(n, f"array index must be an integer, not {v.type}")
            i = cast(b, v.val, v.type, N.INT64) if v.type != N.BOOL else cast(b, v.val, N.BOOL, N.INT64)
            dim = base.val.shape[k]
            if v.type.signed and v.type != N.BOOL and not (isinstance(i, ir.Const) and i.value >= 0):
                if isinstance(i, ir.Const):
                    i = ir.Const(T.S64, i.value + dim.value) if isinstance(dim, ir.Const) else \
                        b.emit("add", T.S64, [i, dim])
                else:
                    neg = b.emit("lt", T.PRED, [i, ir.Const(T.S64, 0)])
                    i = b.emit("add", T.S64, [i, b.emit("select", T.S64, [neg, dim, ir.Const(T.S64, 0)])])
            if lin is None:
                lin = i
            else:
                lin = b.emit("add", T.S64, [b.emit("mul", T.S64, [lin, dim]), i])
        size = t.dtype.mem.size
        off = lin if size == 1 else b.emit("mul", T.S64, [lin, ir.Const(T.S64, size)])
        off = b.emit("bitcast", T.U64, [off]) if not isinstance(off, ir.Const) else \
            ir.Const(T.U64, off.value % 2 ** 64)
        return b.emit("add", T.U64, [base.val.data, off]), t.dtype

    def e_Subscript(self, node) -> V:
        base = self.expr(node.value)
        if isinstance(base.type, N.Tuple):
            i = self.calls.const_eval(self, node.slice)
            if not isinstance(i, int) or isinstance(i, bool):
                raise self.err(node.slice, "a tuple index must be a constant integer")
            if not -len(base.val) <= i < len(base.val):
                raise self.err(node.slice, "tuple index out of range")
            return base.val[i]
        addr, et = self.element(base, node)
        v = self.b.emit("load", et.mem, [addr], space=base.type.space)
        return V(et, from_mem(self.b, v, et))

    def store_index(self, base: V, node, v: V) -> None:
        addr, et = self.element(base, node)
        self.store_at(addr, base.type, v, node)

    def store_at(self, addr, at: N.Array, v: V, node) -> None:
        if at.space == "const":
            raise self.err(node, "a constant array cannot be written")
        if not isinstance(v.type, N.Number):
            raise self.err(node, f"cannot store {v.type} into an array of {at.dtype}")
        x = cast(self.b, v.val, v.type, at.dtype)
        self.b.emit("store", None, [addr, to_mem(self.b, x, at.dtype)], space=at.space)
