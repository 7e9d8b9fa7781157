"""A differential fuzzer of vgpu against C (the Csmith idea): random UB-free `.vk` kernels with their
`#include`d headers, run on vgpu and as an equivalent host C program built with gcc (UBSan where available),
output bytes compared; failures shrunk to a minimal kernel.

Modules: ctype (C types, conversions, literals), expr (UB-free expressions with interval analysis), stmt
(statement tree, rendering to .vk and C), gen (random statements), kernel (a whole kernel), cprog (the C
program), run (run both, compare), shrink (delta debugging).  docs/fuzzing.md describes it.
"""
