"""Memory, atomic and warp-level instructions of the generated `warp` function.

In:  a `codegen.KernelGen` being built (operands, registers, ctx words, bail-out).
Out: IR for ld/st/atom/red (a loop over the active lanes, lowest first: alignment, window and
     allocation checks as vgpu.sim's memory does, then the access; any failed check bails out so
     the interpreter reports the fault) and for shfl/vote/bar.warp.sync (lane vectors; a member mask
     that is not exactly the active lanes bails out to the interpreter, which waits or reports).
"""
from __future__ import annotations

from functools import lru_cache

from llvmlite import ir

from ...isa import spec

from .alu import I1, I8, I32, I64, N, splat, vec
from .codegen import (C_SITES, B_FAULT, B_LOG, B_WARP_SYNC, C_BAIL_PC, C_LOG, C_LOGCAP, C_LOGN, C_ALIVE0, C_ARENA,
                      C_ATOMICS, C_CCOUNT, C_CENDS, C_CHI, C_CLO, C_CONST, C_CSTARTS, C_GCOUNT, C_GENDS, C_GHI,
                      C_GLO, C_GSTARTS, C_LOCAL, C_LOCAL_BYTES, C_LPAD, C_MT, C_PARAMS, C_PRIV_BUF, C_PRIV_HI,
                      C_PRIV_LO, C_PRIV_REFUSED, C_RLOG, C_RLOGCAP, C_RLOGN, C_SHARED, C_SHARED_BYTES,
                      UNDO_KIND, W_WIDX, _elt)
from .counting import CountGen
from .undo import RECORD_BYTES, RECORD_WORDS
from .layout import CONST_BASE, CONST_BYTES, GLOBAL_BASE, LOCAL_BASE, SHARED_BASE, WINDOW


def c64(v):
    return ir.Constant(I64, v)


def c32(v):
    return ir.Constant(I32, v & 0xFFFFFFFF)


def _space(ins):
    return next((m for m in ins.mods if m in spec.SPACES), None)


@lru_cache(maxsize=1)
def _avx512() -> bool:
    """Whether the host CPU (the one the code is generated for) has AVX-512F."""
    try:
        import llvmlite.binding as llvm
        return "+avx512f" in llvm.get_host_cpu_features().flatten().split(",")
    except Exception:           # no feature list on this platform: the generic gather
        return False


class MemGen(CountGen):
    _helper = False             # generating a resolve helper: a bail-out returns null (reason in ctx)


    # -- lane loop --------------------------------------------------------------------------------------
    def lane_loop(self, b, m, body):
        """for each set bit l of mask m (lowest first): body(b, l as i64)."""
        pre = b.block
        head, bodyb, out = (b.append_basic_block(x) for x in ("lh", "lb", "lx"))
        b.branch(head)
        b.position_at_end(head)
        mm = b.phi(I32)
        mm.add_incoming(m, pre)
        b.cbranch(b.icmp_unsigned("!=", mm, c32(0)), bodyb, out)
        b.position_at_end(bodyb)
        cttz = self.module.globals.get("llvm.cttz.i32") or ir.Function(
            self.module, ir.FunctionType(I32, [I32, I1]), name="llvm.cttz.i32")
        lane = b.zext(b.call(cttz, [mm, ir.Constant(I1, 1)]), I64)
        body(b, lane)
        mm.add_incoming(b.and_(mm, b.sub(mm, c32(1))), b.block)
        b.branch(head)
        b.position_at_end(out)

    def spill(self, b, v, arr):
        """Store vector v into the [32 x i64]-sized scratch `arr` as <32 x T>; returns its T*."""
        p = b.bitcast(arr, v.type.as_pointer())
        b.store(v, p, align=64)
        return b.bitcast(arr, v.type.element.as_pointer())

    # -- address checks ---------------------------------------------------------------------------------
    def _gsearch(self, table):
        """i1 search(ctx, a, end): [a, end) inside one allocation of the global (0) or const (1) table;
        on success the hit is cached in ctx (GLO/GHI or CLO/CHI)."""
        name = f"search{table}"
        if name in self.module.globals:
            return self.module.globals[name]
        fn = ir.Function(self.module, ir.FunctionType(I1, [I64.as_pointer(), I64, I64]), name=name)
        fn.linkage = "internal"
        ctx, a, end = fn.args
        starts_k, ends_k, count_k, lo_k, hi_k = ((C_GSTARTS, C_GENDS, C_GCOUNT, C_GLO, C_GHI) if table == 0 else
                                                 (C_CSTARTS, C_CENDS, C_CCOUNT, C_CLO, C_CHI))
        b = ir.IRBuilder(fn.append_basic_block("e"))
        word = lambda k: b.load(b.gep(ctx, [c64(k)]))        # noqa: E731
        starts = b.inttoptr(word(starts_k), I64.as_pointer())
        ends = b.inttoptr(word(ends_k), I64.as_pointer())
        cnt = word(count_k)
        pre = b.block
        head, body, out = (fn.append_basic_block(x) for x in ("h", "b", "o"))
        b.branch(head)
        b.position_at_end(head)
        lo, hi = b.phi(I64), b.phi(I64)
        lo.add_incoming(c64(0), pre)
        hi.add_incoming(cnt, pre)
        b.cbranch(b.icmp_signed("<", lo, hi), body, out)
        b.position_at_end(body)
        mid = b.lshr(b.add(lo, hi), c64(1))
        le = b.icmp_signed("<=", b.load(b.gep(starts, [mid])), a)
        lo.add_incoming(b.select(le, b.add(mid, c64(1)), lo), body)
        hi.add_incoming(b.select(le, hi, mid), body)
        b.branch(head)
        b.position_at_end(out)
        i = b.sub(lo, c64(1))
        neg, chk = fn.append_basic_block("neg"), fn.append_basic_block("chk")
        b.cbranch(b.icmp_signed("<", i, c64(0)), neg, chk)
        b.position_at_end(neg)
        b.ret(ir.Constant(I1, 0))
        b.position_at_end(chk)
        s, e = b.load(b.gep(starts, [i])), b.load(b.gep(ends, [i]))
        ok = b.icmp_signed("<=", end, e)
        yes, no = fn.append_basic_block("yes"), fn.append_basic_block("no")
        b.cbranch(ok, yes, no)
        b.position_at_end(no)
        b.ret(ir.Constant(I1, 0))
        b.position_at_end(yes)
        if table == 0:          # the privatized allocation (`atomic`) is out of bounds for other accesses
            priv = b.icmp_signed("==", s, word(C_PRIV_LO))
            mine, theirs = fn.append_basic_block("mine"), fn.append_basic_block("theirs")
            b.cbranch(priv, theirs, mine)
            b.position_at_end(theirs)
            b.store(c64(1), b.gep(ctx, [c64(C_PRIV_REFUSED)]))
            b.ret(ir.Constant(I1, 0))
            b.position_at_end(mine)
        b.store(s, b.gep(ctx, [c64(lo_k)]))
        b.store(e, b.gep(ctx, [c64(hi_k)]))
        b.ret(ir.Constant(I1, 1))
        return fn

    def resolve(self, b, pc, a, size, space, kind, lane):
        """Host pointer (i8*) for generic/space address a (i64) of `size` bytes; bails on a fault.
        The checks live in one helper function per (space, size, access) to keep the IR small."""
        fn = self._resolver(space if space in ("global", "shared", "local", "const") else None, size, kind)
        p = b.call(fn, [self.ctx, self.ws, a, lane])
        bad, ok = b.append_basic_block("fault"), b.append_basic_block("ok")
        b.cbranch(b.icmp_unsigned("==", b.ptrtoint(p, I64), c64(0)), bad, ok)
        b.position_at_end(bad)
        b.store(c64(pc), self.cptr(b, C_BAIL_PC))
        self.save(b, c64(pc))
        b.ret(c32(2))
        b.position_at_end(ok)
        return p

    def _resolver(self, space, size, kind):
        name = f"resolve_{space or 'generic'}_{size}_{kind}"
        fn = self.module.globals.get(name)
        if fn is not None:
            return fn
        fn = ir.Function(self.module, ir.FunctionType(I8.as_pointer(), [I64.as_pointer(), I64.as_pointer(), I64, I64]),
                         name=name)
        fn.linkage = "internal"
        saved = self.ctx, self.ws, self._helper
        self.ctx, self.ws, a, lane = fn.args
        self._helper = True
        try:
            b = ir.IRBuilder(fn.append_basic_block("e"))
            if size > 1:
                self.bail_if(b, b.icmp_unsigned("!=", b.and_(a, c64(size - 1)), c64(0)), 0, B_FAULT)
            for sp in [space] if space else ["global", "shared", "local", "const"]:
                yes, no = b.append_basic_block(f"in_{sp}"), b.append_basic_block(f"not_{sp}")
                b.cbranch(self._in_window(b, a, sp), yes, no)
                b.position_at_end(yes)
                b.ret(self._access(b, 0, a, size, sp, kind, lane))
                b.position_at_end(no)
            self.bail(b, 0, B_FAULT)
        finally:
            self.ctx, self.ws, self._helper = saved
        return fn

    @staticmethod
    def _in_window(b, a, sp):
        if sp == "global":
            return b.icmp_unsigned(">=", a, c64(GLOBAL_BASE))
        lo, size = {"shared": (SHARED_BASE, WINDOW), "local": (LOCAL_BASE, WINDOW), "const": (CONST_BASE, CONST_BYTES)}[sp]
        return b.icmp_unsigned("<", b.sub(a, c64(lo)), c64(size))

    def _access(self, b, pc, a, size, sp, kind, lane):
        end = b.add(a, c64(size))
        if sp in ("global", "const"):
            if sp == "const" and kind != "load":
                self.bail(b, pc, B_FAULT)
                b.position_at_end(b.append_basic_block("dead"))
            lo_k, hi_k, base, arena = ((C_GLO, C_GHI, GLOBAL_BASE, C_ARENA) if sp == "global" else
                                       (C_CLO, C_CHI, CONST_BASE, C_CONST))
            hit = b.and_(b.icmp_signed(">=", a, self.cword(b, lo_k)), b.icmp_signed("<=", end, self.cword(b, hi_k)))
            miss, ok = b.append_basic_block("miss"), b.append_basic_block("hit")
            b.cbranch(hit, ok, miss)
            b.position_at_end(miss)
            found = b.call(self._gsearch(0 if sp == "global" else 1), [self.ctx, a, end])
            self.bail_if(b, b.not_(found), pc, B_FAULT)
            b.branch(ok)
            b.position_at_end(ok)
            host = b.inttoptr(self.cword(b, arena), I8.as_pointer())
            p = b.gep(host, [b.sub(a, c64(base))])
            if sp == "global" and kind == "store":
                self.log_old(b, pc, a, p, size)
            return p
        if sp == "shared":
            off = b.sub(a, c64(SHARED_BASE))
            self.bail_if(b, b.icmp_signed(">", b.add(off, c64(size)), self.cword(b, C_SHARED_BYTES)), pc, B_FAULT)
            return b.gep(b.inttoptr(self.cword(b, C_SHARED), I8.as_pointer()), [off])
        off = b.sub(a, c64(LOCAL_BASE))
        self.bail_if(b, b.icmp_signed(">", b.add(off, c64(size)), self.cword(b, C_LOCAL_BYTES)), pc, B_FAULT)
        lanes = b.add(b.mul(b.load(self.wptr(b, W_WIDX)), c64(32)), lane)
        return b.gep(b.inttoptr(self.cword(b, C_LOCAL), I8.as_pointer()),
                     [b.add(b.mul(lanes, self.cword(b, C_LPAD)), off)])

    def log_old(self, b, pc, a, p, size, inverse=None):
        """Append (address, size, old value) to the undo log (ctx LOG/LOGN/LOGCAP; capacity < 0: off);
        a full log bails out before the store, so the log always restores memory exactly.  inverse
        (op, x) instead logs how to undo an atomic `op` of x that other threads may follow: (address,
        size + 256 * UNDO_KIND[op], x) (and, or, min and max need none: doing them twice changes nothing)."""
        cap = self.cword(b, C_LOGCAP)
        on, done = b.append_basic_block("log"), b.append_basic_block("logged")
        b.cbranch(b.icmp_signed(">=", cap, c64(0)), on, done)
        b.position_at_end(on)
        n = self.cword(b, C_LOGN)
        self.bail_if(b, b.icmp_signed(">=", n, cap), pc, B_LOG)
        log = b.inttoptr(self.cword(b, C_LOG), I64.as_pointer())
        at = b.mul(n, c64(3))
        it = ir.IntType(8 * size)
        if inverse is not None:
            x = inverse[1]
            old = b.zext(x, I64) if size < 8 else x
            size += 256 * UNDO_KIND[inverse[0]]
        else:
            old = b.zext(b.load(b.bitcast(p, it.as_pointer())), I64) if size < 8 else \
                b.load(b.bitcast(p, I64.as_pointer()))
        b.store(a, b.gep(log, [at]))
        b.store(c64(size), b.gep(log, [b.add(at, c64(1))]))
        b.store(old, b.gep(log, [b.add(at, c64(2))]))
        b.store(b.add(n, c64(1)), self.cptr(b, C_LOGN))
        b.branch(done)
        b.position_at_end(done)

    def addresses(self, b, m):
        """The address operand as <32 x i64> (decode.Decoder.addr)."""
        off = int(m.offset)
        base = m.base
        if hasattr(base, "name") and base.__class__.__name__ == "Reg":
            from .layout import reg_class
            cls = reg_class(base.name)
            if cls in ("%rd", "%fd"):
                a = self.read(b, base, "s64")
            else:
                a = b.zext(self.read(b, base, "u32"), vec(I64))
            return b.add(a, splat(I64, off)) if off else a
        if base.__class__.__name__ == "Sym":
            s = b.add(self.sym_addr(b, base.name), c64(off))
        else:
            s = c64(int(base.value) + off)
        v = b.insert_element(ir.Constant(vec(I64), None), s, c32(0))
        return b.shuffle_vector(v, ir.Constant(vec(I64), None), ir.Constant(vec(I32), [c32(0)] * N))

    # -- ld / st / atomics ------------------------------------------------------------------------------
    def load(self, b, pc, ins, m):
        sp, t = _space(ins), ins.types[0]
        et = _elt(t)
        size = spec.type_bits(t) // 8
        if sp == "param":
            mem = ins.operands[1]
            off = self.lay.params[mem.base.name][0] + mem.offset
            p = b.gep(b.inttoptr(self.cword(b, C_PARAMS), I8.as_pointer()), [c64(off)])
            x = b.load(b.bitcast(p, et.as_pointer()), align=1)
            v = b.insert_element(ir.Constant(vec(et), None), x, c32(0))
            v = b.shuffle_vector(v, ir.Constant(vec(et), None), ir.Constant(vec(I32), [c32(0)] * N))
            return self.write(b, ins.operands[0], t, v, m)
        av = self.addresses(b, ins.operands[1])
        self.count_memory(b, pc, sp, av, m, size)
        addrs = self.spill(b, av, self.sa)
        vals = b.bitcast(self.sv, et.as_pointer())

        def body(b, lane):
            a = b.load(b.gep(addrs, [lane]))
            p = self.resolve(b, pc, a, size, sp, "load", lane)
            b.store(b.load(b.bitcast(p, et.as_pointer())), b.gep(vals, [lane]))

        def whole(b, p):
            x = b.load(b.bitcast(p, vec(et).as_pointer()), align=size)
            b.store(x, b.bitcast(self.sv, vec(et).as_pointer()), align=64)

        def gather(b, ptrs, mv):
            it = ir.IntType(8 * size)
            if sp == "shared" and size == 4 and _avx512():
                return self.permute_load(b, ptrs, mv)
            x = b.call(self._masked("gather", it), [ptrs, c32(size), mv, ir.Constant(vec(it), None)])
            b.store(x, b.bitcast(self.sv, vec(it).as_pointer()), align=64)
        if sp == "global" and size in (4, 8):    # contiguous: one vector load; else a gather
            self.warp_access(b, pc, av, size, sp, None, body, whole, m,
                             lambda b: self.lane_access(b, pc, av, size, sp, m, body, gather))
        elif not self.lane_access(b, pc, av, size, sp, m, body, gather):
            self.warp_access(b, pc, av, size, sp, None, body, whole, m)
        v = b.load(b.bitcast(self.sv, vec(et).as_pointer()), align=64)
        self.write(b, ins.operands[0], t, v, m)

    def store(self, b, pc, ins, m):
        sp, t = _space(ins), ins.types[0]
        et = _elt(t)
        size = spec.type_bits(t) // 8
        av = self.addresses(b, ins.operands[0])
        self.count_memory(b, pc, sp, av, m, size)
        addrs = self.spill(b, av, self.sa)
        vv = self.read(b, ins.operands[1], t)
        vals = self.spill(b, vv, self.sv)

        def body(b, lane):
            a = b.load(b.gep(addrs, [lane]))
            p = self.resolve(b, pc, a, size, sp, "store", lane)
            b.store(b.load(b.gep(vals, [lane])), b.bitcast(p, et.as_pointer()))

        def whole(b, p):
            self.log_range(b, av, p, size)
            b.store(vv, b.bitcast(p, vv.type.as_pointer()), align=size)

        def scatter(b, ptrs, mv):            # overlapping lanes: the highest lane's value stays
            it = ir.IntType(8 * size)
            x = b.load(b.bitcast(self.sv, vec(it).as_pointer()), align=64)
            b.call(self._masked("scatter", it), [x, ptrs, c32(size), mv])
        if sp == "global" or not self.lane_access(b, pc, av, size, sp, m, body, scatter):
            self.warp_access(b, pc, av, size, sp, vv, body, whole, m)

    def _masked(self, kind, it):
        """llvm.masked.gather (ptrs, align, mask, passthru) or .scatter (values, ptrs, align, mask)."""
        name = f"llvm.masked.{kind}.v{N}i{it.width}.v{N}p0"
        fn = self.module.globals.get(name)
        if fn is None:
            pv = ir.VectorType(it.as_pointer(), N)
            args = [pv, I32, vec(I1), vec(it)] if kind == "gather" else [vec(it), pv, I32, vec(I1)]
            fn = ir.Function(self.module, ir.FunctionType(vec(it) if kind == "gather" else ir.VoidType(), args),
                             name=name)
        return fn

    def permute_load(self, b, ptrs, mv):
        """A 4-byte gather (host pointers `ptrs`, lanes `mv`, all checked) into `sv`: when the active
        lanes' addresses lie within 128 bytes (a tile's row, a few rows of a broadcast), two vector
        loads from the lowest and two AVX-512 permutes (vpermi2d) instead of a 32-lane gather; the
        shared buffer has 128 bytes of padding, so the loads stay inside it."""
        ints = b.ptrtoint(ptrs, vec(I64))
        glo, ghi = self.span                                  # lane_access's span (generic addresses)
        lo = b.add(glo, b.sub(self.cword(b, C_SHARED), c64(SHARED_BASE)))
        hi = b.add(lo, b.sub(ghi, glo))
        perm, gath, done = (b.append_basic_block(x) for x in ("perm", "gath", "pdone"))
        b.cbranch(b.icmp_unsigned("<=", b.sub(hi, lo), c64(124)), perm, gath)
        b.position_at_end(gath)
        x = b.call(self._masked("gather", I32), [b.bitcast(ptrs, ir.VectorType(I32.as_pointer(), N)), c32(4), mv,
                                                  ir.Constant(vec(I32), None)])
        b.store(x, b.bitcast(self.sv, vec(I32).as_pointer()), align=64)
        b.branch(done)
        b.position_at_end(perm)
        v16 = ir.VectorType(I32, 16)
        base = b.inttoptr(lo, v16.as_pointer())
        t0 = b.load(base, align=4)
        t1 = b.load(b.gep(base, [c64(1)]), align=4)
        lov = b.shuffle_vector(b.insert_element(ir.Constant(vec(I64), None), lo, c32(0)),
                               ir.Constant(vec(I64), None), ir.Constant(vec(I32), [c32(0)] * N))
        idx = b.and_(b.trunc(b.lshr(b.sub(ints, lov), splat(I64, 2)), vec(I32)), splat(I32, 31))
        fn = self.module.globals.get("llvm.x86.avx512.vpermi2var.d.512") or ir.Function(
            self.module, ir.FunctionType(v16, [v16, v16, v16]), name="llvm.x86.avx512.vpermi2var.d.512")
        halves = []
        for h in range(2):
            ih = b.shuffle_vector(idx, ir.Constant(vec(I32), None), ir.Constant(v16, [c32(16 * h + i) for i in range(16)]))
            halves.append(b.call(fn, [t0, ih, t1]))
        x = b.shuffle_vector(halves[0], halves[1], ir.Constant(vec(I32), [c32(i) for i in range(N)]))
        b.store(x, b.bitcast(self.sv, vec(I32).as_pointer()), align=64)
        b.branch(done)
        b.position_at_end(done)

    def _reduce(self, b, op, v):
        name = f"llvm.vector.reduce.{op}.v{N}i64"
        fn = self.module.globals.get(name) or ir.Function(self.module, ir.FunctionType(I64, [vec(I64)]), name=name)
        return b.call(fn, [v])

    def lane_access(self, b, pc, av, size, sp, m, body, vector) -> bool:
        """A shared access, or a global load, of any lane pattern as one masked gather/scatter
        `vector(b, host pointers, mask)` when every active lane passes the checks the per-lane loop
        `body` makes (alignment; shared: inside the block's shared memory; global: the active lanes'
        span inside one allocation), else that loop, which finds the fault exactly as before.
        False (nothing emitted) for the other spaces."""
        if sp not in ("shared", "global") or size not in (1, 2, 4, 8):
            return False
        mv = self.maskvec(b, m)
        lo = self._reduce(b, "umin", b.select(mv, av, splat(I64, -1)))          # the active lanes' span
        top = self._reduce(b, "umax", b.select(mv, av, splat(I64, 0)))
        aligned = b.icmp_unsigned("==", b.and_(self._reduce(b, "or", b.select(mv, av, splat(I64, 0))),
                                               c64(size - 1)), c64(0))
        every = b.and_(aligned, b.icmp_unsigned("!=", m, c32(0)))
        fast, slow, done = (b.append_basic_block(x) for x in ("gfast", "gslow", "gdone"))
        self.span = (lo, top)
        if sp == "global":
            base, host_base = c64(GLOBAL_BASE), self.cword(b, C_ARENA)
            chk = b.append_basic_block("gchk")
            b.cbranch(every, chk, slow)
            b.position_at_end(chk)
            self.site_range(b, pc, lo, b.add(top, c64(size)), fast, slow)
        else:                               # every lane inside the block's shared memory: lo and top are
            base, host_base = c64(SHARED_BASE), self.cword(b, C_SHARED)
            off = b.sub(top, c64(SHARED_BASE))
            inside = b.and_(b.icmp_unsigned(">=", lo, c64(SHARED_BASE)), b.icmp_unsigned("<", off, c64(WINDOW)))
            inside = b.and_(inside, b.icmp_unsigned("<=", b.add(off, c64(size)), self.cword(b, C_SHARED_BYTES)))
            b.cbranch(b.and_(every, inside), fast, slow)
        b.position_at_end(fast)
        hb = b.shuffle_vector(b.insert_element(ir.Constant(vec(I64), None), b.sub(host_base, base), c32(0)),
                              ir.Constant(vec(I64), None), ir.Constant(vec(I32), [c32(0)] * N))
        it = ir.IntType(8 * size)
        vector(b, b.inttoptr(b.add(av, hb), ir.VectorType(it.as_pointer(), N)), mv)
        b.branch(done)
        b.position_at_end(slow)
        self.lane_loop(b, m, body)
        b.branch(done)
        b.position_at_end(done)
        return True

    def warp_access(self, b, pc, av, size, sp, stored, body, whole, m, slow_path=None):
        """A global access of the warp: one vector access `whole(b, host pointer)` when the 32 lanes'
        addresses are a0, a0+size, ... (a0 aligned) inside one allocation of global memory (and, for a
        store, every lane is active and the undo log has room for 32 entries); otherwise the per-lane
        loop `body` with its checks (or `slow_path(b)`), so faults are found exactly as before."""
        if sp != "global" or size not in (4, 8):
            return self.lane_loop(b, m, body)
        a0 = b.extract_element(av, c32(0))
        want = b.add(b.shuffle_vector(b.insert_element(ir.Constant(vec(I64), None), a0, c32(0)),
                                      ir.Constant(vec(I64), None), ir.Constant(vec(I32), [c32(0)] * N)),
                     ir.Constant(vec(I64), [c64(i * size) for i in range(N)]))
        same = b.bitcast(b.icmp_unsigned("==", av, want), I32)
        ok = b.and_(b.icmp_unsigned("==", same, c32(-1)), b.icmp_unsigned("==", b.and_(a0, c64(size - 1)), c64(0)))
        ok = b.and_(ok, b.icmp_unsigned(">=", a0, c64(GLOBAL_BASE)))
        end = b.add(a0, c64(N * size))
        if stored is not None:
            ok = b.and_(ok, b.icmp_unsigned("==", m, c32(-1)))
            cap = self.cword(b, C_RLOGCAP)
            need = c64(N * size // RECORD_BYTES)
            room = b.or_(b.icmp_signed("<", cap, c64(0)), b.icmp_signed("<=", b.add(self.cword(b, C_RLOGN), need), cap))
            ok = b.and_(ok, room)
        chk, fast, slow, done = (b.append_basic_block(x) for x in ("vchk", "vfast", "vslow", "vdone"))
        b.cbranch(ok, chk, slow)
        b.position_at_end(chk)
        self.site_range(b, pc, a0, end, fast, slow)
        b.position_at_end(fast)
        host = b.inttoptr(self.cword(b, C_ARENA), I8.as_pointer())
        whole(b, b.gep(host, [b.sub(a0, c64(GLOBAL_BASE))]))
        b.branch(done)
        b.position_at_end(slow)
        if slow_path is not None:
            slow_path(b)
        else:
            self.lane_loop(b, m, body)
        b.branch(done)
        b.position_at_end(done)

    def site_range(self, b, pc, lo, hi, fast, slow):
        """Branch to `fast` when global [lo, hi) (lo >= GLOBAL_BASE) lies inside one allocation, else to
        `slow`.  The allocation last found at this pc is kept in ctx SITES[2 pc], [2 pc + 1] (kernels
        touch several buffers, so one cache for all sites would miss at every access)."""
        slo, shi = self.site(b, pc)
        hit = b.and_(b.icmp_signed(">=", lo, b.load(slo)), b.icmp_signed("<=", hi, b.load(shi)))
        srch, upd = b.append_basic_block("gsearch"), b.append_basic_block("gfound")
        b.cbranch(hit, fast, srch)
        b.position_at_end(srch)
        found = b.and_(b.icmp_unsigned(">=", lo, c64(GLOBAL_BASE)), b.call(self._gsearch(0), [self.ctx, lo, hi]))
        b.cbranch(found, upd, slow)
        b.position_at_end(upd)
        b.store(self.cword(b, C_GLO), slo)
        b.store(self.cword(b, C_GHI), shi)
        b.branch(fast)

    def log_range(self, b, av, p, size):
        """The undo log records of a whole-warp store at host pointer p (room checked by the caller):
        per 128 bytes, (address, entries logged so far, the 16 old words), written as vectors."""
        cap = self.cword(b, C_RLOGCAP)
        on, done = b.append_basic_block("vlog"), b.append_basic_block("vlogged")
        b.cbranch(b.icmp_signed(">=", cap, c64(0)), on, done)
        b.position_at_end(on)
        n = self.cword(b, C_RLOGN)
        recs = b.inttoptr(self.cword(b, C_RLOG), I64.as_pointer())
        a0 = b.extract_element(av, c32(0))
        seq = self.cword(b, C_LOGN)
        words = ir.VectorType(I64, RECORD_BYTES // 8)
        count = N * size // RECORD_BYTES
        for r in range(count):
            rec = b.gep(recs, [b.mul(b.add(n, c64(r)), c64(RECORD_WORDS))])
            b.store(b.add(a0, c64(r * RECORD_BYTES)), rec)
            b.store(seq, b.gep(rec, [c64(1)]))
            old = b.load(b.bitcast(b.gep(p, [c64(r * RECORD_BYTES)]), words.as_pointer()), align=size)
            b.store(old, b.bitcast(b.gep(rec, [c64(2)]), words.as_pointer()), align=8)
        b.store(b.add(n, c64(count)), self.cptr(b, C_RLOGN))
        b.branch(done)
        b.position_at_end(done)

    def atomic(self, b, pc, ins, m):
        fam = spec.family(ins)
        sp, t = _space(ins), ins.types[0]
        op = next(x for x in ins.mods if x in fam.sem)
        et = _elt(t)
        size = spec.type_bits(t) // 8
        srcs = ins.operands[1:] if fam.operands[0] == "d" else ins.operands     # atom has a destination, red not
        av = self.addresses(b, srcs[0])
        self.count_memory(b, pc, sp, av, m, size)
        addrs = self.spill(b, av, self.sa)
        vals = self.spill(b, self.read(b, srcs[1], t), self.sv)
        signed = t[0] == "s"
        mt = b.icmp_signed("!=", self.cword(b, C_MT), c64(0)) if sp == "global" else None   # read once

        def plain(b, p, x):
            old = b.load(p)
            if op == "add":
                new = b.add(old, x)
            elif op in ("min", "max"):
                cmp = b.icmp_signed if signed else b.icmp_unsigned
                new = b.select(cmp("<" if op == "min" else ">", old, x), old, x)
            else:
                new = {"and": b.and_, "or": b.or_, "xor": b.xor}[op](old, x)
            b.store(new, p)

        def in_place(b, a, x, lane, done, note=False):
            p = b.bitcast(self.resolve(b, pc, a, size, sp, "atomic", lane), et.as_pointer())
            if note:
                self.note_site(b, pc)
            if sp != "global":
                plain(b, p, x)
                b.branch(done)
                return
            one, many = (b.append_basic_block(n) for n in ("at1", "atmt"))
            b.cbranch(mt, many, one)
            b.position_at_end(one)              # this thread alone: logged as a store, done in place
            self.log_old(b, pc, a, b.bitcast(p, I8.as_pointer()), size)
            plain(b, p, x)
            b.branch(done)
            b.position_at_end(many)             # other threads at work: a real atomic, its inverse logged
            if op in ("add", "xor"):
                self.log_old(b, pc, a, None, size, inverse=(op, x))
            rmw = {"add": "add", "xor": "xor", "and": "and", "or": "or",
                   "min": "min" if signed else "umin", "max": "max" if signed else "umax"}[op]
            b.atomic_rmw(rmw, p, x, "monotonic")
            b.branch(done)

        def body(b, lane, private=False):
            a, x = b.load(b.gep(addrs, [lane])), b.load(b.gep(vals, [lane]))
            done = b.append_basic_block("atx")
            if private:                         # the launch privatizes an allocation: in it, this thread's copy
                lo, hi = self.cword(b, C_PRIV_LO), self.cword(b, C_PRIV_HI)
                inside = b.and_(b.icmp_signed(">=", a, lo), b.icmp_signed("<=", b.add(a, c64(size)), hi))
                inside = b.and_(inside, b.icmp_unsigned("==", b.and_(a, c64(size - 1)), c64(0)))
                own, other = b.append_basic_block("atpriv"), b.append_basic_block("atglob")
                b.cbranch(inside, own, other)
                b.position_at_end(own)
                buf = b.inttoptr(self.cword(b, C_PRIV_BUF), I8.as_pointer())
                plain(b, b.bitcast(b.gep(buf, [b.sub(a, lo)]), et.as_pointer()), x)
                b.branch(done)
                b.position_at_end(other)
            in_place(b, a, x, lane, done, note=private)
            b.position_at_end(done)
        if sp == "global":
            priv, usual, after = (b.append_basic_block(n) for n in ("atpl", "atul", "atafter"))
            b.cbranch(b.icmp_signed("!=", self.cword(b, C_PRIV_HI), c64(0)), priv, usual)
            b.position_at_end(priv)
            self.lane_loop(b, m, lambda b, lane: body(b, lane, True))
            b.branch(after)
            b.position_at_end(usual)
            self.lane_loop(b, m, body)
            self.note_site(b, pc)
            b.branch(after)
            b.position_at_end(after)
        else:
            self.lane_loop(b, m, body)
        cttp = self.module.globals.get("llvm.ctpop.i32")
        ap = self.cptr(b, C_ATOMICS)
        b.store(b.add(b.load(ap), b.zext(b.call(cttp, [m]), I64)), ap)

    def site(self, b, pc):
        """Pointers to ctx SITES[2 pc] and [2 pc + 1]: the global allocation [lo, hi) of pc."""
        tab = b.inttoptr(self.cword(b, C_SITES), I64.as_pointer())
        return b.gep(tab, [c64(2 * pc)]), b.gep(tab, [c64(2 * pc + 1)])

    def note_site(self, b, pc):
        """Record in SITES[2 pc], [2 pc + 1] the allocation ctx GLO/GHI that the atomic at pc just hit
        (its last lane; lo -1: it hit several in the launch), which threads.Atomics.note reads after the
        launch (a hint for the next launch: any choice gives the same results)."""
        slo, shi = self.site(b, pc)
        lo, was = self.cword(b, C_GLO), b.load(slo)
        same = b.or_(b.icmp_signed("==", was, c64(0)), b.icmp_signed("==", was, lo))
        b.store(b.select(same, lo, c64(-1)), slo)
        b.store(self.cword(b, C_GHI), shi)

    # -- warp-level -------------------------------------------------------------------------------------
    def warp_op(self, b, pc, ins, fam, m):
        ops = ins.operands
        mvec = self.read(b, ops[{"shuffle": 4, "vote": 2, "warp_sync": 0}[fam]], "u32")
        # every active lane passes the same member mask, which must be exactly the active lanes
        first = b.zext(b.call(self.module.globals.get("llvm.cttz.i32") or ir.Function(
            self.module, ir.FunctionType(I32, [I32, I1]), name="llvm.cttz.i32"), [m, ir.Constant(I1, 0)]), I64)
        first = b.select(b.icmp_unsigned("==", m, c32(0)), c64(0), first)
        M = b.extract_element(mvec, b.trunc(first, I32))
        v = b.insert_element(ir.Constant(vec(I32), None), M, c32(0))
        Mv = b.shuffle_vector(v, ir.Constant(vec(I32), None), ir.Constant(vec(I32), [c32(0)] * N))
        differ = b.and_(b.bitcast(b.icmp_unsigned("!=", mvec, Mv), I32), m)
        widx = b.load(self.wptr(b, W_WIDX))
        alive0 = b.trunc(b.lshr(b.load(b.gep(b.inttoptr(self.cword(b, C_ALIVE0), I64.as_pointer()), [widx])),
                                c64(0)), I32)
        M = b.and_(M, alive0)
        bad = b.or_(b.icmp_unsigned("!=", differ, c32(0)), b.icmp_unsigned("!=", M, m))
        self.bail_if(b, bad, pc, B_WARP_SYNC)
        if fam == "warp_sync":
            return
        if fam == "vote":
            mode = next(x for x in ins.mods if x in spec.family(ins).sem)
            p = b.bitcast(self.read(b, ops[1], "pred"), I32)
            bits = b.and_(p, M)
            if mode == "ballot":
                val, t = bits, "b32"
            elif mode == "all":
                val, t = b.icmp_unsigned("==", bits, M), "pred"
            elif mode == "any":
                val, t = b.icmp_unsigned("!=", bits, c32(0)), "pred"
            else:
                val = b.or_(b.icmp_unsigned("==", bits, M), b.icmp_unsigned("==", bits, c32(0)))
                t = "pred"
            v = b.insert_element(ir.Constant(vec(val.type), None), val, c32(0))
            v = b.shuffle_vector(v, ir.Constant(vec(val.type), None), ir.Constant(vec(I32), [c32(0)] * N))
            return self.write(b, ops[0], t, v, m)
        mode = next(x for x in ins.mods if x in ("idx", "up", "down", "bfly"))
        a = self.read(b, ops[1], "b32")
        bb = b.and_(self.read(b, ops[2], "u32"), splat(I32, 31))
        c = self.read(b, ops[3], "u32")
        seg, cval = b.and_(b.lshr(c, splat(I32, 8)), splat(I32, 31)), b.and_(c, splat(I32, 31))
        lane = self.lanes()
        lo = b.and_(lane, seg)
        hi = b.or_(lo, b.and_(cval, b.not_(seg)))
        if mode == "up":
            j = b.sub(lane, bb)
            ok = b.icmp_signed(">=", j, hi)
        elif mode == "down":
            j = b.add(lane, bb)
            ok = b.icmp_signed("<=", j, hi)
        elif mode == "bfly":
            j = b.xor(lane, bb)
            ok = b.icmp_signed("<=", j, hi)
        else:
            j = b.or_(lo, b.and_(bb, b.not_(seg)))
            ok = b.icmp_signed("<=", j, hi)
        j = b.select(ok, j, lane)
        src = self.spill(b, a, self.sv)
        r = ir.Constant(vec(I32), None)
        for i in range(N):
            ji = b.extract_element(j, c32(i))
            r = b.insert_element(r, b.load(b.gep(src, [ji])), c32(i))
        self.write(b, ops[0], "b32", r, m)
