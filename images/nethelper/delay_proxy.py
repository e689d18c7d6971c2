"""A TCP proxy that holds every chunk a client sends for DELAY_MS (plus up to JITTER_MS) before
passing it on, in order; the answers come back at once. Latency for a kernel without netem.

    python3 delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS JITTER_MS
"""

import asyncio
import random
import sys


async def pipe(reader, writer, delay_s, jitter_s):
    """Copy reader to writer, each chunk due delay (+ jitter) after it arrived, never early
    and never out of order."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, chunk = await queue.get()
            if chunk is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    sender = asyncio.ensure_future(deliver())
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            await queue.put((loop.time() + delay_s + random.uniform(0, jitter_s), chunk))
    except ConnectionError:
        pass
    await queue.put((0.0, None))
    try:
        await sender
    except ConnectionError:
        pass


async def main(listen, target, delay_s, jitter_s):
    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer, delay_s, jitter_s),
                             pipe(server_reader, client_writer, 0.0, 0.0))

    server = await asyncio.start_server(handle, "0.0.0.0", listen)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    port, to, ms, jitter = (int(a) for a in sys.argv[1:5])
    asyncio.run(main(port, to, ms / 1000, jitter / 1000))
