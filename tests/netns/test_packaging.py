"""The packaged service files, run for real against the release binary:
busybox's init script under busybox sh and start-stop-daemon, and OpenWrt's
procd script and hotplug bridge, inside the lab's namespaces; each also
without root (README, "Running without root"). The systemd unit is checked
by systemd-analyze.
"""

import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import time

import pytest

from lab import (REPO, Lab, Privileges, explain, missing_prerequisites, process_status,
                 tinyvrrp_bin, wait_until)

MISSING = missing_prerequisites()
if shutil.which("busybox") is None:
    MISSING.append("busybox (Debian busybox-static)")
for tool, package in (("setpriv", "util-linux"), ("setcap", "libcap2-bin")):
    if shutil.which(tool) is None:
        MISSING.append(f"{tool} (Debian {package})")

INIT_SCRIPT = REPO / "board" / "busybox" / "S50tinyvrrp"
OPENWRT_FILES = REPO / "board" / "openwrt" / "tinyvrrp" / "files"
CAPABILITIES_JSON = OPENWRT_FILES / "tinyvrrp.capabilities"
SYSTEMD_UNIT = REPO / "board" / "systemd" / "tinyvrrp.service"
TIMEOUT = 10.0
NOBODY = 65534


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

        # The daemon start-stop-daemon starts is no lab node: if the test
        # stops early, it must not outlive the lab.
        try:
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
        finally:
            kill_started(env)


PROCD_STUBS = """
procd_open_instance() { echo open; }
procd_set_param() { echo "param $*"; }
procd_append_param() { echo "append $*"; }
procd_add_jail() { echo "add-jail $*"; }
procd_close_instance() { echo close; }
procd_add_reload_trigger() { echo "reload-trigger $*"; }
. {init}
{settings}
start_service
service_triggers
"""


def procd_declarations(config, **settings) -> list[str]:
    """What the init script declares to procd, with CONFIG_FILE `config`
    and its other variables as `settings` say. Without `CAPABILITIES`, it
    names a file that does not exist: the service's default."""
    settings = {"CONFIG_FILE": config, "CAPABILITIES": "/nonexistent/tinyvrrp.json", **settings}
    script = PROCD_STUBS.replace("{init}", str(OPENWRT_FILES / "tinyvrrp.init"))
    script = script.replace("{settings}", "\n".join(
        f"{name}={shlex.quote(str(value))}" for name, value in settings.items()))
    out = subprocess.run(["busybox", "sh", "-c", script], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def procd_params(declared: list[str]) -> dict[str, list[str]]:
    """Each parameter's values, appended ones included."""
    params: dict[str, list[str]] = {}
    for kind, *words in (line.split() for line in declared):
        if kind == "param":
            params[words[0]] = words[1:]
        elif kind == "append":
            params[words[0]] = params.get(words[0], []) + words[1:]
    return params


UCI_CONFIG = (
    "config instance 'lan'\n\toption interface 'eth0'\n\toption vrid '51'\n"
    "\toption advert '100ms'\n\toption priority '150'\n\tlist vip '{vip}/24'\n"
    "config group 'gw'\n\tlist member 'lan'\n"
)


def test_openwrt_procd_service_and_hotplug_events():
    with Lab(routers=2) as lab:
        default = lab.dir / "default-config"
        shutil.copy(OPENWRT_FILES / "tinyvrrp.config", default)
        assert procd_declarations(default) == ["reload-trigger tinyvrrp"], "no instance, nothing to run"

        uci = lab.dir / "tinyvrrp.uci"
        uci.write_text(UCI_CONFIG.format(vip=lab.vip()))
        # By default root, as keepalived: no jail even where ujail exists.
        declared = procd_declarations(uci, UJAIL="/bin/true")
        assert declared[0] == "open" and declared[-2:] == ["close", "reload-trigger tinyvrrp"]
        assert not [line for line in declared if line.startswith("add-jail")], declared
        params = procd_params(declared)
        assert params["respawn"] and params["reload_signal"] == ["HUP"] and params["stderr"] == ["1"]
        assert not {"capabilities", "user", "group", "no_new_privs"} & set(params), params
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


def test_openwrt_procd_service_without_root():
    """Opted in (the capabilities file exists, ujail too): procd is asked
    for a jail as user tinyvrrp with the file's capabilities and
    no_new_privs, the config is made readable for it and its run directory
    made; then the command runs as ujail would run it, from the file's
    sets, and the hotplug bridge runs as that user."""
    with Lab(routers=2) as lab:
        uci = lab.dir / "tinyvrrp.uci"
        uci.write_text(UCI_CONFIG.format(vip=lab.vip()))
        uci.chmod(0o600)  # OpenWrt installs /etc/config files 0600
        run_dir = lab.dir / "run"
        socket_link = lab.dir / "tinyvrrp.sock"
        declared = procd_declarations(uci, UJAIL="/bin/true", CAPABILITIES=CAPABILITIES_JSON,
                                      RUN_USER="nobody", RUN_GROUP="nogroup", RUN_DIR=run_dir,
                                      SOCKET=socket_link)
        assert declared[-2:] == ["close", "reload-trigger tinyvrrp"], declared
        assert "add-jail tinyvrrp" in declared[declared.index("open"):declared.index("close")]
        params = procd_params(declared)
        assert params["capabilities"] == [str(CAPABILITIES_JSON)]
        assert params["user"] == ["nobody"] and params["group"] == ["nogroup"]
        assert params["no_new_privs"] == ["1"]
        assert params["reload_signal"] == ["HUP"] and params["term_timeout"] == ["15"]
        info = uci.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, NOBODY, 0o640)
        info = run_dir.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (NOBODY, NOBODY, 0o750)
        # The socket in the user's directory, and the usual path leading there.
        socket = run_dir / "tinyvrrp.sock"
        assert params["command"][-2:] == ["--socket", str(socket)], params["command"]
        assert os.readlink(socket_link) == str(socket)

        # ujail takes a set the file leaves out as every capability: all
        # five must be there, each with the two alone.
        sets = json.loads(CAPABILITIES_JSON.read_text())
        assert sorted(sets) == ["ambient", "bounding", "effective", "inheritable", "permitted"]
        for name, caps in sets.items():
            assert sorted(caps) == ["CAP_NET_ADMIN", "CAP_NET_RAW"], (name, caps)
        privileges = Privileges(caps=tuple(cap.removeprefix("CAP_").lower()
                                           for cap in sets["ambient"]))

        events = lab.dir / "hotplug-events"
        events.write_text("")
        os.chown(events, NOBODY, NOBODY)
        recorder = lab.dir / "hotplug-call"
        recorder.write_text(f'#!/bin/sh\necho "$(id -u) $1 $ACTION $TYPE $NAME" >> {events}\n')
        recorder.chmod(0o755)
        bridge = lab.dir / "notify-hotplug"
        shutil.copy(OPENWRT_FILES / "notify-hotplug", bridge)
        bridge.chmod(0o755)
        command = params["command"]
        argv = [Privileges.binary(lab),
                *(str(bridge) if word.endswith("/notify-hotplug") else word
                  for word in command[1:])]
        os.environ["HOTPLUG_CALL"] = str(recorder)
        try:
            node = lab.tinyvrrp(1, argv=argv, privileges=privileges)
        finally:
            del os.environ["HOTPLUG_CALL"]
        privileges.assert_applied(node)
        assert lab.wait_holder(1, TIMEOUT), explain(lab)
        # `tinyvrrp status` (and the rpcd plugin) through the usual path.
        status = subprocess.run([tinyvrrp_bin(), "status", "--socket", str(socket_link)],
                                capture_output=True, text=True, timeout=10)
        assert status.returncode == 0, status.stderr + node.log_tail()
        assert instance_row(status.stdout)[5] == "MASTER", status.stdout
        assert node.terminate() == 0, explain(lab)
        assert lab.vip() not in lab.addresses(1)
        expected = [f"{NOBODY} tinyvrrp NOTIFY_{state} {kind}"
                    for state in ["BACKUP", "MASTER", "STOP"]
                    for kind in ["INSTANCE lan", "GROUP gw"]]
        assert wait_until(lambda: events.read_text().splitlines() == expected, TIMEOUT), \
            events.read_text()


def kill_started(env):
    """Kills the tinyvrrp in PIDFILE if it still runs."""
    try:
        pid = daemon_pid(env)
        with open(f"/proc/{pid}/comm") as comm:
            if comm.read().strip() == "tinyvrrp":
                os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


def test_busybox_init_as_a_user_with_file_capabilities():
    """DAEMON_USER with a binary that carries the two capabilities as file
    capabilities (setcap): the daemon runs as that user with them, and
    start, reload and stop work as for root. The same binary without them
    does not start, and the log says why."""
    with Lab(routers=1) as lab:
        env = busybox_env(lab)
        lab.dir.chmod(0o755)
        # Named tinyvrrp: the script finds the daemon by that name.
        (lab.dir / "caps").mkdir(mode=0o755)
        binary = lab.dir / "caps" / "tinyvrrp"
        shutil.copy(tinyvrrp_bin(), binary)
        os.chown(binary, 0, NOBODY)
        binary.chmod(0o750)
        # The socket's default: in RUN_DIR, made the user's.
        del env["SOCKET"]
        run_dir = lab.dir / "run"
        env.update(DAEMON=str(binary), DAEMON_USER="nobody:nogroup", RUN_DIR=str(run_dir))
        write_config(env, lab, 150)
        os.chown(env["CONFIG"], 0, NOBODY)
        os.chmod(env["CONFIG"], 0o640)

        # The daemon start-stop-daemon starts is no lab node: if the test
        # stops early, it must not outlive the lab.
        try:
            # Without file capabilities: started, but it stops at once, saying why.
            assert init(lab, env, "start").returncode == 0
            log = lambda: open(env["LOGFILE"]).read()  # noqa: E731
            assert wait_until(lambda: "cannot start: needs CAP_NET_RAW and CAP_NET_ADMIN"
                              in log(), TIMEOUT), log()
            assert wait_until(lambda: init(lab, env, "status").returncode == 3, TIMEOUT)
            assert lab.addresses(1) == [lab.router_ip(1)]

            subprocess.run(["setcap", "cap_net_raw,cap_net_admin=ep", str(binary)], check=True)
            started = init(lab, env, "start")
            assert started.returncode == 0, started
            pid = daemon_pid(env)
            assert lab.wait_holder(1, TIMEOUT, routers=[1]), log()
            status = process_status(pid)
            assert status["Uid"].split() == [str(NOBODY)] * 4, status
            assert status["Gid"].split()[0] == str(NOBODY), status
            two = Privileges().mask()
            assert int(status["CapEff"], 16) == two and int(status["CapPrm"], 16) == two, status
            assert int(status["CapAmb"], 16) == 0 and int(status["CapInh"], 16) == 0, status
            assert os.stat(env["LOGFILE"]).st_uid == NOBODY
            assert os.stat(env["PIDFILE"]).st_uid == 0
            assert (run_dir / "tinyvrrp.sock").stat().st_uid == NOBODY

            write_config(env, lab, 120)
            reloaded = init(lab, env, "reload")
            assert (reloaded.returncode, reloaded.stdout) == (0, "reloaded\n"), reloaded
            status = init(lab, env, "status")
            assert status.returncode == 0, status
            assert instance_row(status.stdout)[5:8] == ["MASTER", status_duration(status), "120"]
            assert daemon_pid(env) == pid
            assert init(lab, env, "stop").returncode == 0
            assert not os.path.exists(f"/proc/{pid}")
            assert lab.vip() not in lab.addresses(1)
        finally:
            kill_started(env)


def test_systemd_unit_parses_and_asks_for_the_two_capabilities_alone():
    """systemd-analyze reads the unit (the binary pointed at the build)
    with no unknown key or bad value, and systemd-sysusers the user file.
    The unit's privilege lines are what test_privilege.py runs the daemon
    with (systemd itself does not run here)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        reason = "systemd-analyze (Debian systemd) to check board/systemd/tinyvrrp.service"
        if os.environ.get("TINYVRRP_REQUIRE_ALL") == "1":
            pytest.fail(reason + " (TINYVRRP_REQUIRE_ALL=1)", pytrace=False)
        pytest.skip(reason)
    with Lab(routers=1) as lab:
        unit = lab.dir / "tinyvrrp.service"
        unit.write_text(SYSTEMD_UNIT.read_text().replace("/usr/sbin/tinyvrrp", tinyvrrp_bin()))
        result = subprocess.run([analyze, "verify", "--man=no", str(unit)],
                                capture_output=True, text=True)
        problems = [line for line in result.stderr.splitlines() if str(unit) in line]
        assert result.returncode == 0 and not problems, result.stderr
        sysusers = subprocess.run(["systemd-sysusers", "--dry-run",
                                   str(SYSTEMD_UNIT.with_suffix(".sysusers"))],
                                  capture_output=True, text=True)
        assert sysusers.returncode == 0, sysusers.stderr
        keys = [line.split("=", 1) for line in SYSTEMD_UNIT.read_text().splitlines()
                if "=" in line and not line.startswith("#")]
        settings = {key: value for key, value in keys}
        assert settings["User"] == "tinyvrrp"
        assert settings["AmbientCapabilities"].split() == ["CAP_NET_RAW", "CAP_NET_ADMIN"]
        assert settings["CapabilityBoundingSet"].split() == ["CAP_NET_RAW", "CAP_NET_ADMIN"]
        assert settings["NoNewPrivileges"] == "yes"
        # vmac writes /proc/sys/net.
        assert "ProtectKernelTunables" not in settings
