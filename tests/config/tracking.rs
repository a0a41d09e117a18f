//! Issue 10's keys read alike in both syntaxes: trackers, scripts, groups,
//! per-state notify and the notify FIFO; their defaults; the address
//! owner's rule.

use tinyvrrp::config::{parse, GroupConfig, ScriptConfig, StateScripts, Target, Tracker, Trackers};

use super::{errors, without_lines};

/// Everything of issue 10: a global FIFO, two scripts, trackers and
/// per-state notify on an instance, a group with trackers of its own.
const TRACK_TINY: &str = "\
notify-fifo /var/run/tinyvrrp.fifo   # global: before the first block

script chk_wan
  exec /usr/bin/ping -c1 -W1 192.0.2.1
  interval 2s
  timeout 1s
  rise 2
  fall 3
  weight -20
  init-fail on
script chk_dns
  exec /usr/bin/nslookup example.com
instance lan
  interface eth0
  vrid 51
  priority 150
  vip 10.0.0.1/24
  preempt-delay 5s
  track-interface eth1
  track-interface eth2 weight -30
  track-script chk_wan
  track-script chk_dns weight 10
  track-file /tmp/prio
  track-file /tmp/prio2 weight -2
  notify-master /etc/tinyvrrp/up.sh lan
  notify-backup /etc/tinyvrrp/down.sh lan
  notify-fault /etc/tinyvrrp/down.sh lan fault
  notify-stop /etc/tinyvrrp/stop.sh
instance wan
  interface eth1
  vrid 7
  vip 192.0.2.100/24
group gw
  member lan
  member wan
  track-interface eth3 weight -5
  track-script chk_wan weight 0
  notify /etc/tinyvrrp/group.sh
  notify-master /usr/bin/logger gw up
";

/// The same in UCI: underscores or dashes in option names, several words
/// in one quoted value, and the globals section anywhere.
const TRACK_UCI: &str = "\
package tinyvrrp

config script 'chk_wan'
\toption exec '/usr/bin/ping -c1 -W1 192.0.2.1'
\toption interval '2s'
\toption timeout '1s'
\toption rise '2'
\toption fall '3'
\toption weight '-20'
\toption init_fail '1'

config script 'chk_dns'
\toption exec \"/usr/bin/nslookup example.com\"

config instance 'lan'
\toption interface 'eth0'
\toption vrid '51'
\toption priority '150'
\tlist vip '10.0.0.1/24'
\toption preempt_delay '5s'
\tlist track_interface 'eth1'
\tlist track_interface 'eth2 weight -30'
\tlist track-script 'chk_wan'
\tlist track_script 'chk_dns weight 10'
\tlist track_file '/tmp/prio'
\tlist track_file '/tmp/prio2  weight  -2'
\toption notify_master '/etc/tinyvrrp/up.sh lan'
\toption notify-backup '/etc/tinyvrrp/down.sh lan'
\toption notify_fault '/etc/tinyvrrp/down.sh lan fault'
\toption notify_stop /etc/tinyvrrp/stop.sh

config instance 'wan'
\toption interface 'eth1'
\toption vrid '7'
\tlist vip '192.0.2.100/24'

config group 'gw'
\tlist member 'lan'
\tlist member 'wan'
\tlist track_interface 'eth3 weight -5'
\tlist track_script 'chk_wan weight 0'
\toption notify '/etc/tinyvrrp/group.sh'
\toption notify_master '/usr/bin/logger gw up'

config globals
\toption notify_fifo '/var/run/tinyvrrp.fifo'
";

fn argv(words: &[&str]) -> Option<Vec<String>> {
    Some(words.iter().map(|w| w.to_string()).collect())
}

fn tracker(target: Target, name: &str, weight: i32, line: usize) -> Tracker {
    Tracker {
        target,
        name: name.to_string(),
        weight,
        line,
    }
}

fn interface(name: &str, weight: i32, line: usize) -> Tracker {
    tracker(Target::Interface, name, weight, line)
}

pub(super) fn script(name: &str, weight: i32, line: usize) -> Tracker {
    tracker(Target::Script, name, weight, line)
}

fn file(path: &str, weight: i32, line: usize) -> Tracker {
    tracker(Target::File, path, weight, line)
}

/// The trackers of one kind.
pub(super) fn of(trackers: &Trackers, target: Target) -> Trackers {
    trackers
        .iter()
        .filter(|t| t.target == target)
        .cloned()
        .collect()
}

#[test]
fn tracking_groups_and_notify_parse_alike_in_both_syntaxes() {
    let tiny = parse("tiny.conf", TRACK_TINY).unwrap();
    let uci = parse("/etc/config/tinyvrrp", TRACK_UCI).unwrap();
    assert_eq!(without_lines(&tiny), without_lines(&uci));

    assert_eq!(tiny.notify_fifo.as_deref(), Some("/var/run/tinyvrrp.fifo"));
    assert_eq!(
        tiny.scripts,
        vec![
            ScriptConfig {
                name: "chk_wan".into(),
                line: 3,
                exec: argv(&["/usr/bin/ping", "-c1", "-W1", "192.0.2.1"]).unwrap(),
                interval_ms: 2000,
                timeout_ms: 1000,
                rise: 2,
                fall: 3,
                weight: -20,
                init_fail: true,
            },
            ScriptConfig {
                name: "chk_dns".into(),
                line: 11,
                exec: argv(&["/usr/bin/nslookup", "example.com"]).unwrap(),
                interval_ms: 1000,
                timeout_ms: 1000,
                rise: 1,
                fall: 1,
                weight: 0,
                init_fail: false,
            },
        ]
    );
    let group_trackers = vec![interface("eth3", -5, 36), script("chk_wan", 0, 37)];
    assert_eq!(
        tiny.groups,
        vec![GroupConfig {
            name: "gw".into(),
            line: 33,
            members: vec!["lan".into(), "wan".into()],
            trackers: group_trackers.clone(),
            notify: Some("/etc/tinyvrrp/group.sh".into()),
            notify_states: StateScripts {
                master: argv(&["/usr/bin/logger", "gw", "up"]),
                ..StateScripts::default()
            },
        }]
    );
    let [lan, wan] = tiny.instances.as_slice() else {
        panic!("two instances")
    };
    // The instance's own trackers, then the group's; a track-script
    // without a weight takes its script's.
    assert_eq!(
        lan.trackers,
        vec![
            interface("eth1", 0, 19),
            interface("eth2", -30, 20),
            interface("eth3", -5, 36),
            script("chk_wan", -20, 21),
            script("chk_dns", 10, 22),
            script("chk_wan", 0, 37),
            file("/tmp/prio", 1, 23),
            file("/tmp/prio2", -2, 24),
        ]
    );
    assert_eq!(
        lan.notify_states,
        StateScripts {
            master: argv(&["/etc/tinyvrrp/up.sh", "lan"]),
            backup: argv(&["/etc/tinyvrrp/down.sh", "lan"]),
            fault: argv(&["/etc/tinyvrrp/down.sh", "lan", "fault"]),
            stop: argv(&["/etc/tinyvrrp/stop.sh"]),
        }
    );
    assert_eq!(lan.preempt_delay_ms, 5000);
    assert_eq!(wan.trackers, group_trackers);
    assert_eq!(wan.notify_states, StateScripts::default());
    assert_eq!(tiny.script("chk_dns").map(|s| s.line), Some(11));
    assert_eq!(tiny.group_of("wan").map(|g| g.name.as_str()), Some("gw"));

    // What `tinyvrrp check` prints.
    assert_eq!(
        lan.to_string(),
        "instance lan: interface eth0, vrid 51, ipv4, version 3, priority 150, advert 1000ms, preempt on, vip 10.0.0.1/24, garp-repeat 5, garp-delay 5000ms, preempt-delay 5000ms, \
         track-interface eth1 weight 0, track-interface eth2 weight -30, track-interface eth3 weight -5, \
         track-script chk_wan weight -20, track-script chk_dns weight 10, track-script chk_wan weight 0, \
         track-file /tmp/prio weight 1, track-file /tmp/prio2 weight -2, \
         notify-master /etc/tinyvrrp/up.sh lan, notify-backup /etc/tinyvrrp/down.sh lan, \
         notify-fault /etc/tinyvrrp/down.sh lan fault, notify-stop /etc/tinyvrrp/stop.sh"
    );
    assert_eq!(
        tiny.scripts[0].to_string(),
        "script chk_wan: exec /usr/bin/ping -c1 -W1 192.0.2.1, interval 2000ms, timeout 1000ms, rise 2, fall 3, weight -20, init-fail on"
    );
    assert_eq!(
        tiny.groups[0].to_string(),
        "group gw: member lan wan, track-interface eth3 weight -5, track-script chk_wan weight 0, notify /etc/tinyvrrp/group.sh, notify-master /usr/bin/logger gw up"
    );
}

#[test]
fn tracker_and_script_defaults() {
    let config = parse(
        "t.conf",
        "script s\nexec /bin/true\ninterval 3s\nweight 12\n\
         instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\n\
         track-interface eth1\ntrack-script s\ntrack-file /tmp/p\ntrack-file /tmp/q weight -254\n\
         instance b\ninterface eth0\nvrid 2\nvip 10.0.0.2\ntrack-script s weight 0\n",
    )
    .unwrap();
    let s = &config.scripts[0];
    // The timeout is the interval unless given; one result decides.
    assert_eq!(
        (s.interval_ms, s.timeout_ms, s.rise, s.fall, s.init_fail),
        (3000, 3000, 1, 1, false)
    );
    let [a, b] = config.instances.as_slice() else {
        panic!("two instances")
    };
    assert_eq!(
        a.trackers,
        vec![
            interface("eth1", 0, 9),
            script("s", 12, 10),
            file("/tmp/p", 1, 11),
            file("/tmp/q", -254, 12)
        ]
    );
    assert_eq!(a.notify_states, StateScripts::default());
    // An explicit weight 0 is kept: the script then decides FAULT.
    assert_eq!(of(&b.trackers, Target::Script), vec![script("s", 0, 17)]);
    assert!(config.groups.is_empty() && config.notify_fifo.is_none());
    // A config without any of it has none of it.
    let plain = parse(
        "t.conf",
        "instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\n",
    )
    .unwrap();
    assert!(plain.instances[0].trackers.is_empty());
    assert!(plain.scripts.is_empty() && plain.groups.is_empty());
}

#[test]
fn weighted_trackers_cannot_reach_an_address_owner() {
    // The extra lines start at line 9.
    let base = "script w\nexec /bin/true\nweight -7\ninstance own\ninterface eth0\nvrid 1\npriority 255\nvip 10.0.0.1\n";
    let rule = "weighted trackers cannot change an address owner's priority (RFC 5798 §5.2.4)";
    let cases = [
        (
            "track-interface eth1 weight -10\n",
            format!("t.conf:9: {rule}: track-interface eth1 (weight -10) on instance 'own' (priority 255)"),
        ),
        // The script's weight counts when the track-script gives none.
        (
            "track-script w\n",
            format!("t.conf:9: {rule}: track-script w (weight -7) on instance 'own' (priority 255)"),
        ),
        // A track-file weighs 1 unless told otherwise.
        (
            "track-file /tmp/p\n",
            format!("t.conf:9: {rule}: track-file /tmp/p (weight 1) on instance 'own' (priority 255)"),
        ),
        // A group's trackers reach every member: the error is at the
        // group's line and names the instance.
        (
            "group g\nmember own\ntrack-interface eth2 weight 20\n",
            format!("t.conf:11: {rule}: track-interface eth2 (weight 20) of group 'g' reaches instance 'own' (priority 255)"),
        ),
        (
            "group g\nmember own\ntrack-script w\n",
            format!("t.conf:11: {rule}: track-script w (weight -7) of group 'g' reaches instance 'own' (priority 255)"),
        ),
    ];
    for (extra, expected) in cases {
        assert_eq!(errors(&format!("{base}{extra}")), vec![expected], "{extra}");
    }
    // Unweighted trackers may still put an owner in FAULT.
    let config = parse(
        "t.conf",
        &format!(
            "{base}track-interface eth1\ntrack-script w weight 0\ntrack-file /tmp/p weight 0\n\
             instance other\ninterface eth0\nvrid 2\nvip 10.0.0.2\n\
             group g\nmember own\nmember other\ntrack-interface eth2\ntrack-script w weight 0\n"
        ),
    )
    .unwrap();
    let trackers = &config.instances[0].trackers;
    assert_eq!(of(trackers, Target::Interface).len(), 2);
    assert_eq!(of(trackers, Target::Script).len(), 2);
    assert!(config.instances[0]
        .to_string()
        .contains("priority 255 (address owner)"));
}
