"""Random statement lists for a kernel segment or a helper body.

In: a `Ctx` and a statement budget.  Out: a list of `Stmt`.  Kernel statements may write the thread's own
output slots, its own shared-memory slots (mode `w`), do order-independent atomics (each accumulator slot
has one fixed operation), and `return` in the last segment only; helper statements see only parameters and
locals.  Loop trip counts depend on the thread but their product stays small (the simulator is slow).
"""
from __future__ import annotations

from .ctype import F32, F64, I32, INTS, U32, U64, int_literal, promote
from .expr import E, ExprGen, conv, int_binop
from .stmt import For, If, Line, Switch, Var, While, canon, field, fit, index, shared_index, svref

ACC = {"accu": (U32, ["Add", "Sub", "Or", "And", "Xor", "Max", "Min"]), "acci": (I32, ["Add", "Max", "Min"]),
       "accl": (U64, ["Add", "Max", "Min", "Or", "And", "Xor"])}


class StmtGen:
    def __init__(self, ctx, n_outi=4, n_outf=2, n_outd=2):
        self.ctx, self.rng = ctx, ctx.rng
        self.g = ExprGen(ctx)
        self.n_outi, self.n_outf, self.n_outd = n_outi, n_outf, n_outd

    def fresh(self, prefix: str) -> str:
        return self.ctx.names(prefix)

    def expr(self, kind="any", depth=None):
        if depth is None:
            depth = self.rng.choice([1, 2, 2, 3, 3, 3, 5]) if self.ctx.deep else self.rng.randint(1, 3)
        return self.g.expr(depth, kind)

    def block(self, budget: int) -> list:
        out = []
        while budget > 0:
            s, cost = self.stmt(budget)
            out.append(s)
            budget -= cost
        return out

    def stmt(self, budget: int):
        r, c = self.rng, self.ctx
        k = r.randrange(100)
        nested = budget >= 3 and c.loops < 3
        if k < 10 and nested:
            return self.if_stmt(budget), 3
        if k < 20 and nested and c.trips * 4 <= 64:
            return self.loop(budget), 4
        if k < 25 and nested:
            return self.switch(budget), 3
        if k < 29 and c.loops and r.random() < 0.7:
            return Line(f"if ({self.expr('any', 1).text}) {r.choice(['break', 'continue'])};"), 1
        if k < 31 and c.can_return:
            return If(self.expr("any", 2).text, [Line("RETURN" if c.kernel else
                                                      f"return {conv(self.expr(), c.ret).text};")]), 1
        if c.kernel:
            if k < 45:
                return self.output(), 1
            if k < 52:
                return self.atomic(), 1
            if k < 58 and c.shared:
                s = self.shared_op()
                if s:
                    return s, 1
        if k < 64 and (any(not a.readonly for a in c.arrays) or c.svars):
            return self.store_aggregate(), 1
        return self.assign(), 1

    # ----- simple statements ---------------------------------------------------------------------------
    def assign(self):
        r = self.rng
        vs = [v for v in self.ctx.vars if not v.readonly]
        if not vs:
            return self.output() if self.ctx.kernel else Line(";")
        v = r.choice(vs)
        e = self.expr()
        if r.random() < 0.35:
            if v.ty.flt:
                if r.random() < 0.2:
                    return Line(f"{v.ref}{r.choice(['++', '--'])};")
                return Line(f"{v.ref} {r.choice('+-*/')}= {e.text};")
            if v.full and not e.ty.flt:
                op = r.choice(["+", "-", "*", "&", "|", "^", "<<", ">>", "/", "%"])
                res = int_binop(op, v.e(), e, None)
                if res is not None:
                    return Line(f"{v.ref} {op}= {e.text};")
                if int_binop("+", v.e(), E("1", I32, 1, 1), None) is not None:
                    return Line(r.choice([f"{v.ref}++;", f"++{v.ref};", f"{v.ref}--;", f"--{v.ref};"]))
        incs = [w for w in self.ctx.vars if not w.readonly and w is not v and w.full and
                (w.ty.flt or int_binop("+", w.e(), E("1", I32, 1, 1), None) is not None)]
        if incs and r.random() < 0.1:
            w = r.choice(incs)
            op = r.choice(["++", "--"])
            inc = E(r.choice([f"{w.ref}{op}", f"{op}{w.ref}"]), w.ty, w.lo, w.hi)
            if not (inc.ty.flt and not v.ty.flt) and v.ty.key != "bool":
                return Line(f"{v.ref} = {fit(inc, v).text};")
        return Line(f"{v.ref} = {fit(e, v).text};")

    def store_aggregate(self):
        r, c = self.rng, self.ctx
        arrays = [a for a in c.arrays if not a.readonly]
        if arrays and (not c.svars or r.random() < 0.5):
            a = r.choice(arrays)
            ref = ("$" if a.state else "") + a.name
            return Line(f"{ref}[{index(self.g, a.size)}] = {conv(self.expr(), a.ty).text};")
        s = r.choice(c.svars)
        if c.struct_helpers and r.random() < 0.25:
            hs = [h for h in c.struct_helpers if h[1] is s.sdef]
            if hs:
                name, sdef, ptys = r.choice(hs)
                args = ", ".join(conv(self.expr("float" if t.flt else "int"), t).text for t in ptys)
                return Line(f"{svref(self.g, s)} = {name}({svref(self.g, s)}, {args});")
        others = [o for o in c.svars if o.sdef is s.sdef and o is not s]
        if others and r.random() < 0.2:
            return Line(f"{svref(self.g, s)} = {svref(self.g, r.choice(others))};")
        fname, fty = r.choice(s.sdef.fields)
        return Line(f"{field(self.g, s, fname)} = {conv(self.expr(), fty).text};")

    def output(self):
        r = self.rng
        which = r.choice(["i", "i", "f", "d"])
        n = {"i": self.n_outi, "f": self.n_outf, "d": self.n_outd}[which]
        slot = f"$gid * {n}u + {index(self.g, n)}"
        e = self.expr()
        if which == "i":
            return Line(f"outi[{slot}] = {conv(e, U64).text};")
        ty = F32 if which == "f" else F64
        return Line(f"out{which}[{slot}] = {canon(conv(e, ty))};")

    def atomic(self):
        r, c = self.rng, self.ctx
        arr = r.choice(list(ACC))
        ty, _ = ACC[arr]
        slot = r.randrange(4)
        op = c.acc_ops[(arr, slot)]
        return Line(f"@atomic{op}_{ty.key}(&{arr}[{slot}], {conv(self.expr('int'), ty).text});")

    def shared_op(self):
        r = self.rng
        sh = r.choice(self.ctx.shared)
        if sh.mode == "w" and not sh.atomic_ops:
            return Line(f"{sh.name}{shared_index(self.g, sh)} = {conv(self.expr(), sh.ty).text};")
        if sh.mode == "a":
            slot = r.randrange(sh.size)
            op = sh.atomic_ops[slot]
            return Line(f"@atomic{op}_{sh.ty.key}(&{sh.name}[{slot}], {conv(self.expr('int'), sh.ty).text});")
        return None

    # ----- compound statements -------------------------------------------------------------------------
    def sub(self, budget, **kw):
        c = self.ctx
        saved = {k: getattr(c, k) for k in kw}
        for k, v in kw.items():
            setattr(c, k, v)
        out = self.block(max(1, budget))
        for k, v in saved.items():
            setattr(c, k, v)
        return out

    def if_stmt(self, budget):
        r = self.rng
        cond = self.expr("any", 2).text
        then = self.sub(r.randint(1, budget // 2))
        els = self.sub(r.randint(1, budget // 2)) if r.random() < 0.5 else None
        return If(cond, then, els)

    def trip_bound(self, tmax: int) -> str:
        """An int expression in [0, tmax] (tmax = 2^k - 1) that depends on the thread."""
        e = self.expr("int", 2)
        return f"((int)(({e.text}) & {tmax}))"

    def loop(self, budget):
        r, c = self.rng, self.ctx
        tmax = 3 if c.trips * 8 > 64 else r.choice([3, 7])
        bound = self.trip_bound(tmax)
        kind = r.randrange(4)
        if kind == 0 or kind == 1:
            v = Var(self.fresh("i"), I32, 0, tmax, readonly=True)
            if kind == 0:
                header = f"int {v.name} = 0; {v.name} < {bound}; {v.name}{r.choice(['++', ' += 1', ' += 2'])}"
            else:
                v.lo = 1
                header = f"int {v.name} = {bound}; {v.name} > 0; {r.choice(['--' + v.name, v.name + '--'])}"
            c.vars.append(v)
            body = self.sub(budget - 1, loops=c.loops + 1, trips=c.trips * (tmax + 1))
            c.vars.remove(v)
            return For(header, body)
        v = Var(self.fresh("w"), I32, 1, tmax + 1, readonly=True)
        c.vars.append(v)
        body = self.sub(budget - 1, loops=c.loops + 1, trips=c.trips * (tmax + 1))
        c.vars.remove(v)
        return While(v.name, bound, body, do=kind == 3)

    def switch(self, budget):
        r, c = self.rng, self.ctx
        e = conv(self.expr("int", 2), r.choice([I32, U32, I32, INTS[0], INTS[3]]))
        masked = r.random() < 0.7
        ctl = f"(({e.text}) & 7)" if masked else e.text
        ctl_t = promote(e.ty)
        int_macros = [m for m in c.macros if m.fn is None and m.e is not None and not m.e.ty.flt
                      and m.e.lo == m.e.hi and 0 <= m.e.lo <= 100 and m.e.ty.bits <= ctl_t.bits]
        used, cases = set(), []
        for _ in range(r.randint(1, 4)):
            labels = []
            for _ in range(r.choice([1, 1, 2])):
                kind = r.random()
                if kind < 0.2 and int_macros:
                    m = r.choice(int_macros)
                    text, v = m.name, m.e.lo
                elif kind < 0.3:
                    text, v = r.choice([("'\\0'", 0), ("'\\a'", 7), ("'\\b'", 8), ("'A'", 65)])
                else:
                    v = r.randrange(0, 9)
                    text, ty, _ = int_literal(r, v)
                    if ty.bits > ctl_t.bits:
                        text = str(v)
                    if not masked and ctl_t.signed and r.random() < 0.3:
                        v = -r.randrange(1, 200)           # negative labels of a signed controlling value
                        text = str(v)
                if v in used:
                    continue
                used.add(v)
                labels.append(text)
            if labels:
                cases.append((labels, self.sub(r.randint(1, max(1, budget // 3))), r.random() < 0.75))
        default = self.sub(1) if r.random() < 0.6 else None
        return Switch(ctl, cases, default)
