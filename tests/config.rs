//! The line config: what it accepts, and `file:line: message` for the rest.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use tinyvrrp::config::{
    parse, vmac_name, Config, ConfigError, GroupConfig, InstanceConfig, ScriptConfig, Tracker,
    Trackers, Vip,
};
use tinyvrrp::proto::wire::{Checksum, Family, V2Auth, Version};

// Issue 10: tracking, sync groups, per-state notify, the notify FIFO.
#[path = "config/tracking.rs"]
mod tracking;
#[path = "config/tracking_errors.rs"]
mod tracking_errors;
// Issue 12: file sync.
#[cfg(feature = "sync")]
#[path = "config/sync.rs"]
mod sync;

#[cfg(not(feature = "sync"))]
#[test]
fn a_build_without_file_sync_refuses_sync_blocks() {
    let text = "instance lan\n interface eth0\n vrid 1\n vip 10.0.0.1\nsync s\n file /tmp/a\n instance lan\n";
    // Its `instance` line then opens an instance block, with errors of its
    // own after this one.
    assert_eq!(
        errors(text)[0],
        "t.conf:5: sync: this tinyvrrp is built without file sync (cargo feature sync)"
    );
}

/// The config with every line number cleared: the two syntaxes put the
/// same settings on different lines.
fn without_lines(config: &Config) -> Config {
    let trackers = |t: &Trackers| -> Trackers {
        t.iter()
            .map(|t| Tracker {
                line: 0,
                ..t.clone()
            })
            .collect()
    };
    Config {
        instances: config
            .instances
            .iter()
            .map(|i| InstanceConfig {
                line: 0,
                interface_line: 0,
                unicast_src: i.unicast_src.map(|(src, _)| (src, 0)),
                trackers: trackers(&i.trackers),
                ..i.clone()
            })
            .collect(),
        scripts: config
            .scripts
            .iter()
            .map(|s| ScriptConfig {
                line: 0,
                ..s.clone()
            })
            .collect(),
        groups: config
            .groups
            .iter()
            .map(|g| GroupConfig {
                line: 0,
                trackers: trackers(&g.trackers),
                ..g.clone()
            })
            .collect(),
        notify_fifo: config.notify_fifo.clone(),
        // Without file sync there are none (and `SyncConfig` has no fields).
        #[cfg(not(feature = "sync"))]
        syncs: config.syncs.clone(),
        #[cfg(feature = "sync")]
        syncs: config
            .syncs
            .iter()
            .map(|s| tinyvrrp::config::SyncConfig {
                line: 0,
                instance_line: 0,
                files: s.files.iter().map(|(f, _)| (f.clone(), 0)).collect(),
                key: (s.key.0.clone(), 0),
                ..s.clone()
            })
            .collect(),
    }
}

fn errors(text: &str) -> Vec<String> {
    parse("t.conf", text)
        .expect_err("config should be rejected")
        .iter()
        .map(ConfigError::to_string)
        .collect()
}

#[test]
fn full_instance_with_comments_and_indentation() {
    let config = parse(
        "t.conf",
        "# routers\ninstance lan\n  interface eth0\n  vrid 51               # 1..255\n  priority 150\n  advert 100ms\n  version 3\n  vip 10.0.0.1/24\n  vip 10.0.0.2\n  preempt off\n  notify /etc/tinyvrrp/notify.sh\n",
    )
    .unwrap();
    let lan = &config.instances[0];
    assert_eq!(lan.name, "lan");
    assert_eq!(lan.line, 2);
    assert_eq!(lan.interface, "eth0");
    assert_eq!(lan.interface_line, 3);
    assert_eq!(lan.vrid, 51);
    assert_eq!(lan.priority, 150);
    assert_eq!(lan.advert_cs, 10);
    assert_eq!(lan.version, Version::V3);
    assert!(!lan.preempt);
    assert_eq!(lan.notify.as_deref(), Some("/etc/tinyvrrp/notify.sh"));
    assert_eq!(
        lan.vips,
        vec![
            Vip {
                address: Ipv4Addr::new(10, 0, 0, 1).into(),
                prefix: 24
            },
            Vip {
                address: Ipv4Addr::new(10, 0, 0, 2).into(),
                prefix: 32
            },
        ]
    );
}

#[test]
fn defaults_and_several_instances() {
    let config = parse(
        "t.conf",
        "instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\ninstance b\ninterface eth1\nvrid 1\nvip 10.0.1.1\nversion 2\nadvert 3s\n",
    )
    .unwrap();
    let [a, b] = config.instances.as_slice() else {
        panic!("two instances")
    };
    assert_eq!(
        (a.priority, a.advert_cs, a.version, a.preempt),
        (100, 100, Version::V3, true)
    );
    assert_eq!((b.version, b.advert_cs), (Version::V2, 300));
    assert_eq!(
        a.to_string(),
        "instance a: interface eth0, vrid 1, ipv4, version 3, priority 100, advert 1000ms, preempt on, vip 10.0.0.1/32, garp-repeat 5, garp-delay 5000ms"
    );
}

#[test]
fn same_vrid_on_different_interfaces_is_fine_but_not_on_one() {
    assert!(parse(
        "t.conf",
        "instance a\ninterface eth0\nvrid 7\nvip 10.0.0.1\ninstance b\ninterface eth1\nvrid 7\nvip 10.0.1.1\n"
    )
    .is_ok());
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 7\nvip 10.0.0.1\ninstance b\ninterface eth0\nvrid 7\nvip 10.0.1.1\n"),
        vec!["t.conf:5: vrid 7 on eth0 (ipv4) is already used by instance 'a' at line 1"]
    );
}

#[test]
fn every_error_has_file_and_line() {
    let text = "\
instance lan
  interface eth0
  vrid 0
  priority 256
  advert 15ms
  colour blue
  vip 10.0.0.300/24
  preempt maybe
  version 4
";
    assert_eq!(
        errors(text),
        vec![
            "t.conf:3: vrid must be 1..255, not '0'",
            "t.conf:4: priority must be 1..255, not '256'",
            "t.conf:6: unknown key 'colour'",
            "t.conf:7: '10.0.0.300/24' is not an IPv4 or IPv6 address",
            "t.conf:8: preempt must be on or off, not 'maybe'",
            "t.conf:9: version must be 2 or 3, not '4'",
        ]
    );
}

#[test]
fn advert_range_depends_on_version() {
    let base = "instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\n";
    assert_eq!(
        errors(&format!("{base}advert 15ms\n")),
        vec!["t.conf:5: advert for version 3 must be 10ms..40950ms in 10 ms steps, not 15ms"]
    );
    assert_eq!(
        errors(&format!("{base}advert 41s\n")),
        vec!["t.conf:5: advert for version 3 must be 10ms..40950ms in 10 ms steps, not 41000ms"]
    );
    assert_eq!(
        errors(&format!("{base}advert 100ms\nversion 2\n")),
        vec!["t.conf:5: advert for version 2 must be whole seconds 1s..255s, not 100ms"]
    );
    assert_eq!(
        errors(&format!("{base}advert 1\n")),
        vec!["t.conf:5: advert needs a unit, ms or s: '1'"]
    );
    assert!(parse("t.conf", &format!("{base}advert 40950ms\n")).is_ok());
    assert!(parse("t.conf", &format!("{base}advert 255s\nversion 2\n")).is_ok());
}

#[test]
fn structural_errors() {
    assert_eq!(errors("vrid 5\n"), vec!["t.conf:1: 'vrid' outside a block"]);
    assert_eq!(errors("# nothing\n"), vec!["t.conf:1: no instance defined"]);
    assert_eq!(
        errors("instance a\nvrid 1\nvip 10.0.0.1\n"),
        vec!["t.conf:1: instance 'a' has no interface"]
    );
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\n"),
        vec!["t.conf:1: instance 'a' has no vip"]
    );
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nvrid 2\nvip 10.0.0.1\nvip 10.0.0.1/24\n"),
        vec![
            "t.conf:4: 'vrid' given twice in instance 'a'",
            "t.conf:6: vip 10.0.0.1/24 listed twice"
        ]
    );
    assert_eq!(
        errors("instance a b\ninstance\n"),
        vec![
            "t.conf:1: expected: instance NAME",
            "t.conf:2: expected: instance NAME"
        ]
    );
    assert_eq!(
        errors("instance a\ninterface eth0 eth1\nvrid\n"),
        vec![
            "t.conf:2: 'interface' takes one value",
            "t.conf:3: 'vrid' needs a value"
        ]
    );
    assert_eq!(
        errors("instance a\ninterface averyveryverylongname\nvrid 1\nvip 224.0.0.18\nvip 10.0.0.1/33\n"),
        vec![
            "t.conf:2: 'averyveryverylongname' is not a valid interface name",
            "t.conf:4: 224.0.0.18 cannot be a virtual address",
            "t.conf:5: prefix must be 1..32 in '10.0.0.1/33'",
        ]
    );
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\ninstance a\ninterface eth1\nvrid 1\nvip 10.0.0.2\n"),
        vec!["t.conf:5: instance 'a' already defined at line 1"]
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let alphabet =
        b"instance interface vrid priority advert version vip preempt on off 0123456789./ms#\n\t ";
    for _ in 0..2000 {
        let text: String = (0..200)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                alphabet[(seed % alphabet.len() as u64) as usize] as char
            })
            .collect();
        if let Err(errors) = parse("fuzz.conf", &text) {
            assert!(errors.iter().all(|e| e.file == "fuzz.conf" && e.line >= 1));
        }
    }
}

const TINY: &str = "\
instance lan
  interface eth0
  vrid 51
  priority 150
  advert 100ms
  version 3
  vip 10.0.0.1/24
  vip 10.0.0.2
  preempt off
  notify /etc/tinyvrrp/notify.sh
instance wan
  interface eth1
  vrid 7
  vip 192.0.2.1/24
";

const UCI: &str = "\
package tinyvrrp

config instance 'lan'
\toption interface 'eth0'
\toption vrid '51'
\toption priority \"150\"
\toption advert '100ms'
\toption version '3'
\tlist vip '10.0.0.1/24'
\tlist vip 10.0.0.2   # bare words work too
\toption preempt '0'
\toption notify '/etc/tinyvrrp/notify.sh'

config instance wan
\toption interface 'eth1'
\toption vrid '7'
\tlist vip '192.0.2.1/24'
";

#[test]
fn uci_and_tiny_forms_parse_to_the_same_config() {
    let tiny = parse("tiny.conf", TINY).unwrap();
    let uci = parse("/etc/config/tinyvrrp", UCI).unwrap();
    // Line numbers differ by design; everything else must match.
    assert_eq!(without_lines(&tiny), without_lines(&uci));
    assert_eq!(uci.instances.len(), 2);
    assert_eq!(uci.instances[0].interface_line, 4);
}

#[test]
fn uci_errors_carry_file_and_line() {
    let text = "\
config instance 'lan'
\toption interface 'eth0'
\toption vrid '300'
\toption colour 'blue'
\tlist vip '10.0.0.1
config colours
\toption
";
    let errors: Vec<String> = parse("/etc/config/tinyvrrp", text)
        .unwrap_err()
        .iter()
        .map(ConfigError::to_string)
        .collect();
    assert_eq!(
        errors,
        vec![
            "/etc/config/tinyvrrp:5: unterminated ' quote",
            "/etc/config/tinyvrrp:6: unknown section type 'colours'",
            "/etc/config/tinyvrrp:7: expected: config TYPE NAME, option KEY VALUE or list KEY VALUE, not 'option'",
        ]
    );
    let errors: Vec<String> = parse(
        "/etc/config/tinyvrrp",
        &text[..text.find("\tlist").unwrap()],
    )
    .unwrap_err()
    .iter()
    .map(ConfigError::to_string)
    .collect();
    assert_eq!(
        errors,
        vec![
            "/etc/config/tinyvrrp:3: vrid must be 1..255, not '300'",
            "/etc/config/tinyvrrp:4: unknown key 'colour'",
        ]
    );
}

#[test]
fn uci_anonymous_sections_get_names_and_quotes_join() {
    let config = parse(
        "u",
        "config instance\n option interface eth0\n option vrid 1\n list vip \"10.0.\"'0.1'\n",
    )
    .unwrap();
    assert_eq!(config.instances[0].name, "instance1");
    assert_eq!(
        config.instances[0].vips[0].address,
        Ipv4Addr::new(10, 0, 0, 1)
    );
}

#[test]
fn interop_keys_auth_checksum_and_unicast() {
    let config = parse(
        "t.conf",
        "instance v2\ninterface eth0\nvrid 1\nvip 10.0.0.1\nversion 2\nauth-pass secret1\ninstance v3\ninterface eth0\nvrid 2\nvip 10.0.0.2\nv3-checksum as-v2\nunicast-peer 10.0.0.12\nunicast-peer 10.0.0.13\nunicast-src 10.0.0.11\n",
    )
    .unwrap();
    let [v2, v3] = config.instances.as_slice() else {
        panic!("two instances")
    };
    assert_eq!(v2.auth_pass.as_deref(), Some("secret1"));
    let primary = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 21));
    assert_eq!(v2.params(primary).auth, V2Auth::simple_password(b"secret1"));
    assert_eq!(v2.params(primary).checksum, Checksum::MessageOnly);
    assert_eq!(v3.checksum, Checksum::MessageOnly);
    assert_eq!(
        v3.unicast_peers,
        vec![
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 12)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 13))
        ]
    );
    // The unicast source is the advert source and the tie-breaker.
    assert_eq!(v3.params(primary).primary, Ipv4Addr::new(10, 0, 0, 11));
    assert!(v3
        .to_string()
        .ends_with(", v3-checksum as-v2, unicast-peer 10.0.0.12 10.0.0.13, unicast-src 10.0.0.11, garp-repeat 5, garp-delay 5000ms"));
}

#[test]
fn interop_key_errors_carry_file_and_line() {
    let base = "instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\n";
    let cases = [
        (
            "version 2\nauth-pass toolongpw\n",
            "t.conf:6: auth-pass must be 1..8 octets, not 9",
        ),
        (
            "auth-pass secret\n",
            "t.conf:5: auth-pass needs version 2 (VRRPv3 has no authentication)",
        ),
        (
            "version 2\nv3-checksum as-v2\n",
            "t.conf:6: v3-checksum applies to version 3 only",
        ),
        (
            "v3-checksum none\n",
            "t.conf:5: v3-checksum must be pseudo-header or as-v2, not 'none'",
        ),
        (
            "unicast-src 10.0.0.11\n",
            "t.conf:5: unicast-src needs at least one unicast-peer",
        ),
        (
            "unicast-peer 10.0.0.12\nunicast-peer 10.0.0.12\n",
            "t.conf:6: unicast-peer 10.0.0.12 listed twice",
        ),
        (
            "unicast-peer 224.0.0.18\n",
            "t.conf:5: 224.0.0.18 cannot be a unicast address",
        ),
        (
            "unicast-peer 10.0.0.11\nunicast-src 10.0.0.11\n",
            "t.conf:5: unicast-peer 10.0.0.11 is our own unicast-src",
        ),
    ];
    for (extra, expected) in cases {
        assert_eq!(errors(&format!("{base}{extra}")), vec![expected], "{extra}");
    }
}

#[test]
fn gratuitous_arp_repeat_and_delay() {
    let base = "instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\n";
    let primary = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 21));
    let defaults = &parse("t.conf", base).unwrap().instances[0];
    // keepalived's vrrp_garp_master_repeat 5 and vrrp_garp_master_delay 5.
    assert_eq!((defaults.garp_repeat, defaults.garp_delay_ms), (5, 5000));
    assert_eq!(
        defaults.params(primary).garp_delay,
        Some(Duration::from_secs(5))
    );
    let set = parse("t.conf", &format!("{base}garp-repeat 2\ngarp-delay 0s\n")).unwrap();
    let set = &set.instances[0];
    assert_eq!((set.garp_repeat, set.params(primary).garp_delay), (2, None));
    let cases = [
        (
            "garp-repeat 0\n",
            "t.conf:5: garp-repeat must be 1..255, not '0'",
        ),
        (
            "garp-delay 5\n",
            "t.conf:5: garp-delay needs a unit, ms or s: '5'",
        ),
        (
            "garp-delay 3601s\n",
            "t.conf:5: garp-delay must be 0s..3600s, not 3601000ms",
        ),
        (
            "garp-delay 1s\ngarp-delay 2s\n",
            "t.conf:6: 'garp-delay' given twice in instance 'a'",
        ),
    ];
    for (extra, expected) in cases {
        assert_eq!(errors(&format!("{base}{extra}")), vec![expected], "{extra}");
    }
}

#[test]
fn ipv6_instance_with_link_local_first_vmac_and_unicast_peers() {
    let config = parse(
        "t.conf",
        "instance lan6\ninterface eth0\nvrid 51\nvip fe80::1/64\nvip 2001:db8::1/64\nvip 2001:db8::2\nvmac on\n\
         instance uni6\ninterface eth1\nvrid 9\nvip fe80::9/64\nunicast-peer fe80::2\nunicast-src fe80::1\n",
    )
    .unwrap();
    let lan6 = &config.instances[0];
    assert_eq!(lan6.family(), Family::Ipv6);
    assert_eq!(lan6.version, Version::V3);
    assert!(lan6.vmac);
    assert_eq!(
        lan6.vips[0],
        Vip {
            address: "fe80::1".parse::<IpAddr>().unwrap(),
            prefix: 64
        }
    );
    assert_eq!(
        lan6.vips[2].prefix, 128,
        "an IPv6 vip without a prefix is a host"
    );
    let uni6 = &config.instances[1];
    assert!(!uni6.vmac);
    assert_eq!(
        uni6.unicast_peers,
        vec!["fe80::2".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(
        uni6.unicast_src.map(|(src, _)| src),
        Some(IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)))
    );
}

#[test]
fn one_vrid_may_serve_each_family_once_per_interface() {
    let dual = "instance v4\ninterface eth0\nvrid 7\nvip 10.0.0.1\ninstance v6\ninterface eth0\nvrid 7\nvip fe80::7/64\n";
    let config = parse("t.conf", dual).unwrap();
    let families: Vec<_> = config.instances.iter().map(|i| i.family()).collect();
    assert_eq!(families, vec![Family::Ipv4, Family::Ipv6]);
    assert_eq!(
        errors(&format!(
            "{dual}instance again\ninterface eth0\nvrid 7\nvip fe80::8/64\n"
        )),
        vec!["t.conf:9: vrid 7 on eth0 (ipv6) is already used by instance 'v6' at line 5"]
    );
}

#[test]
fn ipv6_errors_carry_file_and_line() {
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\nvip fe80::1/64\n"),
        vec!["t.conf:5: vip fe80::1/64: an instance holds one family; write one per family (they may share the vrid)"]
    );
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nversion 2\nadvert 1s\nvip fe80::1/64\n"),
        vec!["t.conf:4: IPv6 needs version 3 (VRRPv2, RFC 3768, is IPv4 only)"]
    );
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nvip 2001:db8::1/64\nvip fe80::1/64\n"),
        vec!["t.conf:4: the first IPv6 vip must be link-local (RFC 5798 §5.2.9), e.g. 'vip fe80::1/64' before 'vip 2001:db8::1/64'"]
    );
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nvip fe80::1/129\n"),
        vec!["t.conf:4: prefix must be 1..128 in 'fe80::1/129'"]
    );
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nvip ff02::1\n"),
        vec!["t.conf:4: ff02::1 cannot be a virtual address"]
    );
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nvip fe80::1/64\nunicast-peer 10.0.0.2\n"),
        vec!["t.conf:5: 10.0.0.2: not the family of the vips"]
    );
    assert_eq!(
        errors(
            "instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\nvmac on\nunicast-peer 10.0.0.2\n"
        ),
        vec!["t.conf:5: vmac needs multicast adverts: remove the unicast-peer lines or vmac"]
    );
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nvip fe80::1/64\nunicast-peer fe80::2\nunicast-src 2001:db8::1\n"),
        vec!["t.conf:6: unicast-src 2001:db8::1: IPv6 adverts come from a link-local address"]
    );
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\nvmac maybe\n"),
        vec!["t.conf:5: vmac must be on or off, not 'maybe'"]
    );
}

#[test]
fn vmac_names_are_predictable_and_unique_per_family_and_vrid() {
    assert_eq!(vmac_name(Family::Ipv4, 51), "vrrp4.51");
    assert_eq!(vmac_name(Family::Ipv6, 255), "vrrp6.255");
    assert!(vmac_name(Family::Ipv6, 255).len() <= 15, "IFNAMSIZ");
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\nvmac on\ninstance b\ninterface eth1\nvrid 1\nvip 10.0.1.1\nvmac on\n"),
        vec!["t.conf:6: vmac vrrp4.1 is already used by instance 'a' at line 1"]
    );
}

#[test]
fn ipv6_uci_form_parses_like_the_tiny_form() {
    let tiny = parse(
        "tiny.conf",
        "instance lan6\ninterface br-lan\nvrid 51\nvip fe80::1/64\nvip 2001:db8::1/64\nvmac on\n",
    )
    .unwrap();
    let uci = parse(
        "/etc/config/tinyvrrp",
        "config instance 'lan6'\n\toption interface 'br-lan'\n\toption vrid '51'\n\tlist vip 'fe80::1/64'\n\tlist vip '2001:db8::1/64'\n\toption vmac '1'\n",
    )
    .unwrap();
    assert_eq!(without_lines(&tiny), without_lines(&uci));
}

#[test]
fn preempt_delay_is_a_duration_up_to_an_hour() {
    let base = "instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\n";
    let primary = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 21));
    let default = &parse("t.conf", base).unwrap().instances[0];
    assert_eq!(default.params(primary).preempt_delay, None);
    let set = parse("t.conf", &format!("{base}preempt-delay 30s\n")).unwrap();
    let set = &set.instances[0];
    assert_eq!(
        set.params(primary).preempt_delay,
        Some(Duration::from_secs(30))
    );
    assert!(set.to_string().ends_with(", preempt-delay 30000ms"));
    assert_eq!(
        errors(&format!("{base}preempt-delay 2h\n")),
        vec!["t.conf:5: preempt-delay needs a unit, ms or s: '2h'"]
    );
    assert_eq!(
        errors(&format!("{base}preempt-delay 3601s\n")),
        vec!["t.conf:5: preempt-delay must be 0s..3600s, not 3601000ms"]
    );
}
