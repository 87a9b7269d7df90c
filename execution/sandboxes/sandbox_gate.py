"""A token gate run inside an E2B sandbox in front of Chrome's DevTools port (stdlib only).

Chrome listens on localhost inside the sandbox; this gate listens on the port E2B makes
public and passes a connection through only when its first request carries the sandbox's
secret in the `X-Testrun-Sandbox-Token` header (WebSocket upgrades included: Playwright
sends the header on both). Anything else gets 403 and is closed. The E2B provider writes
this file into the sandbox and runs it with `python3 <file> <listen port> <target port>`,
the secret in the TESTRUN_SANDBOX_TOKEN environment variable.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import sys

TOKEN_HEADER = "X-Testrun-Sandbox-Token"
TOKEN_VARIABLE = "TESTRUN_SANDBOX_TOKEN"
_MAX_HEAD = 64 * 1024
_REFUSED = (
    b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    b"Content-Length: 41\r\n\r\nA valid X-Testrun-Sandbox-Token is needed"
)
_NOT_LISTENING = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    b"Content-Length: 33\r\n\r\nChrome's DevTools are not up yet."
)


def carries_token(head: bytes, token: str) -> bool:
    """Whether the request head has the token header with exactly `token`."""
    wanted = TOKEN_HEADER.lower().encode()
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == wanted:
            return hmac.compare_digest(value.strip(), token.encode())
    return False


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()


async def _serve(
    client: asyncio.StreamReader, to_client: asyncio.StreamWriter, *, target: int, token: str
) -> None:
    to_target: asyncio.StreamWriter | None = None
    try:
        try:
            head = await client.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        if not carries_token(head, token):
            to_client.write(_REFUSED)
            await to_client.drain()
            return
        try:
            from_target, to_target = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            to_client.write(_NOT_LISTENING)
            await to_client.drain()
            return
        to_target.write(head)
        pipes = {
            asyncio.ensure_future(_pipe(client, to_target)),
            asyncio.ensure_future(_pipe(from_target, to_client)),
        }
        # Either side ending ends both: a client must notice when Chrome goes away.
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for pipe in pipes:
            pipe.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
    except OSError:
        return
    finally:
        for writer in (to_target, to_client):
            if writer is not None:
                writer.close()


async def main(listen: int, target: int, token: str) -> None:
    """Serve until killed (the sandbox is killed with everything in it)."""
    server = await asyncio.start_server(
        lambda reader, writer: _serve(reader, writer, target=target, token=token),
        host="0.0.0.0",
        port=listen,
        limit=_MAX_HEAD,
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), os.environ[TOKEN_VARIABLE]))
