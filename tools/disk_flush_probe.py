#!/usr/bin/env python3
"""What a durable commit costs on this disk, without LMDB: a data write + fdatasync, then (as LMDB
does for its meta page) a small write through an O_DSYNC descriptor. The log benchmark's README
section quotes these figures.

    python3 tools/disk_flush_probe.py [DIRECTORY]    # default: .bench (must be a real disk, not tmpfs)
"""
import os
import sys
import time

directory = sys.argv[1] if len(sys.argv) > 1 else ".bench"
os.makedirs(directory, exist_ok=True)
path = os.path.join(directory, "disk-flush-probe.bin")
size = 64 << 20
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"\0" * size)
os.fsync(fd)
meta = os.open(path, os.O_WRONLY | os.O_DSYNC)


def run(label, nbytes, meta_write, grow=False, n=500):
    data = b"x" * nbytes
    offset = size
    started = time.perf_counter()
    for i in range(n):
        if grow:
            os.pwrite(fd, data, offset)
            offset += nbytes
        else:
            os.pwrite(fd, data, (i * nbytes * 3) % (48 << 20))
        os.fdatasync(fd)
        if meta_write:
            os.pwrite(meta, b"m" * 120, 0)
    print(f"{label:<40} {(time.perf_counter() - started) / n * 1e6:6.0f} us per commit")


try:
    run("4 KiB + fdatasync", 4096, False)
    run("4 KiB + fdatasync + O_DSYNC meta", 4096, True)
    run("112 KiB + fdatasync", 112 << 10, False)
    run("112 KiB + fdatasync + O_DSYNC meta", 112 << 10, True)
    run("112 KiB growing the file + both", 112 << 10, True, grow=True)
finally:
    os.close(meta)
    os.close(fd)
    os.remove(path)
