"""vgpu.web: the service and the explorer page (`pip install 'vgpu[web]'`; docs/explorer.md).

    vgpuc serve [--host 127.0.0.1] [--port 8000]        explorer at /, OpenAPI (Swagger) at /docs
    thread, stop = vgpu.web.start_background(port=8001)  # from a notebook or the REPL; stop() ends it

In:  HTTP requests: the seed's inspection routes over this process's live devices, POST /compile,
     POST /run (app.py lists them; limits.py bounds what a request may ask).
Out: JSON answers, and the explorer page (static/, plain HTML, JS and CSS shipped in the package).
The service never runs user Python: it accepts `.vk` source only.
"""
from __future__ import annotations

import threading
import time

from .limits import Limits

__all__ = ["create_app", "start_background", "serve", "Limits"]


def create_app(limits: Limits | None = None, cors_origins=()):
    """The FastAPI application (vgpu.web.app.create_app)."""
    from .app import create_app as make
    return make(limits, cors_origins)


def _server(host: str, port: int, limits: Limits | None, cors_origins):
    import uvicorn
    config = uvicorn.Config(create_app(limits, cors_origins), host=host, port=port, log_level="warning",
                            lifespan="on")
    return uvicorn.Server(config)


def start_background(port: int = 8001, host: str = "127.0.0.1", limits: Limits | None = None, cors_origins=(),
                     timeout: float = 20.0):
    """Serve in a daemon thread of this process (so the routes see this process's devices); returns
    (thread, stop), stop() shuts the server down and waits for the thread.  RuntimeError when the
    server does not come up within `timeout` seconds (the port in use, say)."""
    server = _server(host, port, limits, cors_origins)
    server.install_signal_handlers = lambda: None          # older uvicorn: no signals off the main thread
    def target() -> None:
        try:
            server.run()
        except SystemExit:                                  # uvicorn's way of saying it could not start
            pass
    thread = threading.Thread(target=target, name=f"vgpu-web-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            raise RuntimeError(f"vgpu.web: the server did not start on {host}:{port} (is the port in use?)")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
    return thread, stop


def serve(host: str = "127.0.0.1", port: int = 8000, limits: Limits | None = None, cors_origins=()) -> None:
    """Serve in the foreground until interrupted (`vgpuc serve`)."""
    _server(host, port, limits, cors_origins).run()
