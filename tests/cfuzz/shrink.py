"""Shrink a failing kernel to a small one that fails the same way (delta debugging over statements).

In: a `Kernel` whose `check` gave a failure, a scratch directory, a time budget.  Out: the same `Kernel`
object, reduced in place, and its final `Outcome`.  A candidate is kept when it still fails with the same
category and signature.  Tried, until nothing changes: removing each removable statement (innermost lists
first, last statement first), replacing an `if` by one of its branches, removing header items (helpers,
macros, structs), file macros, synchronisation points other than barriers, and per-thread declarations;
then right-hand sides and initialisers become 0.
Removal never introduces undefined behaviour: ranges are invariants of each assignment, loop counters
live in their loop headers, and barriers, initialisation loops and loop increments are never removed.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

from .kernel import Kernel, Sync
from .run import Outcome, check
from .stmt import Decl, If, Line


class Shrinker:
    def __init__(self, k: Kernel, d: Path, outcome: Outcome, budget_s: float = 120.0):
        self.k, self.d, self.want = k, d, (outcome.category, outcome.signature)
        self.deadline = time.monotonic() + budget_s
        self.outcome = outcome
        self.tries = 0

    def still(self) -> bool:
        self.tries += 1
        o = check(self.k, self.d)
        if (o.category, o.signature) == self.want:
            self.outcome = o
            return True
        return False

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def try_list(self, lst: list, decls: bool = False) -> bool:
        changed = False
        for i in range(len(lst) - 1, -1, -1):
            if self.out_of_time():
                return changed
            if i >= len(lst):
                continue
            item = lst[i]
            removable = getattr(item, "removable", True) or (decls and isinstance(item, Decl))
            if isinstance(item, Sync):
                removable = item.kind != "bar" or not self.k.shared     # without shared memory a barrier orders nothing
            if removable and not isinstance(item, list):
                del lst[i]
                fields = self.k.state_fields[:]
                if isinstance(item, Decl):      # the C program loses the variable too
                    self.k.state_fields = [f for f in fields if not re.search(rf"\b{item.name}\b", f)]
                if self.still():
                    changed = True
                    continue
                self.k.state_fields = fields
                lst.insert(i, item)
            if isinstance(item, If) and item.removable:
                for branch in [item.then] + ([item.els] if item.els is not None else []):
                    lst[i:i + 1] = branch
                    if self.still():
                        changed = True
                        break
                    lst[i:i + len(branch)] = [item]
                else:
                    changed |= any(self.try_list(sub) for sub in item.lists())
                continue
            if isinstance(item, list):
                changed |= self.try_list(item, decls)
            elif hasattr(item, "lists"):
                for sub in item.lists():
                    changed |= self.try_list(sub)
        return changed

    def simplify(self, lst: list) -> None:
        """Replace right-hand sides and initialisers by 0 (a value every target's range holds)."""
        for item in lst:
            if self.out_of_time():
                return
            if isinstance(item, list):
                self.simplify(item)
                continue
            for sub in (item.lists() if hasattr(item, "lists") else []):
                self.simplify(sub)
            if isinstance(item, Decl) and item.init not in (None, "0") and not item.name in ("gid", "tid"):
                old, item.init = item.init, "0"
                if not self.still():
                    item.init = old
            elif isinstance(item, Line):
                m = re.fullmatch(r"(.*?) = (.*);", item.text)
                if m and m.group(2) != "0" and "(" not in m.group(1)[:1]:
                    old, item.text = item.text, f"{m.group(1)} = 0;"
                    if not self.still():
                        item.text = old

    def drop_groups(self) -> None:
        """Remove a per-thread variable or a shared array together with its initialisation."""
        k, seg0 = self.k, self.k.body[0]
        names = [d.name for d in seg0 if isinstance(d, Decl) and d.name not in ("gid", "tid")]
        names += [sh.name for sh in k.shared]
        for name in names:
            if self.out_of_time():
                return
            pat = re.compile(rf"\b{name}\b")
            saved = (seg0[:], k.state_fields[:], k.shared[:])
            seg0[:] = [st for st in seg0 if not (isinstance(st, Decl) and st.name == name) and
                       not (not st.removable and pat.search(st.render("vk", "")))]
            k.state_fields = [f for f in k.state_fields if not pat.search(f)]
            k.shared = [sh for sh in k.shared if sh.name != name]
            if not self.still():
                seg0[:], k.state_fields, k.shared = saved

    def run(self) -> Outcome:
        k = self.k
        for decls in (False, False, True, False):
            changed = True
            while changed and not self.out_of_time():
                changed = self.try_list(k.body, decls)
                changed |= self.try_list(k.file_macros)
                changed |= self.try_list(k.hdr_items)
            if decls:
                self.drop_groups()
                self.simplify(k.body)
        check(k, self.d)              # leave the files of the final kernel in d
        return self.outcome


def shrink(k: Kernel, d: Path, outcome: Outcome, budget_s: float = 120.0) -> Outcome:
    return Shrinker(k, d, outcome, budget_s).run()


def report(k: Kernel, outcome: Outcome, d: Path) -> str:
    """The minimal kernel's files and the failure, as text to print."""
    return (f"--- {d / 'fz.vkh'}\n{k.header()}--- {d / 'fz.vk'} (grid {k.grid}, block {k.block})\n{k.vk()}"
            f"--- {outcome.category}: {outcome.signature}\n{outcome.detail}\n")
