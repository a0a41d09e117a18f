"""The per-packet path allocates nothing. A master and a backup, each with
10 instances at 10 ms adverts, run under heaptrack (its LD_PRELOAD hook
counts every malloc of the dynamically linked host build), once for about
1.5 s and once for about 4.5 s. The longer run sends and receives some
6,000 adverts more and wakes up as much more often; start-up is the same,
so the allocation counts of the two runs must match. Before the loop kept
its poll set and the VIP reconciliation its buffer, every wake-up made
five allocations and every advert sent one more.
"""

import re
import shutil
import signal
import time
import subprocess

import pytest

from lab import Lab, Params, descendants, missing_prerequisites, tinyvrrp_bin, wait_until

MISSING = missing_prerequisites() + (["heaptrack"] if shutil.which("heaptrack") is None else [])

INSTANCES = 10
# Start-up may differ by a few between runs (link events, netlink answers
# split differently; 2 at most here). The longer run's 3,000 adverts more,
# at one allocation each, would cross this many times over.
STEADY_ALLOWANCE = 50
ROLES = {"master": (1, 150), "backup": (2, 100)}


def start(lab: Lab, router: int, priority: int):
    instances = [Params(vrid=vrid, name=f"v{vrid}", priority=priority, advert_ms=10,
                        vips=[f"10.215.{lab.net}.{vrid}/32"])
                 for vrid in range(1, INSTANCES + 1)]
    record = lab.dir / f"heaptrack-r{router}"
    return lab.tinyvrrp(router, instances=instances,
                        wrap=["heaptrack", "-o", str(record)])


def stop(lab: Lab, node, router: int) -> tuple[int, int]:
    """(allocation calls, adverts sent + received) of the run."""
    adverts = sum(instance["statistics"]["advertisement-rcvd"]
                  + instance["statistics"]["advertisement-sent"]
                  for instance in node.status_json()["instances"])
    # heaptrack's script runs the daemon as its child; SIGTERM to the
    # daemon ends both, the record complete.
    daemons = [pid for pid in descendants(node.proc.pid) if tinyvrrp_bin() in cmdline(pid)]
    assert daemons, node.log_tail()
    for pid in daemons:
        subprocess.run(["kill", f"-{signal.SIGTERM.value}", str(pid)], check=True)
    node.proc.wait(timeout=30)
    [record] = lab.dir.glob(f"heaptrack-r{router}*")
    printed = subprocess.run(["heaptrack_print", "--print-peaks=0", "--print-allocators=0",
                              "--print-temporary=0", "--print-leaks=0", str(record)],
                             capture_output=True, text=True, check=True).stdout
    calls = re.search(r"calls to allocation functions: (\d+)", printed)
    assert calls, printed[-2000:]
    return int(calls.group(1)), adverts


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)}")
def test_adverts_sent_and_received_allocate_nothing():
    counts: dict[float, dict[str, tuple[int, int]]] = {}
    for seconds in (1.5, 4.5):
        with Lab(routers=2) as lab:
            # The backup once the master holds every VIP, so that it never
            # starts as a master itself: both runs start up alike.
            nodes = {"master": start(lab, *ROLES["master"])}
            vips = [f"10.215.{lab.net}.{vrid}" for vrid in (1, INSTANCES)]
            assert wait_until(lambda: all(h == [1] for h in lab.holders_of(vips).values()),
                              10, 0.1), nodes["master"].log_tail()
            nodes["backup"] = start(lab, *ROLES["backup"])
            time.sleep(seconds)
            counts[seconds] = {role: stop(lab, nodes[role], ROLES[role][0]) for role in ROLES}
    print(f"\nallocation calls, adverts sent + received: {counts}")
    for role in ROLES:
        (short_calls, short_adverts), (long_calls, long_adverts) = \
            counts[1.5][role], counts[4.5][role]
        assert long_adverts - short_adverts > 1000, (role, counts)
        assert long_calls - short_calls < STEADY_ALLOWANCE, (role, counts)
