"""vgpu.ir.cfg's graph algorithms against brute force on random graphs: immediate dominators (by
Cooper, Harvey and Kennedy on node numbers) and the dominator-tree intervals the verifier tests
dominance with."""
import random

from vgpu.ir.cfg import depth_first_postorder, dominator_intervals, immediate_dominators


def _random_graph(rng: random.Random, n: int) -> list[list[int]]:
    """Successor lists of n nodes: mostly forward edges (a CFG's shape), some back edges and self loops."""
    succ = []
    for v in range(n):
        out = []
        for _ in range(rng.choice((0, 1, 1, 2, 2, 2, 3))):
            w = rng.randrange(v + 1, n) if v + 1 < n and rng.random() < 0.8 else rng.randrange(n)
            out.append(w)
        succ.append(out)
    return succ


def _dominators_by_removal(succ: list[list[int]], root: int) -> dict[int, set[int]]:
    """d dominates v exactly when v is unreachable from the root once d is removed."""
    def reach(skip):
        seen = {root} if root != skip else set()
        work = list(seen)
        while work:
            for w in succ[work.pop()]:
                if w != skip and w not in seen:
                    seen.add(w)
                    work.append(w)
        return seen
    reachable = reach(None)
    return {v: {d for d in reachable if d == v or v not in reach(d)} for v in reachable}


def test_immediate_dominators_and_intervals_match_brute_force():
    rng = random.Random(7)
    for trial in range(300):
        n = rng.randrange(1, 25)
        succ = _random_graph(rng, n)
        preds = [[] for _ in range(n)]
        for v, ss in enumerate(succ):
            for w in ss:
                preds[w].append(v)
        order = depth_first_postorder(0, succ.__getitem__)[::-1]
        idom = immediate_dominators(order, preds.__getitem__)
        dom = _dominators_by_removal(succ, 0)
        assert set(idom) == set(dom) == set(order), trial
        for v, ds in dom.items():
            if v == 0:
                assert idom[v] == 0
                continue
            strict = ds - {v}
            # the immediate dominator: the strict dominator every other strict dominator dominates
            assert idom[v] in strict and all(d in dom[idom[v]] for d in strict), (trial, v)
        number = {v: k for k, v in enumerate(order)}
        first, size = dominator_intervals([number[idom[v]] for v in order])
        for a in order:
            for b in order:
                inside = first[number[a]] <= first[number[b]] < first[number[a]] + size[number[a]]
                assert inside == (a in dom[b]), (trial, a, b)
