"""Seconds for one request and its answer to HOST:PORT, measured from this network namespace:
connect, send REQUEST (hex), read until the first byte of the answer.

    python3 round_trip.py HOST PORT REQUEST_HEX TIMEOUT_S

Exit code 3 when no answer came within TIMEOUT_S.
"""

import socket
import sys
import time

host, port, request = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
timeout = float(sys.argv[4])
started = time.perf_counter()
try:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        if not sock.recv(1):
            sys.exit("closed without an answer")
except TimeoutError:
    print(f"no answer from {host}:{port} within {timeout:g} s", file=sys.stderr)
    sys.exit(3)
print(f"{time.perf_counter() - started:.6f}")
