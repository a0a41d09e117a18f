"""The packaged service files, run for real against the release binary:
busybox's init script under busybox sh and start-stop-daemon, and OpenWrt's
procd script and hotplug bridge, inside the lab's namespaces.
"""

import os
import shutil
import subprocess
import time

from lab import REPO, Lab, missing_prerequisites, tinyvrrp_bin, wait_until

MISSING = missing_prerequisites()
if shutil.which("busybox") is None:
    MISSING.append("busybox (Debian busybox-static)")

INIT_SCRIPT = REPO / "board" / "busybox" / "S50tinyvrrp"
OPENWRT_FILES = REPO / "board" / "openwrt" / "tinyvrrp" / "files"
TIMEOUT = 10.0


def busybox_env(lab):
    """PATH with only busybox applets, as on a busybox router."""
    bin_dir = lab.dir / "busybox-bin"
    if not bin_dir.exists():
        bin_dir.mkdir()
        subprocess.run(["busybox", "--install", "-s", str(bin_dir)], check=True)
    return {
        "PATH": str(bin_dir),
        "DAEMON": tinyvrrp_bin(),
        "CONFIG": str(lab.dir / "tinyvrrp.conf"),
        "PIDFILE": str(lab.dir / "tinyvrrp.pid"),
        "LOGFILE": str(lab.dir / "tinyvrrp.log"),
        "SOCKET": str(lab.dir / "tinyvrrp.sock"),
    }


def init(lab, env, action):
    return lab.exec(1, shutil.which("busybox"), "sh", str(INIT_SCRIPT), action, env=env)


def write_config(env, lab, priority):
    with open(env["CONFIG"], "w") as f:
        f.write(
            "instance lan\n  interface eth0\n  vrid 51\n"
            f"  priority {priority}\n  advert 100ms\n  vip {lab.vip()}/24\n"
        )


def instance_row(tables: str) -> list[str]:
    """The cells of instance lan's row in `tinyvrrp status` tables."""
    return next(line.split() for line in tables.splitlines() if line.startswith("lan "))


def status_duration(status) -> str:
    """The IN-STATE-MS cell, which changes from one call to the next."""
    return instance_row(status.stdout)[6]


def daemon_pid(env):
    return int(open(env["PIDFILE"]).read())


def test_busybox_init_start_status_reload_stop_leaves_no_vip():
    with Lab(routers=2) as lab:
        env = busybox_env(lab)
        backup = lab.tinyvrrp(2, priority=100)

        with open(env["CONFIG"], "w") as f:
            f.write("instance lan\n  interface eth0\n  vrid 300\n")
        bad = init(lab, env, "start")
        assert bad.returncode == 2 and f"{env['CONFIG']}:3:" in bad.stderr, bad
        assert not os.path.exists(env["PIDFILE"])

        write_config(env, lab, 150)
        started = init(lab, env, "start")
        assert started.returncode == 0, started
        pid = daemon_pid(env)
        assert lab.wait_holder(1, TIMEOUT), open(env["LOGFILE"]).read()
        assert "already running" in init(lab, env, "start").stdout
        assert daemon_pid(env) == pid

        status = init(lab, env, "status")
        assert status.returncode == 0 and f"pid {pid}" in status.stdout, status
        assert instance_row(status.stdout)[5:8] == ["MASTER", status_duration(status), "150"]

        # Reload over the status socket: the same process, the new
        # priority, no flap.
        write_config(env, lab, 120)
        reloaded = init(lab, env, "reload")
        assert (reloaded.returncode, reloaded.stdout) == (0, "reloaded\n"), reloaded
        status = init(lab, env, "status")
        assert instance_row(status.stdout)[5:8] == ["MASTER", status_duration(status), "120"]
        assert daemon_pid(env) == pid
        assert lab.holders() == [1]

        # A bad config is refused before the daemon sees it.
        with open(env["CONFIG"], "a") as f:
            f.write("  bogus 1\n")
        refused = init(lab, env, "reload")
        assert refused.returncode == 2 and "unknown" in refused.stderr, refused
        assert daemon_pid(env) == pid and lab.holders() == [1]

        write_config(env, lab, 120)
        stopped = init(lab, env, "stop")
        assert stopped.returncode == 0, stopped
        assert not os.path.exists(f"/proc/{pid}")
        assert not os.path.exists(env["PIDFILE"])
        assert lab.vip() not in lab.addresses(1), "the init script's stop left the VIP behind"
        assert lab.wait_holder(2, TIMEOUT), backup.log_tail()
        assert init(lab, env, "status").returncode == 3

        assert init(lab, env, "restart").returncode == 0
        assert lab.wait_holder(1, TIMEOUT)
        assert init(lab, env, "stop").returncode == 0
        assert lab.vip() not in lab.addresses(1)


PROCD_STUBS = """
procd_open_instance() { echo open; }
procd_set_param() { echo "param $*"; }
procd_close_instance() { echo close; }
procd_add_reload_trigger() { echo "reload-trigger $*"; }
. {init}
CONFIG_FILE={config}
start_service
service_triggers
"""


def procd_declarations(config) -> list[str]:
    script = PROCD_STUBS.replace("{init}", str(OPENWRT_FILES / "tinyvrrp.init"))
    script = script.replace("{config}", str(config))
    out = subprocess.run(["busybox", "sh", "-c", script], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_openwrt_procd_service_and_hotplug_events():
    with Lab(routers=2) as lab:
        default = lab.dir / "default-config"
        shutil.copy(OPENWRT_FILES / "tinyvrrp.config", default)
        assert procd_declarations(default) == ["reload-trigger tinyvrrp"], "no instance, nothing to run"

        uci = lab.dir / "tinyvrrp.uci"
        uci.write_text(
            "config instance 'lan'\n\toption interface 'eth0'\n\toption vrid '51'\n"
            f"\toption advert '100ms'\n\toption priority '150'\n\tlist vip '{lab.vip()}/24'\n"
            "config group 'gw'\n\tlist member 'lan'\n"
        )
        declared = procd_declarations(uci)
        assert declared[0] == "open" and declared[-2:] == ["close", "reload-trigger tinyvrrp"]
        params = {line.split()[1]: line.split()[2:] for line in declared if line.startswith("param ")}
        assert params["respawn"] and params["reload_signal"] == ["HUP"] and params["stderr"] == ["1"]
        command = params["command"]
        assert command[:2] == ["/usr/sbin/tinyvrrp", "run"]

        # Run exactly what procd would run, with the hotplug bridge calling
        # a recorder in place of /sbin/hotplug-call.
        events = lab.dir / "hotplug-events"
        recorder = lab.dir / "hotplug-call"
        recorder.write_text(f'#!/bin/sh\necho "$1 $ACTION $TYPE $NAME" >> {events}\n')
        recorder.chmod(0o755)
        bridge = str(OPENWRT_FILES / "notify-hotplug")
        assert command[-2:] == ["--notify-all", "/usr/libexec/tinyvrrp/notify-hotplug"]
        argv = [tinyvrrp_bin(), *command[1:-1], bridge]
        os.environ["HOTPLUG_CALL"] = str(recorder)
        try:
            node = lab.tinyvrrp(1, argv=argv)
        finally:
            del os.environ["HOTPLUG_CALL"]
        assert lab.wait_holder(1, TIMEOUT), node.log_tail()

        def lines():
            return events.read_text().splitlines() if events.exists() else []

        # A pulled cable is a fault; plugged back, the instance starts again.
        # Its sync group follows, told with TYPE=GROUP as OpenWrt's
        # keepalived package does.
        lab.set_port(1, up=False)
        assert wait_until(lambda: lab.holders() == [], TIMEOUT), node.log_tail()
        assert wait_until(lambda: "tinyvrrp NOTIFY_FAULT GROUP gw" in lines(), TIMEOUT), lines()
        lab.set_port(1, up=True)
        assert lab.wait_holder(1, TIMEOUT), node.log_tail()
        assert node.terminate() == 0

        expected = [
            f"tinyvrrp NOTIFY_{state} {kind}"
            for state in ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "STOP"]
            for kind in ["INSTANCE lan", "GROUP gw"]
        ]
        assert wait_until(lambda: lines() == expected, TIMEOUT), lines()
        time.sleep(0.2)
        assert lines() == expected
