"""Issue 10 in namespaces: tracked interfaces, scripts and files, sync
groups, notify scripts and the notify FIFO.

Two routers (router 1 at priority 150, router 2 at 100) and a client on the
LAN bridge (eth0) and, where a test needs it, on a second one (WAN, eth1).
What the daemon is meant to do (the config syntax is the README's):

- `track-interface IF` (weight 0): IF down or without carrier is FAULT;
  with a weight, it is added to the priority while down (negative) or up
  (positive). `track-script NAME`: exit 0 is success; a run past `timeout`
  is killed (its process group: SIGTERM, SIGKILL 2 s later) and fails; a
  run still going at the next interval is skipped. `track-file PATH`: the
  number in the file times the weight (default 1) is added; with weight 0,
  non-zero is FAULT. Effective priority = base + contributions, clamped to
  1..254; a master whose effective priority changes sends an advert at once.
- `group NAME` with `member` lines (keepalived's vrrp_sync_group): one
  member FAULT puts all in FAULT, a master member demoted to BACKUP takes
  all to BACKUP, members become master only together.
- Notify: per transition the per-state script (`notify-master` ...), then
  the generic `notify` (`SCRIPT INSTANCE NAME STATE PRIORITY`, `SCRIPT
  GROUP NAME STATE 0`), then the FIFO line (`INSTANCE "lan" MASTER 150`,
  `GROUP "gw" BACKUP 0`); the scripts of an instance run one at a time, in
  transition order.

Bounds are generous (a backup's Master_Down_Interval plus 1.5 s): they
fail on a real bug (no takeover, a split group, a lost or reordered
notification, a blocked event loop), not on a slow machine.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time

import pytest

from lab import Lab, explain, missing_prerequisites, run, wait_until

MISSING = missing_prerequisites()

ADVERT_MS = 100
ELECTION_TIMEOUT = 5.0
MARGIN = 1.5
_MARKERS = itertools.count()


def takeover_s(advert_ms: int = ADVERT_MS, priority: int = 100) -> float:
    """The bound for a takeover by the backup (priority 100): its
    Master_Down_Interval plus a generous margin."""
    interval = advert_ms / 1000
    return 3 * interval + (256 - priority) * interval / 256 + MARGIN


def start_pair(lab, extra=(), head="", advert_ms=ADVERT_MS, program=None,
               election_timeout=ELECTION_TIMEOUT, **params):
    """Router 1 (150, with the instance lines `extra` and the config text
    `head`, run by `program` if given) master over router 2 (100, plain)."""
    master = lab.tinyvrrp(1, priority=150, advert_ms=advert_ms, extra=list(extra), head=head,
                          program=program, **params)
    backup = lab.tinyvrrp(2, priority=100, advert_ms=advert_ms)
    assert lab.wait_holder(1, election_timeout + 4 * advert_ms / 1000, routers=[1, 2]), \
        explain(lab)
    return master, backup


def status_is(node, name: str = "lan", timeout: float = 3.0, **want) -> dict:
    """Waits until the instance's status has every `want` key=value (`_`
    in a key stands for `-`); returns the last status read."""
    last = {}
    want = {key.replace("_", "-"): value for key, value in want.items()}

    def check():
        nonlocal last
        last = node.status(name=name)
        return all(last.get(key) == value for key, value in want.items())

    assert wait_until(check, timeout, interval=0.2), \
        f"status of {name} on r{node.router}: {last}, want {want}\n" + explain(node.lab)
    return last


def steady(lab, router: int, seconds: float = 1.0, vip: str | None = None):
    """`router` alone holds the VIP for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        holders = lab.holders(vip=vip, routers=[1, 2])
        assert holders == [router], f"holders {holders}, want [{router}]\n" + explain(lab)
        time.sleep(0.1)


def lines(path) -> list[str]:
    return path.read_text().splitlines()


def wait_lines(path, want: list[str], timeout: float, settle: float = 0.5) -> list[str]:
    """Waits until the file holds as many lines as `want`, then `settle`
    seconds more (a late extra line shows); returns its lines."""
    wait_until(lambda: len(lines(path)) >= len(want), timeout)
    time.sleep(settle)
    return lines(path)


# 1. track-interface

@pytest.mark.parametrize("how", ["admin-down", "no-carrier"])
def test_tracked_interface_down_is_fault_and_the_backup_takes_over(how):
    """Weight 0: the master's eth1 down (`ip link set eth1 down`, or its
    switch port down: no carrier) is FAULT; the backup takes the VIP; eth1
    back, the master preempts again."""
    with Lab(routers=2, wan=True) as lab:
        master, _ = start_pair(lab, extra=["track-interface eth1"])
        status_is(master, state="MASTER", priority="150")

        def cut(up):
            if how == "admin-down":
                lab.set_link(1, up=up, dev="eth1")
            else:
                lab.set_port(1, up=up, dev="eth1")

        cut(up=False)
        assert lab.wait_holder(2, takeover_s(), routers=[1, 2]), explain(lab)
        status_is(master, state="FAULT")
        assert lab.ping(), "the client cannot reach the VIP on the backup"
        # FAULT holds while eth1 is down: no flap back.
        steady(lab, 2)
        cut(up=True)
        assert lab.wait_holder(1, takeover_s(), routers=[1, 2]), explain(lab)
        status_is(master, state="MASTER", priority="150")
        steady(lab, 1, 0.5)
        assert lab.ping()
        assert master.alive(), explain(lab)


def first_advert_after(capture, src: str, since: float, timeout: float, priority=None):
    """Polls the running capture for the first advert from `src` at or
    after wall-clock `since` (with `priority`, if given); its Event or None."""

    def find():
        return next((e for e in capture.events() if e.kind == "vrrp" and e.src == src
                     and e.time >= since and (priority is None or e.priority == priority)),
                    None)

    return wait_until(find, timeout, interval=0.05)


def test_weighted_tracked_interface_lowers_the_priority_and_the_backup_preempts():
    """Weight -60 on 150: eth1 down is priority 90 (not FAULT), sent at once
    (not at the next 1 s advert), and the backup (100) preempts; eth1 up is
    150 again and router 1 preempts back."""
    advert_ms = 1000
    with Lab(routers=2, wan=True) as lab:
        master, backup = start_pair(lab, extra=["track-interface eth1 weight -60"],
                                    advert_ms=advert_ms)
        status_is(master, state="MASTER", priority="150", base_priority="150")
        with lab.capture() as capture:
            # Take eth1 down just after an advert: the next one is due ~0.9 s later.
            advert = first_advert_after(capture, lab.router_ip(1), time.time(), 3.0)
            assert advert is not None, "no advert from the master\n" + explain(lab)
            time.sleep(max(0.0, advert.time + 0.1 - time.time()))
            down_at = time.time()
            lab.set_link(1, up=False, dev="eth1")
            lowered = first_advert_after(capture, lab.router_ip(1), down_at, 3.0, priority=90)
            assert lowered is not None, "no advert with priority 90\n" + explain(lab)
            assert lowered.time - down_at < 0.4, \
                f"the priority-90 advert came {lowered.time - down_at:.3f} s after eth1 " \
                f"went down: not sent at once"
            assert lab.wait_holder(2, takeover_s(advert_ms), routers=[1, 2]), explain(lab)
        status_is(master, state="BACKUP", priority="90", base_priority="150")
        status_is(backup, state="MASTER", priority="100")
        assert lab.ping()
        lab.set_link(1, up=True, dev="eth1")
        # Router 1 (150 again) preempts the master at 100.
        assert lab.wait_holder(1, takeover_s(advert_ms), routers=[1, 2]), explain(lab)
        status_is(master, state="MASTER", priority="150", base_priority="150")
        assert lab.ping()


# 2. track-script

def script_tracking(lab, program=None, advert_ms=ADVERT_MS, weight=None, interval_ms=200,
                    election_timeout=ELECTION_TIMEOUT):
    """Router 1 tracks a script that fails while a flag file exists: flag
    set, the VIP moves to router 2 (router 1 FAULT with weight 0, priority
    90 with weight -60); flag gone, it moves back. `program` runs router 1
    (e.g. the mips image under qemu-user). Shared with test_cross."""
    flag = lab.dir / "fail-flag"
    check = lab.script("check.sh", f"test ! -e {flag}\n")
    head = f"script chk\n  exec {check}\n  interval {interval_ms}ms\n"
    track = "track-script chk" + (f" weight {weight}" if weight is not None else "")
    master, _ = start_pair(lab, extra=[track], head=head, advert_ms=advert_ms, program=program,
                           election_timeout=election_timeout)
    status_is(master, state="MASTER", priority="150")
    steady(lab, 1, 2 * interval_ms / 1000 + 0.3)
    bound = takeover_s(advert_ms) + 2 * interval_ms / 1000
    flag.touch()
    assert lab.wait_holder(2, bound, routers=[1, 2]), explain(lab)
    if weight is None:
        status_is(master, state="FAULT")
    else:
        status_is(master, state="BACKUP", priority=str(150 + weight))
    assert lab.ping()
    flag.unlink()
    assert lab.wait_holder(1, bound, routers=[1, 2]), explain(lab)
    status_is(master, state="MASTER", priority="150")
    assert lab.ping()
    assert master.alive(), explain(lab)
    return master


@pytest.mark.parametrize("weight", [None, -60], ids=["weight0-fault", "weight-60"])
def test_track_script_failing_moves_the_vip_and_succeeding_moves_it_back(weight):
    with Lab(routers=2) as lab:
        script_tracking(lab, weight=weight)


# 3. track-file

def write_by_rename(path, value: str):
    """`echo VALUE > tmp && mv tmp FILE`: a new file under the name."""
    run("sh", "-c", 'echo "$1" > "$2.tmp" && mv "$2.tmp" "$2"', "sh", value, str(path))


def write_in_place(path, value: str):
    """`echo VALUE > FILE`: the same inode, truncated and rewritten."""
    run("sh", "-c", 'echo "$1" > "$2"', "sh", value, str(path))


@pytest.mark.parametrize("weight,value,lowered", [
    (None, "-60", {"state": "BACKUP", "priority": "90"}),
    (2, "-30", {"state": "BACKUP", "priority": "90"}),
    (0, "1", {"state": "FAULT"}),
], ids=["weight-default", "weight2", "weight0-fault"])
def test_track_file_value_changes_the_priority_by_rename_and_in_place(weight, value, lowered):
    """The file's value times the weight is added to 150 (weight 0:
    non-zero is FAULT). Written by rename and in place, each both ways:
    the VIP moves to router 2 and back each time."""
    with Lab(routers=2) as lab:
        path = lab.dir / "prio"
        path.write_text("0\n")
        track = f"track-file {path}" + (f" weight {weight}" if weight is not None else "")
        master, _ = start_pair(lab, extra=[track])
        status_is(master, state="MASTER", priority="150")
        for lower, restore in ((write_by_rename, write_in_place),
                               (write_in_place, write_by_rename)):
            lower(path, value)
            assert lab.wait_holder(2, takeover_s(), routers=[1, 2]), \
                f"{lower.__name__} {value}\n" + explain(lab)
            status_is(master, **lowered)
            assert lab.ping()
            restore(path, "0")
            assert lab.wait_holder(1, takeover_s(), routers=[1, 2]), \
                f"{restore.__name__} 0\n" + explain(lab)
            status_is(master, state="MASTER", priority="150")
        assert lab.ping()


# 4 and 8. Sync group: LAN and WAN move together; group notify and FIFO.

def sample_holders(lab, vips, stop: threading.Event, out: list):
    """Appends (time, {vip: holders}) about every 20 ms until `stop`."""
    while not stop.is_set():
        out.append((time.monotonic(), lab.holders_of(vips, routers=[1, 2])))
        time.sleep(0.02)


def longest_bad_window(samples, bad) -> tuple[float, float | None]:
    """The longest run of samples for which `bad(sample)` holds, measured
    from its first sample to the next good one (or the last sample): its
    length in seconds and its start."""
    longest, start_of_longest, start = 0.0, None, None
    for when, holders in samples:
        if bad(holders):
            start = when if start is None else start
            length = when - start
        elif start is not None:
            length = when - start
        else:
            continue
        if length > longest:
            longest, start_of_longest = length, start
        if not bad(holders):
            start = None
    return longest, start_of_longest


def group_config(lab, router: int, priority: int):
    """lan (eth0, vrid 51) and wan (eth1, vrid 52) in group gw, with a group
    notify recorder and a notify FIFO read into a file."""
    notify, notify_out = lab.recorder(f"group-notify-r{router}.sh")
    fifo, fifo_out = lab.dir / f"r{router}.fifo", lab.dir / f"r{router}.fifo.out"
    lab.fifo_reader(router, fifo, fifo_out)
    instances = [
        lab.params(name="lan", vrid=51, priority=priority, vips=[f"{lab.vip()}/24"]),
        lab.params(name="wan", vrid=52, priority=priority, interface="eth1",
                   vips=[f"{lab.wan_vip()}/24"]),
    ]
    tail = f"group gw\n  member lan\n  member wan\n  notify {notify}\n"
    node = lab.tinyvrrp(router, instances=instances, head=f"notify-fifo {fifo}\n", tail=tail)
    return node, notify_out, fifo_out


def run_group_scenario(lab):
    """Router 1 master of both, router 2 backup of both; router 1's WAN
    link down, then up again, with both VIPs' holders sampled throughout.
    Returns the nodes, the samples and each router's notify and FIFO files."""
    vips = [lab.vip(), lab.wan_vip()]
    both = {vip: [1] for vip in vips}
    files = {}
    # Router 1 first, master before router 2 starts: router 2 is never
    # master at start-up, so its notifications are deterministic.
    r1, *files[1] = group_config(lab, 1, 150)
    assert wait_until(lambda: lab.holders_of(vips, routers=[1, 2]) == both, ELECTION_TIMEOUT), \
        explain(lab)
    r2, *files[2] = group_config(lab, 2, 100)
    # Past router 2's Master_Down_Interval: it would have taken over by now
    # if it did not hear router 1 (and SIGUSR1 finds its handler set).
    time.sleep(1.0)
    status_is(r2, name="lan", state="BACKUP")
    status_is(r2, name="wan", state="BACKUP")
    assert lab.holders_of(vips, routers=[1, 2]) == both, explain(lab)

    samples, stop = [], threading.Event()
    sampler = threading.Thread(target=sample_holders, args=(lab, vips, stop, samples))
    sampler.start()
    try:
        lab.set_link(1, up=False, dev="eth1")
        moved = {vip: [2] for vip in vips}
        assert wait_until(lambda: samples and samples[-1][1] == moved, takeover_s()), \
            f"both VIPs should move to router 2: {samples[-1][1] if samples else None}\n" \
            + explain(lab)
        status_is(r1, name="wan", state="FAULT")
        status_is(r1, name="lan", state="FAULT")
        assert r1.status("group", "gw")["state"] == "FAULT", explain(lab)
        assert lab.ping(lab.vip()) and lab.ping(lab.wan_vip())
        time.sleep(1.0)
        assert samples[-1][1] == moved, explain(lab)
        lab.set_link(1, up=True, dev="eth1")
        assert wait_until(lambda: samples[-1][1] == both, takeover_s()), \
            f"both VIPs should come back to router 1: {samples[-1][1]}\n" + explain(lab)
        time.sleep(1.0)
    finally:
        stop.set()
        sampler.join()
    assert samples[-1][1] == both, explain(lab)
    for name in ("lan", "wan"):
        status_is(r1, name=name, state="MASTER", group="gw")
        status_is(r2, name=name, state="BACKUP", group="gw")
    assert r1.status("group", "gw")["state"] == "MASTER", explain(lab)
    assert r2.status("group", "gw")["state"] == "BACKUP", explain(lab)
    assert lab.ping(lab.vip()) and lab.ping(lab.wan_vip())
    return r1, r2, samples, files


def test_group_members_fail_over_and_come_back_together():
    """lan and wan in one group: router 1's WAN link down takes the LAN VIP
    to router 2 as well; back up, both return to router 1 together. Never
    a steady split (LAN on one router, WAN on the other) or two holders."""
    with Lab(routers=2, wan=True) as lab:
        _, _, samples, _ = run_group_scenario(lab)
        lan, wan = lab.vip(), lab.wan_vip()
        duration = samples[-1][0] - samples[0][0]
        assert len(samples) > duration / 0.2, \
            f"{len(samples)} samples in {duration:.1f} s: too few to see a split"

        def split(holders):
            return bool(holders[lan]) and bool(holders[wan]) and holders[lan] != holders[wan]

        def doubled(holders):
            return len(holders[lan]) > 1 or len(holders[wan]) > 1

        for name, bad in (("split (LAN and WAN VIPs on different routers)", split),
                          ("two holders of a VIP", doubled)):
            longest, start = longest_bad_window(samples, bad)
            around = [(round(t - samples[0][0], 3), h) for t, h in samples
                      if start is not None and start - 0.1 <= t <= start + longest + 0.1]
            assert longest <= 0.5, f"{name} for {longest:.3f} s: {around}\n" + explain(lab)


def test_group_notify_and_fifo_record_the_group_transitions():
    """The group's generic notify runs `SCRIPT GROUP gw STATE 0` on each
    group transition, and the FIFO gets `GROUP "gw" STATE 0`, on the router
    that moves (1: BACKUP, MASTER, FAULT, BACKUP, MASTER) and on the other
    (2: BACKUP, MASTER, BACKUP); members' lines follow the same states."""
    with Lab(routers=2, wan=True) as lab:
        _, _, _, files = run_group_scenario(lab)
        states = {1: ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"],
                  2: ["BACKUP", "MASTER", "BACKUP"]}
        for router, (notify_out, fifo_out) in files.items():
            want = [f"GROUP gw {state} 0" for state in states[router]]
            got = wait_lines(notify_out, want, 5.0)
            assert got == want, f"r{router} group notify: {got}\n" + explain(lab)
            want_fifo = [f'GROUP "gw" {state} 0' for state in states[router]]
            wait_until(lambda: len([l for l in lines(fifo_out) if l.startswith("GROUP ")])
                       >= len(want_fifo), 5.0)
            fifo = lines(fifo_out)
            assert [l for l in fifo if l.startswith("GROUP ")] == want_fifo, \
                f"r{router} FIFO: {fifo}\n" + explain(lab)
            for member in ("lan", "wan"):
                member_states = [l.split()[2] for l in fifo
                                 if l.startswith(f'INSTANCE "{member}" ')]
                assert member_states == states[router], \
                    f"r{router} FIFO lines of {member}: {fifo}\n" + explain(lab)


def test_group_tracker_applies_to_every_member():
    """A group's `track-interface eth1 weight -60` counts in each member's
    priority: two LAN instances (vrid 51 and 53) of group gw on router 1
    both run at 90 while eth1 is down, and both VIPs move to router 2;
    eth1 up, both are 150 again and come back."""
    with Lab(routers=2, wan=True) as lab:
        vips = [lab.vip(), lab.vip(1)]

        def instances(priority):
            return [lab.params(name="lan", vrid=51, priority=priority, vips=[f"{vips[0]}/24"]),
                    lab.params(name="voice", vrid=53, priority=priority,
                               vips=[f"{vips[1]}/24"])]

        tail = "group gw\n  member lan\n  member voice\n  track-interface eth1 weight -60\n"
        r1 = lab.tinyvrrp(1, instances=instances(150), tail=tail)
        lab.tinyvrrp(2, instances=instances(100))
        on = {router: {vip: [router] for vip in vips} for router in (1, 2)}
        assert wait_until(lambda: lab.holders_of(vips, routers=[1, 2]) == on[1],
                          ELECTION_TIMEOUT), explain(lab)
        lab.set_link(1, up=False, dev="eth1")
        assert wait_until(lambda: lab.holders_of(vips, routers=[1, 2]) == on[2], takeover_s()), \
            f"{lab.holders_of(vips, routers=[1, 2])}\n" + explain(lab)
        for name in ("lan", "voice"):
            status_is(r1, name=name, state="BACKUP", priority="90", base_priority="150")
        lab.set_link(1, up=True, dev="eth1")
        assert wait_until(lambda: lab.holders_of(vips, routers=[1, 2]) == on[1], takeover_s()), \
            f"{lab.holders_of(vips, routers=[1, 2])}\n" + explain(lab)
        for name in ("lan", "voice"):
            status_is(r1, name=name, state="MASTER", priority="150", base_priority="150")
        assert lab.ping(vips[0]) and lab.ping(vips[1])


# 5. A hanging script neither blocks the loop nor outlives its timeout.

def pids_matching(pattern: str) -> list[int]:
    out = run("pgrep", "-f", pattern, check=False).stdout
    return [int(pid) for pid in out.split()]


def watch_pids(patterns: dict[str, str], seconds: float):
    """Samples `pgrep -f` of each pattern every 0.1 s for `seconds`:
    {(what, pid): [first seen, last seen]}, the most of each seen at once,
    and when sampling ended (time.monotonic)."""
    seen: dict[tuple[str, int], list[float]] = {}
    most = {what: 0 for what in patterns}
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        now = time.monotonic()
        for what, pattern in patterns.items():
            pids = pids_matching(pattern)
            most[what] = max(most[what], len(pids))
            for pid in pids:
                seen.setdefault((what, pid), [now, now])[1] = now
        time.sleep(0.1)
    return seen, most, time.monotonic()


def assert_killed_in_time(seen, ended: float, lifetime: float):
    """Every process seen lived less than `lifetime`; one that started
    early enough is gone by the end."""
    for (what, pid), (first, last) in seen.items():
        assert last - first < lifetime, f"{what} {pid} lived {last - first:.1f} s: not killed"
        if first < ended - lifetime:
            assert last < ended - 0.5, f"{what} {pid} still runs: not killed"


def kill_leftovers(patterns):
    """Our test's own leftovers (unique markers), by pid."""
    for pattern in patterns.values():
        for pid in pids_matching(pattern):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def hang_patterns(hang, marker):
    return {"sleep": f"sleep {marker}", "shell": str(hang)}


def test_hanging_script_is_killed_at_its_timeout_and_adverts_keep_their_pace():
    """A script that ignores SIGTERM and sleeps (interval 2 s, timeout 1 s,
    weight -10) on the master at 100 ms adverts: the adverts keep their
    pace (no gap of 1.5 intervals), every run is killed (its process group,
    the sleeping child too, SIGKILL 2 s after SIGTERM) and counts as a
    failure (priority 140), and a run still going at the next interval is
    skipped (never two at once)."""
    marker = f"1000.{os.getpid() % 10000}{next(_MARKERS)}"
    with Lab(routers=2) as lab:
        # The shell forks the sleep: killing the shell alone would leave it.
        hang = lab.script("hang.sh", f"trap '' TERM\nsleep {marker}\nexit 1\n")
        patterns = hang_patterns(hang, marker)
        head = f"script hang\n  exec {hang}\n  interval 2s\n  timeout 1s\n"
        try:
            master, backup = start_pair(lab, extra=["track-script hang weight -10"], head=head)
            with lab.capture() as capture:
                seen, most, ended = watch_pids(patterns, 9.0)
            adverts = [e for e in capture.events() if e.kind == "vrrp"]
            ours = [e for e in adverts if e.src == lab.router_ip(1)]
            assert len(ours) > 50, f"{len(ours)} adverts from the master in 9 s\n" + explain(lab)
            gaps = [b.time - a.time for a, b in zip(ours, ours[1:])]
            print(f"largest advert gap while the script hung: {max(gaps) * 1000:.1f} ms over {len(gaps)} gaps")
            assert max(gaps) < 1.5 * ADVERT_MS / 1000, \
                f"largest gap between the master's adverts: {max(gaps):.3f} s\n" + explain(lab)
            assert not [e for e in adverts if e.src == lab.router_ip(2)], \
                "router 2 sent adverts: it took over\n" + explain(lab)
            # Failed at the first timeout and never succeeded again.
            priorities = [e.priority for e in ours]
            assert 140 in priorities, f"never priority 140: {set(priorities)}\n" + explain(lab)
            assert set(priorities[priorities.index(140):]) == {140}, priorities
            status_is(master, state="MASTER", priority="140")
            script = master.status("script", "hang")
            assert script["state"] == "KO" and int(script["timeouts"]) >= 2 \
                and int(script["skipped"]) >= 1, script
            assert most == {"sleep": 1, "shell": 1}, \
                f"most runs at once: {most} (a run still going must be skipped)"
            runs = {pid for what, pid in seen if what == "shell"}
            assert len(runs) >= 2, f"runs seen in 9 s: {runs}: the script is not run again"
            # SIGTERM at 1 s is ignored; SIGKILL follows 2 s later.
            assert_killed_in_time(seen, ended, 1.0 + 2.0 + MARGIN)
            assert master.alive() and backup.alive(), explain(lab)
        finally:
            kill_leftovers(patterns)


def test_hanging_script_with_weight_0_is_fault_at_its_timeout():
    """The same without the trap and with weight 0: the script succeeds
    until a flag file exists, then hangs. The master goes FAULT at the
    first timeout, the VIP moves, and SIGTERM to the process group ends
    each run (the shell and its sleeping child) at its timeout. (An
    unweighted script keeps its instance from becoming master until its
    first result, so the hang starts only once router 1 is master.)"""
    marker = f"1000.{os.getpid() % 10000}{next(_MARKERS)}"
    with Lab(routers=2) as lab:
        flag = lab.dir / "hang-flag"
        hang = lab.script("hang.sh", f"test -e {flag} || exit 0\nsleep {marker}\nexit 0\n")
        patterns = hang_patterns(hang, marker)
        head = f"script hang\n  exec {hang}\n  interval 2s\n  timeout 1s\n"
        try:
            master, _ = start_pair(lab, extra=["track-script hang"], head=head)
            status_is(master, state="MASTER")
            flag.touch()
            # The next run starts within an interval and times out 1 s later.
            assert lab.wait_holder(2, 2.0 + 1.0 + takeover_s(), routers=[1, 2]), explain(lab)
            status_is(master, state="FAULT")
            assert lab.ping()
            seen, most, ended = watch_pids(patterns, 5.0)
            assert most == {"sleep": 1, "shell": 1}, most
            assert_killed_in_time(seen, ended, 1.0 + MARGIN)
            status_is(master, state="FAULT")
            script = master.status("script", "hang")
            assert script["state"] == "KO" and int(script["timeouts"]) >= 2, script
        finally:
            kill_leftovers(patterns)


def test_what_a_timed_out_script_leaves_behind_gets_sigkill_2s_later():
    """A script whose shell ends on SIGTERM but whose child ignores it (as
    a daemon a script starts might): the shell goes at the timeout, and the
    child still gets SIGKILL, to the process group, 2 s later."""
    marker = f"1000.{os.getpid() % 10000}{next(_MARKERS)}"
    with Lab(routers=2) as lab:
        hang = lab.script("hang.sh", f"(trap '' TERM; exec sleep {marker}) &\nwait\nexit 1\n")
        patterns = hang_patterns(hang, marker)
        head = f"script hang\n  exec {hang}\n  interval 10s\n  timeout 1s\n"
        try:
            master, _ = start_pair(lab, extra=["track-script hang weight -10"], head=head)
            seen, _, ended = watch_pids(patterns, 6.0)
            sleeps = [pid for what, pid in seen if what == "sleep"]
            assert sleeps, "the script's child was never seen\n" + explain(lab)
            # SIGTERM at 1 s ends the shell only; SIGKILL follows 2 s later.
            assert_killed_in_time(seen, ended, 1.0 + 2.0 + MARGIN)
            assert master.alive(), explain(lab)
        finally:
            kill_leftovers(patterns)


# 6. Flaps: every transition notified, in order, by every channel.

FLAPS = 20


def test_flapping_tracked_interface_notifies_every_transition_in_order():
    """A lone router (1 s adverts, priority 150, preempt) tracking eth1:
    BACKUP at start, MASTER ~3.4 s later; 20 quick eth1 flaps (down 50 ms,
    up 50 ms) each give FAULT then BACKUP (Master_Down_Interval is far
    longer than 50 ms); MASTER again at the end. The per-state scripts, the
    generic notify and the FIFO record exactly that, in order, and each
    transition's per-state script runs before its generic notify."""
    with Lab(routers=1, wan=True) as lab:
        order = lab.dir / "order.out"
        order.write_text("")
        states_out, notify_out = lab.dir / "states.out", lab.dir / "notify.out"
        states_out.write_text("")
        notify_out.write_text("")
        states = lab.script("states.sh", f'echo "$*" >> {states_out}\n'
                                         f'echo "state $*" >> {order}\n')
        notify = lab.script("notify.sh", f'echo "$*" >> {notify_out}\n'
                                         f'echo "notify $*" >> {order}\n')
        fifo, fifo_out = lab.dir / "notify.fifo", lab.dir / "fifo.out"
        lab.fifo_reader(1, fifo, fifo_out)
        extra = ["track-interface eth1", f"notify-master {states} M",
                 f"notify-backup {states} B", f"notify-fault {states} F",
                 f"notify-stop {states} S"]
        node = lab.tinyvrrp(1, priority=150, advert_ms=1000, notify=str(notify), extra=extra,
                            head=f"notify-fifo {fifo}\n")
        master_down = node.params.master_down_s()
        assert wait_until(lambda: len(lines(notify_out)) >= 2, master_down + 3.0), explain(lab)
        assert lines(notify_out) == ["INSTANCE lan BACKUP 150", "INSTANCE lan MASTER 150"], \
            explain(lab)
        for _ in range(FLAPS):
            lab.set_link(1, up=False, dev="eth1")
            time.sleep(0.05)
            lab.set_link(1, up=True, dev="eth1")
            time.sleep(0.05)
        sequence = ["BACKUP", "MASTER", *["FAULT", "BACKUP"] * FLAPS, "MASTER"]
        want_notify = [f"INSTANCE lan {state} 150" for state in sequence]
        got = wait_lines(notify_out, want_notify, master_down + 10.0)
        assert got == want_notify, "generic notify:\n" + "\n".join(got) + "\n" + explain(lab)
        want_fifo = [f'INSTANCE "lan" {state} 150' for state in sequence]
        got = wait_lines(fifo_out, want_fifo, 3.0)
        assert got == want_fifo, "FIFO:\n" + "\n".join(got) + "\n" + explain(lab)
        want_states = [state[0] for state in sequence]
        got = wait_lines(states_out, want_states, 3.0)
        assert got == want_states, f"per-state scripts: {got}\n" + explain(lab)
        want_order = [line for state in sequence
                      for line in (f"state {state[0]}", f"notify INSTANCE lan {state} 150")]
        assert lines(order) == want_order, \
            "per-state script, then generic notify, per transition:\n" \
            + "\n".join(lines(order)) + "\n" + explain(lab)
        status_is(node, state="MASTER", priority="150")
        assert node.terminate() == 0, explain(lab)
        assert wait_until(lambda: lines(states_out)[-1:] == ["S"], 3.0), \
            f"notify-stop did not run: {lines(states_out)[-3:]}"


# 7. A tracked interface deleted and created again.

def test_tracked_interface_deleted_is_fault_until_created_again_and_up():
    """The tracked eth1 deleted: FAULT, the VIP moves. Created again but
    down: still FAULT. Up (with carrier, on its switch port): the instance
    follows the name, leaves FAULT and preempts back."""
    with Lab(routers=2, wan=True) as lab:
        master, _ = start_pair(lab, extra=["track-interface eth1"])
        lab.delete_link(1, dev="eth1")
        assert lab.wait_holder(2, takeover_s(), routers=[1, 2]), explain(lab)
        status_is(master, state="FAULT")
        assert lab.ping()
        lab.create_link(1, dev="eth1", up=False)
        steady(lab, 2, 1.0)
        status_is(master, state="FAULT")
        lab.set_link(1, up=True, dev="eth1")
        assert lab.wait_holder(1, takeover_s(), routers=[1, 2]), explain(lab)
        status_is(master, state="MASTER", priority="150")
        assert lab.ping()
        assert master.alive(), explain(lab)


# 9. Reload keeps what did not change.

def test_reload_keeps_scripts_groups_and_state_and_applies_a_new_base_priority():
    """A lone master in a group, tracking a script: SIGHUP with the same
    config notifies nothing and does not restart the script (its run count
    keeps growing from where it was, its state stays OK); a new base
    priority applies in place, still MASTER, with no notification."""
    with Lab(routers=1) as lab:
        ok = lab.script("ok.sh", "exit 0\n")
        notify, notify_out = lab.recorder("notify.sh")
        head = f"script ok\n  exec {ok}\n  interval 200ms\n"
        tail = f"group gw\n  member lan\n  notify {notify}\n"
        node = lab.tinyvrrp(1, priority=150, advert_ms=100, notify=str(notify),
                            extra=["track-script ok"], head=head, tail=tail)
        want = ["INSTANCE lan BACKUP 150", "GROUP gw BACKUP 0",
                "INSTANCE lan MASTER 150", "GROUP gw MASTER 0"]
        assert wait_lines(notify_out, want, 5.0) == want, explain(lab)
        # Ten runs or more: a script started afresh by the reload would
        # show about five a second later.
        time.sleep(2.0)
        before = node.status("script", "ok")
        assert before["state"] == "OK" and int(before["runs"]) >= 10, before
        node.signal(signal.SIGHUP)
        time.sleep(1.0)
        assert lines(notify_out) == want, "an unchanged reload notified:\n" + explain(lab)
        after = node.status("script", "ok")
        assert after["state"] == "OK" and int(after["runs"]) > int(before["runs"]), \
            f"the script restarted: {before} then {after}"
        node.config.write_text(node.config.read_text().replace("priority 150", "priority 160"))
        node.signal(signal.SIGHUP)
        status_is(node, state="MASTER", priority="160", base_priority="160")
        time.sleep(0.5)
        assert lines(notify_out) == want, explain(lab)
        assert node.terminate() == 0, explain(lab)
