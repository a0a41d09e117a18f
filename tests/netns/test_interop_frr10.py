"""The v3 checksum form against FRR 10 (Debian 13, unpacked by
scripts/setup-frr10), whose `checksum-with-ipv4-pseudoheader` switch
Debian 12's FRR 8.4 lacks. test_interop.py covers the switch on (FRR's
default) with FRR 8.4; here both positions with FRR 10.

Bounds are generous: they fail on a real bug (two masters, no takeover),
not on a slow machine.
"""

import time

from lab import Lab, assert_steady, explain, frr10_missing, missing_prerequisites

MISSING = missing_prerequisites() + frr10_missing()


def test_switch_off_pairs_with_as_v2_in_both_roles():
    """FRR's `no vrrp N checksum-with-ipv4-pseudoheader` and our
    `v3-checksum as-v2`: FRR accepts our adverts as backup (else it would
    become a second master), we accept its adverts, kill -9 and preemption
    work both ways, and no form mismatch is counted."""
    with Lab(routers=2) as lab:
        ours = lab.tinyvrrp(1, priority=150, advert_ms=100, checksum_as_v2=True)
        assert lab.wait_holder(1, 8.0), explain(lab)
        frr = lab.frr(2, frr10=True, priority=100, advert_ms=100, checksum_as_v2=True)
        time.sleep(1.0)
        assert_steady(lab, 1)
        ours.kill9()
        assert lab.wait_holder(2, 8.0, routers=[2]), explain(lab)
        ours = lab.tinyvrrp(1, priority=150, advert_ms=100, checksum_as_v2=True)
        assert lab.wait_holder(1, 8.0), explain(lab)
        assert_steady(lab, 1)
        counters = ours.status()
        assert counters["checksum-form-mismatches"] == "0", counters
        assert int(counters["advertisement-rcvd"]) > 0, "FRR never advertised to us"
        # FRR as master, tinyvrrp following it as backup.
        frr.kill9()
        assert ours.terminate() == 0
        lab.frr(2, frr10=True, priority=200, advert_ms=100, checksum_as_v2=True)
        assert lab.wait_holder(2, 8.0, routers=[2]), explain(lab)
        ours = lab.tinyvrrp(1, priority=150, advert_ms=100, checksum_as_v2=True)
        time.sleep(1.0)
        assert_steady(lab, 2)
        counters = ours.status()
        assert counters["state"] == "BACKUP" and counters["checksum-form-mismatches"] == "0", counters


def test_switch_off_against_the_rfc_form_is_counted_and_named():
    """FRR 10 with the switch off as master, tinyvrrp with the RFC form as
    backup: we still follow it, count every advert in the other form and
    say once what to change."""
    with Lab(routers=2) as lab:
        lab.frr(1, frr10=True, priority=150, advert_ms=100, checksum_as_v2=True)
        assert lab.wait_holder(1, 8.0, routers=[1]), explain(lab)
        ours = lab.tinyvrrp(2, priority=100, advert_ms=100)
        time.sleep(1.0)
        assert_steady(lab, 1)
        counters = ours.status()
        assert counters["state"] == "BACKUP" and int(counters["checksum-form-mismatches"]) > 0
        assert "sends v3 checksums without the pseudo-header" in ours.log.read_text()


def test_switch_on_pairs_with_the_rfc_form():
    """FRR 10 at its default (pseudo-header on) with tinyvrrp's default."""
    with Lab(routers=2) as lab:
        ours = lab.tinyvrrp(1, priority=150, advert_ms=100)
        assert lab.wait_holder(1, 8.0), explain(lab)
        lab.frr(2, frr10=True, priority=100, advert_ms=100)
        time.sleep(1.0)
        assert_steady(lab, 1)
        ours.kill9()
        assert lab.wait_holder(2, 8.0, routers=[2]), explain(lab)
        ours = lab.tinyvrrp(1, priority=150, advert_ms=100)
        assert lab.wait_holder(1, 8.0), explain(lab)
        assert_steady(lab, 1)
        assert ours.status()["checksum-form-mismatches"] == "0"
