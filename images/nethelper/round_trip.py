"""Seconds for one request and its answer to HOST:PORT, measured from this network namespace:
connect, send REQUEST (hex), read until the first byte of the answer.

    python3 round_trip.py HOST PORT REQUEST_HEX
"""

import socket
import sys
import time

host, port, request = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
started = time.perf_counter()
with socket.create_connection((host, port), timeout=30) as sock:
    sock.sendall(request)
    if not sock.recv(1):
        sys.exit("closed without an answer")
print(f"{time.perf_counter() - started:.6f}")
