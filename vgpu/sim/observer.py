"""The one interface through which tools watch a run: counters, traces, sanitizers, the divergence
picture (vgpu.sim.observe), and a step debugger or a timing model built the same way.

In:  nothing; an `Observer` subclass overrides the hooks it needs (each is a no-op here).
Out: the hooks' calls, made by the simulator core while a launch runs (`run_blocks(observer=...)`):

    wave_start(wave)                       blocks became resident: `wave.block_ids[:wave.nblocks]`,
                                           fresh SIMT stacks, zeroed shared and local memory
    issue(wave, pc, warps, masks)          BEFORE the instruction at `pc` executes for `warps` (int64
                                           warp indices in the wave, ascending), whose SIMT active
                                           masks are `masks` (uint32, bit i = lane i; a guard
                                           predicate may still switch lanes off).  Called once per
                                           scheduler step, for every instruction, also while the
                                           scheduler keeps a group of warps running together, so a
                                           debugger may pause here (block in the hook) and inspect
                                           the wave between any two instructions.
    memory(wave, pc, kind, space, dtype, addresses, lanes)
                                           a memory instruction's access, after its addresses passed
                                           the bounds and alignment checks, before data moves: kind
                                           'load' 'store' 'atomic'; space a vgpu.sim.memory window id
                                           (SHARED LOCAL CONST GLOBAL) or None for a generic access;
                                           dtype the element's numpy dtype; addresses int64 generic
                                           addresses and lanes the wave lane ids (warp = lane >> 5)
                                           of the lanes that access, in ascending lane order.  An
                                           access that faults instead reaches `fault`, its error's
                                           `.access` holding (pc, kind, space, dtype, addresses, lanes).
    arrive(wave, pc, warps, scope)         the active lanes of `warps` reach the barrier at pc
                                           (scope 'block' or 'grid'), before they wait
    release(wave, warps, scope)            `warps` pass a barrier: scope 'block' (their blocks'
                                           __syncthreads), 'grid' (grid.sync) or 'warp'
                                           (__syncwarp, after it executed)
    exit(wave, warps, masks)               lanes `masks` (uint32 per warp) of `warps` exit
    fault(wave, error)                     a DeviceError ends the wave, already located (kernel,
                                           line, block, thread); the wave's state is as it faulted
    wave_end(wave)                         the wave is over (also after a fault)

`wave` is a `vgpu.sim.wave.Wave`: read `wave.simt` (pc, mask, stack of each warp), `wave.regs`
(register views by id; `wave.kernel.slots` maps register names to slots), `wave.special`,
`wave.mem`, `wave.stats` (its 'steps' already count the step being issued), `wave.ops[pc]` (the
decoded instruction: `.text` in the disassembler's syntax, `.line`, `.spec` its ISA table row).
Observers must not change the machine's state; what they may change is their own.  A wave with no
observer pays nothing but a None test per step and per memory access.  The pool of SM workers
runs only unobserved launches (and the memory counters, which it builds per wave itself), so an
observer sees every wave of its launch in this process, one after another.
"""
from __future__ import annotations


class Observer:
    """A tool watching a run: override the hooks it needs (see the module docstring)."""

    def wave_start(self, wave) -> None:
        pass

    def issue(self, wave, pc: int, warps, masks) -> None:
        pass

    def memory(self, wave, pc: int, kind: str, space, dtype, addresses, lanes) -> None:
        pass

    def arrive(self, wave, pc: int, warps, scope: str) -> None:
        pass

    def release(self, wave, warps, scope: str) -> None:
        pass

    def exit(self, wave, warps, masks) -> None:
        pass

    def fault(self, wave, error) -> None:
        pass

    def wave_end(self, wave) -> None:
        pass


class Fanout(Observer):
    """Several observers, called in order."""

    def __init__(self, observers):
        self.observers = list(observers)

    def wave_start(self, wave):
        for o in self.observers:
            o.wave_start(wave)

    def issue(self, wave, pc, warps, masks):
        for o in self.observers:
            o.issue(wave, pc, warps, masks)

    def memory(self, wave, pc, kind, space, dtype, addresses, lanes):
        for o in self.observers:
            o.memory(wave, pc, kind, space, dtype, addresses, lanes)

    def arrive(self, wave, pc, warps, scope):
        for o in self.observers:
            o.arrive(wave, pc, warps, scope)

    def release(self, wave, warps, scope):
        for o in self.observers:
            o.release(wave, warps, scope)

    def exit(self, wave, warps, masks):
        for o in self.observers:
            o.exit(wave, warps, masks)

    def fault(self, wave, error):
        for o in self.observers:
            o.fault(wave, error)

    def wave_end(self, wave):
        for o in self.observers:
            o.wave_end(wave)


def combine(*observers) -> Observer | None:
    """One observer for those given (None entries skipped): None, the only one, or a Fanout."""
    present = [o for o in observers if o is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else Fanout(present)
