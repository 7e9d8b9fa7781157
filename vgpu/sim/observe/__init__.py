"""Tools that watch a run through `vgpu.sim.observer.Observer`: memory counters and the launch's
counter totals (`counters`), traces (`trace`: text, Chrome trace events, a warp's active masks),
the divergence picture (`divergence`, SVG), and compute-sanitizer's checks (`sanitize`).
The simulator core does not import this package; `launch` attaches what a launch asks for."""
