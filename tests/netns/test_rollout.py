"""Changing the VIPs of a running cluster one router at a time (README,
"Changing the VIPs of a running cluster"): edit one router's config,
reload it, then the next. While the lists differ, an advert whose list
shares an address with ours takes part in the election as if they
matched (RFC 5798 §7.1 makes verifying the list optional), so the
cluster keeps one master; a list with nothing in common is another
virtual router on our VRID, dropped and logged once. And what keepalived
2.2.7 does in the same rollout.

Each rollout runs with a client pinging the VIP every 10 ms. A test prints
its figures (`ROLLOUT ...`, shown with `pytest -s`) before it asserts, so
a run against another binary (TINYVRRP_BIN) measures it too. Bounds are
generous: they fail on a real bug (a lost reply, a backup's advert, two
holders), not on a slow machine.
"""

import dataclasses
import os
import re
import signal
import subprocess
import time

import pytest

from lab import Lab, explain, keepalived_config, missing_prerequisites, tinyvrrp_bin, wait_until

MISSING = missing_prerequisites()

ADVERT_MS = 100
ELECTION_TIMEOUT = 5.0
# The pause after each reload: many times the backup's Master_Down_Interval
# (0.36 s), which is when a backup that drops its master's adverts takes over.
SETTLE_S = 2.5
SHARED_LINE = "an address in common"
DISJOINT_LINE = "no address in common"


class Pinger:
    """The client pings `address` every 10 ms, `count` times, from start."""

    def __init__(self, lab: Lab, address: str, count: int):
        self.out = lab.dir / f"ping-{time.monotonic_ns()}.out"
        with open(self.out, "w") as out:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", lab.client_ns(), "ping", "-n", "-i", "0.01", "-W", "1",
                 "-c", str(count), address], stdout=out, stderr=subprocess.STDOUT)

    def running(self) -> bool:
        return self.proc.poll() is None

    def result(self) -> tuple[int, int]:
        """(sent, answered), once it has sent them all."""
        self.proc.wait(timeout=60)
        text = self.out.read_text()
        found = re.search(r"(\d+) packets transmitted, (\d+) received", text)
        assert found, text
        return int(found[1]), int(found[2])


def reload_tinyvrrp(node, vips: list[str]):
    node.params = dataclasses.replace(node.params, vips=vips)
    node.config.write_text(node.params.tinyvrrp_config())
    result = subprocess.run([tinyvrrp_bin(), "reload", "--socket", str(node.socket)],
                            capture_output=True, text=True, timeout=10)
    assert (result.returncode, result.stdout) == (0, "reloaded\n"), result
    assert node.status_json()["instances"][0]["vips"] == [v.split("/")[0] for v in vips]


def reload_keepalived(node, vips: list[str]):
    """keepalived's reload: SIGHUP to its parent, which passes it on."""
    node.params = dataclasses.replace(node.params, vips=vips)
    (node.dir / "keepalived.conf").write_text(keepalived_config([node.params]))
    os.kill(node.proc.pid, signal.SIGHUP)


def sample_for(lab, seconds: float, vips: list[str], samples: list[dict]):
    """Who holds each of `vips`, looked at again and again for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(lab.holders_of(vips, routers=[1, 2]))


def address_list_errors(node) -> int:
    return node.status_json()["instances"][0]["statistics"]["address-list-errors"]


def lines(node, marker: str) -> list[str]:
    return [l for l in node.log.read_text().splitlines() if marker in l]


ROLLOUTS = {
    # name: (list before, list after, which router reloads first)
    "add-master-first": ([0], [0, 1], "master"),
    "add-backup-first": ([0], [0, 1], "backup"),
    "remove-master-first": ([0, 1], [0], "master"),
    "remove-backup-first": ([0, 1], [0], "backup"),
}


@pytest.mark.parametrize("rollout", list(ROLLOUTS))
def test_a_vip_change_rolled_router_by_router_keeps_one_master(rollout):
    before, after, first = ROLLOUTS[rollout]
    with Lab(routers=2) as lab:
        listed = lambda ns: [f"{lab.vip(n)}/24" for n in ns]
        nodes = {1: lab.tinyvrrp(1, priority=150, advert_ms=ADVERT_MS, vips=listed(before)),
                 2: lab.tinyvrrp(2, priority=100, advert_ms=ADVERT_MS, vips=listed(before))}
        assert lab.wait_holder(1, ELECTION_TIMEOUT, routers=[1, 2]), explain(lab)
        assert wait_until(lambda: lab.ping(), 3.0), "the client cannot reach the VIP"
        order = [nodes[1], nodes[2]] if first == "master" else [nodes[2], nodes[1]]
        vips = [lab.vip(0), lab.vip(1)]
        samples: list[dict] = []
        with lab.capture() as capture:
            # Long enough for both reloads and their pauses.
            pinger = Pinger(lab, lab.vip(), count=int((3 * SETTLE_S + 2) * 100))
            sample_for(lab, SETTLE_S / 2, vips, samples)
            for node in order:
                reload_tinyvrrp(node, listed(after))
                sample_for(lab, SETTLE_S, vips, samples)
            assert pinger.running(), "the pings ended before the rollout did"
            sent, answered = pinger.result()
        adverts = [e for e in capture.events() if e.kind == "vrrp"]
        backup_adverts = sum(1 for e in adverts if e.src == lab.router_ip(2))
        two_holders = sum(1 for s in samples if len(s[lab.vip()]) > 1)
        figures = (f"ROLLOUT {rollout}: {sent - answered} of {sent} replies lost, "
                   f"{backup_adverts} adverts from the backup, {two_holders} of {len(samples)} "
                   f"samples with two holders of {lab.vip()}")
        print(figures)
        assert (sent - answered, backup_adverts, two_holders) == (0, 0, 0), \
            figures + "\n" + explain(lab)
        for sample in samples:
            assert sample[lab.vip()] == [1], sample
            assert sample[lab.vip(1)] in ([], [1]), sample
        # The master advertised the new list at the end, and holds it.
        assert adverts[-1].src == lab.router_ip(1)
        assert adverts[-1].addresses == [lab.vip(n) for n in after]
        assert lab.holders_of(vips, routers=[1, 2]) == {
            lab.vip(n): [1] if n in after else [] for n in (0, 1)}
        # The backup counted the master's adverts while the lists differed,
        # logged that once, and counts no more now that they match.
        backup = nodes[2]
        counted = address_list_errors(backup)
        assert counted > 0.5 * SETTLE_S * 1000 / ADVERT_MS, counted
        time.sleep(0.5)
        assert address_list_errors(backup) == counted
        assert len(lines(backup, SHARED_LINE)) == 1, explain(lab)
        line = lines(backup, SHARED_LINE)[0]
        assert line.startswith("WARN"), line
        theirs, ours = (before, after) if first == "backup" else (after, before)
        listed_plain = lambda ns: ",".join(lab.vip(n) for n in ns)
        assert f"{lab.router_ip(1)} advertises {listed_plain(theirs)}, we {listed_plain(ours)}" \
            in line, line
        assert lines(nodes[1], SHARED_LINE) == []
        for node in nodes.values():
            assert node.log.read_text().count("entering MASTER") == (1 if node is nodes[1] else 0)
            assert lines(node, DISJOINT_LINE) == []


@pytest.mark.parametrize("vmac", [False, True], ids=["no-vmac", "vmac"])
def test_disjoint_lists_on_one_vrid_make_two_masters_and_each_says_so_once(vmac):
    with Lab(routers=2) as lab:
        nodes = {1: lab.tinyvrrp(1, priority=150, advert_ms=ADVERT_MS, vmac=vmac,
                                 vips=[f"{lab.vip(0)}/24"]),
                 2: lab.tinyvrrp(2, priority=100, advert_ms=ADVERT_MS, vmac=vmac,
                                 vips=[f"{lab.vip(1)}/24"])}
        held = lambda: lab.holders_of([lab.vip(0), lab.vip(1)], routers=[1, 2]) == {
            lab.vip(0): [1], lab.vip(1): [2]}
        assert wait_until(held, ELECTION_TIMEOUT), explain(lab)
        time.sleep(2.0)
        print(f"ROLLOUT disjoint vmac={vmac}: " + "; ".join(
            f"r{r} {n.status()['state']}, {address_list_errors(n)} address-list-errors, "
            f"{len(lines(n, DISJOINT_LINE))} line(s)" for r, n in nodes.items()))
        assert held(), explain(lab)
        for router, node in nodes.items():
            other = 3 - router
            assert node.status()["state"] == "MASTER"
            # About 20 adverts in 2 s, each counted.
            assert address_list_errors(node) >= 10
            [line] = lines(node, DISJOINT_LINE)
            assert line.startswith("ERROR"), line
            assert (f"{lab.router_ip(other)} advertises {lab.vip(other - 1)}, "
                    f"we {lab.vip(router - 1)}: ") in line, line
            assert line.endswith("with one virtual MAC") == vmac, line
            assert lines(node, SHARED_LINE) == []


def mixed_pair(lab, master: str, first: str):
    """tinyvrrp and keepalived with the lab's first VIP, `master` on r1 at
    priority 150 and the other on r2 at 100, settled and the VIP
    reachable. Returns ours, theirs, and each with its reload in the
    rollout's order, `first` first."""
    vips = [f"{lab.vip()}/24"]
    kinds = {"tinyvrrp": lab.tinyvrrp, "keepalived": lab.keepalived}
    routers = {master: (1, 150), ("keepalived" if master == "tinyvrrp" else "tinyvrrp"): (2, 100)}
    nodes = {kind: kinds[kind](router, priority=priority, advert_ms=ADVERT_MS, vips=vips)
             for kind, (router, priority) in sorted(routers.items(), key=lambda r: r[1])}
    assert lab.wait_holder(1, 10.0, routers=[1, 2]), explain(lab)
    assert wait_until(lambda: lab.ping(), 3.0), "the client cannot reach the VIP"
    ours, theirs = nodes["tinyvrrp"], nodes["keepalived"]
    order = [(ours, reload_tinyvrrp), (theirs, reload_keepalived)]
    if first == "keepalived":
        order.reverse()
    return ours, theirs, order


@pytest.mark.parametrize("first", ["tinyvrrp", "keepalived"])
def test_keepalived_as_backup_drops_a_differing_list_and_becomes_a_second_master(first):
    """What README "Changing the VIPs of a running cluster" reports:
    keepalived 2.2.7 verifies the list and drops the adverts of a master
    whose list differs, so it becomes master too until its list matches
    again; tinyvrrp, as master, takes keepalived's adverts (they share an
    address) as a lower master's and stays master."""
    with Lab(routers=2) as lab:
        listed = lambda ns: [f"{lab.vip(n)}/24" for n in ns]
        ours, theirs, order = mixed_pair(lab, "tinyvrrp", first)
        samples: list[dict] = []
        vips = [lab.vip(0), lab.vip(1)]
        with lab.capture() as capture:
            pinger = Pinger(lab, lab.vip(), count=2000)
            sample_for(lab, SETTLE_S / 2, vips, samples)
            node, reload = order[0]
            reload(node, listed([0, 1]))
            # keepalived drops our adverts and takes over.
            assert wait_until(lambda: lab.holders(routers=[1, 2]) == [1, 2], 5.0), explain(lab)
            split = len(samples)
            sample_for(lab, SETTLE_S, vips, samples)
            node, reload = order[1]
            reload(node, listed([0, 1]))
            # Once the lists match, keepalived hears the higher master again.
            assert wait_until(lambda: lab.holders(routers=[1, 2]) == [1], 5.0), explain(lab)
            sample_for(lab, SETTLE_S, vips, samples)
            assert pinger.running(), "the pings ended before the rollout did"
            sent, answered = pinger.result()
        events = capture.events()
        keepalived_adverts = sum(1 for e in events if e.kind == "vrrp"
                                 and e.src == lab.router_ip(2))
        two_holders = sum(1 for s in samples if len(s[lab.vip()]) > 1)
        print(f"ROLLOUT keepalived-backup, {first} first: {sent - answered} of {sent} replies "
              f"lost, {keepalived_adverts} adverts from keepalived, {two_holders} of "
              f"{len(samples)} samples with two holders of {lab.vip()}, tinyvrrp "
              f"{ours.status()['state']} with {address_list_errors(ours)} address-list-errors")
        assert all(len(s[lab.vip()]) == 2 for s in samples[split:split + 5]), samples
        assert keepalived_adverts > 0
        # tinyvrrp stayed master throughout and logged the pair once.
        assert ours.log.read_text().count("entering MASTER") == 1, explain(lab)
        assert len(lines(ours, SHARED_LINE)) == 1, explain(lab)
        assert address_list_errors(ours) > 0
        assert lab.holders_of(vips, routers=[1, 2]) == {lab.vip(0): [1], lab.vip(1): [1]}


@pytest.mark.parametrize("first", ["tinyvrrp", "keepalived"])
def test_tinyvrrp_as_backup_follows_a_keepalived_master_through_the_change(first):
    """The other mixed pair: keepalived's adverts share an address with our
    list, so tinyvrrp stays its backup in either order."""
    with Lab(routers=2) as lab:
        listed = lambda ns: [f"{lab.vip(n)}/24" for n in ns]
        ours, theirs, order = mixed_pair(lab, "keepalived", first)
        samples: list[dict] = []
        vips = [lab.vip(0), lab.vip(1)]
        with lab.capture() as capture:
            pinger = Pinger(lab, lab.vip(), count=int((3 * SETTLE_S + 2) * 100))
            sample_for(lab, SETTLE_S / 2, vips, samples)
            for node, reload in order:
                reload(node, listed([0, 1]))
                sample_for(lab, SETTLE_S, vips, samples)
            assert pinger.running(), "the pings ended before the rollout did"
            sent, answered = pinger.result()
        ours_adverts = sum(1 for e in capture.events() if e.kind == "vrrp"
                           and e.src == lab.router_ip(2))
        two_holders = sum(1 for s in samples if len(s[lab.vip()]) > 1)
        figures = (f"ROLLOUT keepalived-master, {first} first: {sent - answered} of {sent} "
                   f"replies lost, {ours_adverts} adverts from tinyvrrp, {two_holders} of "
                   f"{len(samples)} samples with two holders of {lab.vip()}")
        print(figures)
        assert (ours_adverts, two_holders) == (0, 0), figures + "\n" + explain(lab)
        assert ours.status()["state"] == "BACKUP"
        assert len(lines(ours, SHARED_LINE)) == 1, explain(lab)
        assert lab.holders_of(vips, routers=[1, 2]) == {lab.vip(0): [1], lab.vip(1): [1]}
