#!/usr/bin/env python3
"""skb frame source: AF_PACKET raw sends of one frame for a bounded time. Prints frames sent."""
import socket, sys, time
iface, dst, src, size, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
mac = lambda s: bytes(int(x, 16) for x in s.split(":"))
frame = mac(dst) + mac(src) + b"\x88\xb5" + bytes(max(0, size - 14))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
n, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    for _ in range(256):
        try:
            s.send(frame); n += 1
        except OSError:
            pass
print(n)
