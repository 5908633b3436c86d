"""The hub served on another of uvicorn's websocket implementations.

For side-by-side memory and CPU figures: the hub's code is the same, only
the protocol object under each connection differs. ``python -m
loadtests.peers.hub_ws IMPL PORT``, IMPL one of uvicorn's ``--ws`` names
(``websockets-sansio`` is uvicorn's own, without the hub's lean subclass;
``wsproto``; ``websockets``, the legacy implementation with a task per
connection). Configuration from the same HUB_* variables as `homi-hub serve`.
"""

from __future__ import annotations

import sys

import uvicorn

from hub.app import create_app
from hub.cli import _settings, listening_socket, uvicorn_config
from hub.logs import configure_logging


def main() -> None:
    implementation, port = sys.argv[1], int(sys.argv[2])
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    sock = listening_socket("127.0.0.1", port, settings.socket_send_buffer)
    app = create_app(settings, tune_gc=True)
    config = uvicorn_config(app, settings, ws=implementation)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
