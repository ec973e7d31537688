#!/usr/bin/env python3
"""What a durable commit costs on this disk, without LMDB. LMDB's own durable commit writes its data pages and
fdatasyncs them, then writes the meta page through an O_DSYNC descriptor: two flushes in series ("+ O_DSYNC meta").
Emporium's one-flush commit writes the meta page without waiting (MDB_NOMETASYNC) and flushes the commit's records
to a redo file while the data pages are flushed ("|| redo flush"). "piggyback" is a design tried and not kept: the redo
entry written with sync_file_range (no flush) before the data pages, so that their fdatasync's device flush covers it.
The log benchmark prints these beside its table.

    python3 tools/disk_flush_probe.py [DIRECTORY [COMMITS]]    # default: .bench (a real disk, not tmpfs), 300 commits each
"""
import ctypes
import os
import statistics
import sys
import threading
import time

directory = sys.argv[1] if len(sys.argv) > 1 else ".bench"
commits = int(sys.argv[2]) if len(sys.argv) > 2 else 300
os.makedirs(directory, exist_ok=True)
path = os.path.join(directory, "disk-flush-probe.bin")
redo_path = os.path.join(directory, "disk-flush-probe.redo")
size = 64 << 20
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"\0" * size)
os.fsync(fd)
meta = os.open(path, os.O_WRONLY | os.O_DSYNC)
redo = os.open(redo_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(redo, b"\0" * (1 << 20))
os.fsync(redo)


class RedoFlusher:
    """A thread that writes and flushes a redo entry when told to, as the log's redo thread does."""

    def __init__(self):
        self.go, self.done = threading.Semaphore(0), threading.Semaphore(0)
        self.nbytes = 0
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            self.go.acquire()
            os.pwrite(redo, b"r" * self.nbytes, 0)
            os.fdatasync(redo)
            self.done.release()


flusher = RedoFlusher()
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
SYNC_FILE_RANGE_ALL = 1 | 2 | 4  # wait before, write, wait after: on the device, not flushed


def run(label, nbytes, mode, n=commits):
    data = b"x" * nbytes
    latencies = []
    for i in range(n):
        started = time.perf_counter()
        if mode == "redo":
            flusher.nbytes = nbytes // 8 + 600
            flusher.go.release()
        elif mode == "piggyback":
            os.pwrite(redo, b"r" * (nbytes // 8 + 600), 0)
            if libc.sync_file_range(redo, 0, nbytes // 8 + 600, SYNC_FILE_RANGE_ALL) != 0:
                raise OSError(ctypes.get_errno(), "sync_file_range")
        os.pwrite(fd, data, (i * nbytes * 3) % (48 << 20))
        os.fdatasync(fd)
        if mode == "meta":
            os.pwrite(meta, b"m" * 120, 0)
        elif mode in ("redo", "piggyback"):
            os.pwrite(fd, b"m" * 120, 4096)  # the meta page, not waited for
        if mode == "redo":
            flusher.done.acquire()  # (piggyback told the flusher nothing: waiting for it hung the probe for ever)
        latencies.append((time.perf_counter() - started) * 1e6)
    print(f"{label:<44} {statistics.median(latencies):6.0f} us per commit (median of {n})")


try:
    for size_label, nbytes in (("4 KiB", 4096), ("36 KiB", 36 << 10), ("112 KiB", 112 << 10)):
        run(f"{size_label} + fdatasync", nbytes, "none")
        run(f"{size_label} + fdatasync + O_DSYNC meta (two)", nbytes, "meta")
        run(f"{size_label} + fdatasync || redo flush (one)", nbytes, "redo")
        run(f"{size_label} piggyback redo + fdatasync", nbytes, "piggyback")
finally:
    for descriptor in (meta, fd, redo):
        os.close(descriptor)
    os.remove(path)
    os.remove(redo_path)
