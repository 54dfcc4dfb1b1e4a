"""The port the server binds before it loads (launch.listen)."""
from __future__ import annotations

import asyncio
import socket

from assistant.web.launch import listen


def test_connections_on_the_bound_port_send_each_response_at_once():
    # Without TCP_NODELAY a keep-alive client waited ~40 ms for every response after its
    # first (Nagle's algorithm against the client's delayed ACK): /healthz took 44 ms.
    async def accepted_nodelay() -> int:
        sock = listen("127.0.0.1", 0, 8)
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()

        def on_connection(reader, writer):
            accepted.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connection, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            nodelay = await asyncio.wait_for(accepted, 30)  # failsafe only
            writer.close()
        return nodelay

    assert asyncio.run(accepted_nodelay()) != 0
