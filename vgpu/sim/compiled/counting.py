"""Memory counters in the generated code: the per-pc rows that vgpu.sim.observe.counters'
`count_access` adds for every memory instruction, computed natively per warp.

In:  a `codegen.KernelGen` being built with `counting` set (the counters variant of a kernel), and
     per ld/st/atom/red: its space modifier, the lanes' addresses (<32 x i64>), the active lanes (i32)
     and the access size in bytes.
Out: IR that adds to the (len(ROWS) x npc) int64 array at ctx[C_ROWS] (row-major, row r of pc p at
     r * npc + p), exactly as count_access does (docs/counters.md):
     - global: one request per warp with an active lane, one sector per distinct address >> 5;
     - shared: one request; the lanes served together (a warp; a half-warp for 8 bytes, a quarter-warp
       for 16) take as many wavefronts as the most distinct 32-bit words in one of the 32 banks, ideal
       one per group with an active lane;
     - local: one request, one sector per distinct (word * 4 + lane // 8) (and word + 1.. for 8, 16 bytes);
     - generic: each lane's window decides; each window present counts as its own access.
     Distinct keys are counted by taking the lowest remaining lane's key and clearing every lane that
     holds it (one vector compare per distinct key).  Kernels built without `counting` get no code.
"""
from __future__ import annotations

from llvmlite import ir

from ..config import G_REQ, G_SEC, L_REQ, L_SEC, S_IDEAL, S_REQ, S_WAVE
from .alu import I1, I32, I64, N, vec
from .codegen import KernelGen
from .layout import GLOBAL_BASE, LOCAL_BASE, SHARED_BASE, WINDOW

C_ROWS = 51                     # ctx word: the counter rows (the counters variant only)


def _c(t, v):
    return ir.Constant(t, v)


def _splat(b, x, n):
    """A runtime scalar x as an <n x T> vector."""
    v = b.insert_element(ir.Constant(ir.VectorType(x.type, n), None), x, _c(I32, 0))
    return b.shuffle_vector(v, ir.Constant(ir.VectorType(x.type, n), None), ir.Constant(ir.VectorType(I32, n),
                                                                                           [_c(I32, 0)] * n))


def _concat(b, parts):
    """<32k x T> from k <32 x T> vectors, in order."""
    while len(parts) > 1:
        w = parts[0].type.count
        mask = ir.Constant(ir.VectorType(I32, 2 * w), [_c(I32, i) for i in range(2 * w)])
        parts = [b.shuffle_vector(parts[i], parts[i + 1], mask) for i in range(0, len(parts), 2)]
    return parts[0]


def _repeat_mask(b, m, k):
    """The i32 lane mask m repeated k times as an i(32k) mask (lane i of copy t: bit 32t + i)."""
    it = ir.IntType(32 * k)
    w = b.zext(m, it)
    out = w
    for t in range(1, k):
        out = b.or_(out, b.shl(w, _c(it, 32 * t)))
    return out


class CountGen(KernelGen):
    counting = False            # the counters variant of a kernel (runtime compiles it when a launch asks)

    def count_memory(self, b, pc, sp, av, m, size):
        """Add the counts of one warp memory instruction at pc (space modifier sp, None: generic)."""
        if not self.counting or sp in ("param", "const"):
            return
        rows = b.gep(b.inttoptr(self.cword(b, C_ROWS), I64.as_pointer()), [_c(I64, pc)])
        if sp is not None:
            b.call(self._counter(sp, size), [rows, av, m])
            return
        for s, lo, hi in (("global", GLOBAL_BASE, None), ("shared", SHARED_BASE, SHARED_BASE + WINDOW),
                          ("local", LOCAL_BASE, LOCAL_BASE + WINDOW)):     # memory.windows_of
            inside = b.icmp_signed(">=", av, ir.Constant(vec(I64), [_c(I64, lo)] * N))
            if hi is not None:
                inside = b.and_(inside, b.icmp_signed("<", av, ir.Constant(vec(I64), [_c(I64, hi)] * N)))
            b.call(self._counter(s, size), [rows, av, b.and_(m, b.bitcast(inside, I32))])

    # -- one helper function per (space, size): rows at pc, addresses, lanes ----------------------------
    def _counter(self, sp, size):
        name = f"count_{sp}_{size}"
        fn = self.module.globals.get(name)
        if fn is not None:
            return fn
        fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [I64.as_pointer(), vec(I64), I32]), name=name)
        fn.linkage = "internal"
        rows, av, m = fn.args
        b = ir.IRBuilder(fn.append_basic_block("e"))
        work, done = fn.append_basic_block("w"), fn.append_basic_block("x")
        b.cbranch(b.icmp_unsigned("==", m, _c(I32, 0)), done, work)
        ir.IRBuilder(done).ret_void()
        b.position_at_end(work)
        npc = self.n + 1

        def add(row, v):
            p = b.gep(rows, [_c(I64, row * npc)])
            b.store(b.add(b.load(p), v), p)
        if sp == "global":
            add(G_REQ, _c(I64, 1))
            add(G_SEC, b.call(self._distinct(32), [b.ashr(av, ir.Constant(vec(I64), [_c(I64, 5)] * N)), m]))
        elif sp == "shared":
            k = max(size, 4) // 4               # 32-bit words per lane; the lanes of a group: 32 / k
            word = b.ashr(b.sub(av, ir.Constant(vec(I64), [_c(I64, SHARED_BASE)] * N)),
                          ir.Constant(vec(I64), [_c(I64, 2)] * N))
            words = _concat(b, [b.add(word, ir.Constant(vec(I64), [_c(I64, t)] * N)) if t else word
                                for t in range(k)])
            per = 32 // k
            waves, ideal = _c(I64, 0), _c(I64, 0)
            for g in range(k):
                mg = b.and_(m, _c(I32, ((1 << per) - 1) << (per * g)))
                some = b.zext(b.icmp_unsigned("!=", mg, _c(I32, 0)), I64)
                waves = b.add(waves, self._group_wavefronts(b, word, words, mg, k, some))
                ideal = b.add(ideal, some)
            add(S_REQ, _c(I64, 1))
            add(S_WAVE, waves)
            add(S_IDEAL, ideal)
        elif sp == "local":
            k = size // 4 if size > 4 else 1
            off = b.sub(av, ir.Constant(vec(I64), [_c(I64, LOCAL_BASE)] * N))
            word4 = b.shl(b.ashr(off, ir.Constant(vec(I64), [_c(I64, 2)] * N)), ir.Constant(vec(I64), [_c(I64, 2)] * N))
            key = b.or_(word4, ir.Constant(vec(I64), [_c(I64, i >> 3) for i in range(N)]))
            keys = _concat(b, [b.add(key, ir.Constant(vec(I64), [_c(I64, 4 * t)] * N)) if t else key for t in range(k)])
            add(L_REQ, _c(I64, 1))
            add(L_SEC, b.call(self._distinct(32 * k), [keys, _repeat_mask(b, m, k)]))
        else:
            raise NotImplementedError(f"memory counters of space {sp}")
        b.ret_void()
        return fn

    def _group_wavefronts(self, b, word, words, mg, k, some):
        """The wavefronts of the lanes mg: one when their words lie within 32 consecutive words (32
        banks; count_access's shortcut), else the bank count of `_wavefronts`."""
        mv = b.bitcast(mg, vec(I1))
        lo = self._reduce_i64(b, "smin", b.select(mv, word, ir.Constant(vec(I64), [_c(I64, (1 << 63) - 1)] * N)))
        hi = self._reduce_i64(b, "smax", b.select(mv, word, ir.Constant(vec(I64), [_c(I64, -(1 << 63))] * N)))
        fits = b.icmp_signed("<=", b.add(b.sub(hi, lo), _c(I64, k)), _c(I64, 32))
        pre = b.block
        slow, join = b.append_basic_block("wslow"), b.append_basic_block("wjoin")
        b.cbranch(b.or_(fits, b.icmp_unsigned("==", mg, _c(I32, 0))), join, slow)
        b.position_at_end(slow)
        counted = b.call(self._wavefronts(32 * k), [words, _repeat_mask(b, mg, k)])
        b.branch(join)
        b.position_at_end(join)
        out = b.phi(I64)
        out.add_incoming(some, pre)
        out.add_incoming(counted, slow)
        return out

    def _reduce_i64(self, b, op, v):
        name = f"llvm.vector.reduce.{op}.v{N}i64"
        fn = self.module.globals.get(name) or ir.Function(self.module, ir.FunctionType(I64, [vec(I64)]), name=name)
        return b.call(fn, [v])

    def _keyloop(self, name, n, step, finish, acc_type, acc0):
        """i64 fn(<n x i64> keys, i(n) mask): for each distinct key of the masked lanes (lowest lane
        first) acc = step(b, acc, key); returns finish(b, acc)."""
        fn = self.module.globals.get(name)
        if fn is not None:
            return fn
        it = ir.IntType(n)
        fn = ir.Function(self.module, ir.FunctionType(I64, [ir.VectorType(I64, n), it]), name=name)
        fn.linkage = "internal"
        keys, mask = fn.args
        entry, head, body, out = (fn.append_basic_block(x) for x in ("e", "h", "b", "o"))
        b = ir.IRBuilder(entry)
        b.branch(head)
        b.position_at_end(head)
        left, acc = b.phi(it), b.phi(acc_type)
        left.add_incoming(mask, entry)
        acc.add_incoming(acc0, entry)
        b.cbranch(b.icmp_unsigned("!=", left, _c(it, 0)), body, out)
        b.position_at_end(body)
        cttz = self.module.globals.get(f"llvm.cttz.i{n}") or ir.Function(
            self.module, ir.FunctionType(it, [it, I1]), name=f"llvm.cttz.i{n}")
        j = b.trunc(b.call(cttz, [left, _c(I1, 1)]), I32) if n > 32 else b.call(cttz, [left, _c(I1, 1)])
        key = b.extract_element(keys, j)
        same = b.bitcast(b.icmp_unsigned("==", keys, _splat(b, key, n)), it)
        left.add_incoming(b.and_(left, b.not_(same)), body)
        acc.add_incoming(step(b, acc, key), body)
        b.branch(head)
        b.position_at_end(out)
        b.ret(finish(b, acc))
        return fn

    def _distinct(self, n):
        """i64 distinct(<n x i64> keys, i(n) mask): the number of distinct keys of the masked lanes."""
        return self._keyloop(f"distinct{n}", n, lambda b, acc, key: b.add(acc, _c(I64, 1)), lambda b, acc: acc,
                             I64, _c(I64, 0))

    def _wavefronts(self, n):
        """i64 wavefronts(<n x i64> words, i(n) mask): the most distinct words of the masked lanes
        that fall in one bank (word & 31); 0 for no lanes."""
        banks = ir.Constant(vec(I32), [_c(I32, i) for i in range(N)])

        def step(b, acc, w):
            bank = b.trunc(b.and_(w, _c(I64, 31)), I32)
            return b.add(acc, b.zext(b.icmp_unsigned("==", banks, _splat(b, bank, N)), vec(I32)))

        def finish(b, acc):
            name = f"llvm.vector.reduce.umax.v{N}i32"
            red = self.module.globals.get(name) or ir.Function(self.module, ir.FunctionType(I32, [vec(I32)]), name=name)
            return b.zext(b.call(red, [acc]), I64)
        return self._keyloop(f"wavefronts{n}", n, step, finish, vec(I32), ir.Constant(vec(I32), [_c(I32, 0)] * N))
