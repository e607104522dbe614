#!/usr/bin/env python3
# A door render process that is no longer ours (tests/unit/test_door.c): it
# answers the door's hello on fd 3, then sends fence retirements on fd 4
# without end, faster than QEMU polls, and never exits by itself. The wire
# is src/gpu/door-process/door-process.h.
import socket
import struct
import time

MAGIC = 0x50564450
req = socket.socket(fileno=3)
evt = socket.socket(fileno=4)
req.recv(65536)                                    # PV_DP_HELLO
req.send(struct.pack("<IiII", MAGIC, 0, 0, 0))     # struct pv_dp_rep: rc 0
fence = 0
try:
    while fence < 1000000:                         # struct pv_dp_evt: PV_DP_EVT_FENCE, ctx 1, ring 0
        evt.send(struct.pack("<IIIIQII", MAGIC, 1, 1, 0, fence, 0, 0))
        fence += 1
except OSError:
    pass                                           # the door stopped reading
time.sleep(60)
