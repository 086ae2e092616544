#!/usr/bin/env python3
"""Runs a command and fails if anything it started outlives it.

    scripts/reap.py COMMAND [ARG...]

The command runs under this process as a child subreaper
(PR_SET_CHILD_SUBREAPER): whatever it starts that is orphaned, however
deep, daemonised or in a session of its own, is re-parented here rather
than to init. Once the command has exited, any such process still running
after a short grace (one that is ending gets time to end) is a leftover:
each is listed with its command line, killed, and the exit status is 1.
Otherwise the command's own exit status is returned.

scripts/test.sh runs itself under this, so that a test that leaves a
process behind (a fake save command still looping, an exporter never
stopped) fails the suite, in CI and on a developer's machine alike.
"""

import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
# How long a process still ending may take before it counts as left over
# (REAP_GRACE_SECONDS overrides it, for this script's own test).
GRACE_SECONDS = float(os.environ.get("REAP_GRACE_SECONDS", "10"))


def children():
    """(pid, state, command line) of every process whose parent is us."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # ended meanwhile
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == me:
            found.append((int(entry), fields[0], cmdline))
    return found


def reap_zombies():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main():
    if len(sys.argv) < 2:
        print("usage: scripts/reap.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(f"reap: prctl: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 2
    status = subprocess.call(sys.argv[1:])
    deadline = time.monotonic() + GRACE_SECONDS
    while True:
        reap_zombies()
        left = [c for c in children() if c[1] != "Z"]
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    if not left:
        return status
    print(f"reap: {len(left)} process(es) started by `{' '.join(sys.argv[1:])}` "
          f"still running {GRACE_SECONDS:g} s after it ended:", file=sys.stderr)
    for pid, state, cmdline in left:
        print(f"  {pid} ({state}) {cmdline}", file=sys.stderr)
    # Killed, and what they started in turn (re-parented here as they die).
    for _ in range(50):
        for pid, _, _ in children():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)
        reap_zombies()
        if not children():
            break
    return 1


if __name__ == "__main__":
    sys.exit(main())
