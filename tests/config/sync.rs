//! Issue 12's `sync` blocks, in both syntaxes, their defaults and errors.

use tinyvrrp::config::{parse, SyncConfig};

use super::{errors, without_lines};

const SYNC_TINY: &str = "\
instance lan
  interface eth0
  vrid 51
  vip 10.0.0.1/24
sync leases
  file /tmp/dhcp.leases
  file /etc/config/dhcp
  instance lan
  port 5799
  key /etc/tinyvrrp/sync.key
  interval 5s
  max-size 200000
  after-update /etc/init.d/dnsmasq reload
sync small
  file /etc/ethers
  instance lan
  port 5800
  key /etc/tinyvrrp/sync.key
";

const SYNC_UCI: &str = "\
config instance 'lan'
\toption interface 'eth0'
\toption vrid '51'
\tlist vip '10.0.0.1/24'

config sync 'leases'
\tlist file '/tmp/dhcp.leases'
\tlist file '/etc/config/dhcp'
\toption instance 'lan'
\toption port '5799'
\toption key '/etc/tinyvrrp/sync.key'
\toption interval '5s'
\toption max_size '200000'
\toption after_update '/etc/init.d/dnsmasq reload'

config sync 'small'
\tlist file '/etc/ethers'
\toption instance 'lan'
\toption port '5800'
\toption key '/etc/tinyvrrp/sync.key'
";

#[test]
fn sync_blocks_read_alike_in_both_syntaxes_with_their_defaults() {
    let tiny = parse("t.conf", SYNC_TINY).unwrap();
    let uci = parse("t.uci", SYNC_UCI).unwrap();
    assert_eq!(without_lines(&tiny), without_lines(&uci));
    assert_eq!(
        tiny.syncs[0],
        SyncConfig {
            name: "leases".into(),
            line: 5,
            files: vec![
                ("/tmp/dhcp.leases".into(), 6),
                ("/etc/config/dhcp".into(), 7)
            ],
            instance: "lan".into(),
            instance_line: 8,
            port: 5799,
            key: ("/etc/tinyvrrp/sync.key".into(), 10),
            interval_ms: 5000,
            max_size: 200_000,
            after_update: Some(vec!["/etc/init.d/dnsmasq".into(), "reload".into()]),
        }
    );
    let small = &tiny.syncs[1];
    assert_eq!((small.interval_ms, small.max_size), (10_000, 1 << 20));
    assert_eq!(small.after_update, None);
}

#[test]
fn a_sync_blocks_first_instance_line_is_its_key_and_the_next_opens_a_block() {
    let text = "sync s\n file /tmp/a\n instance lan\n port 1\n key /k\ninstance lan\n interface eth0\n vrid 1\n vip 10.0.0.1\n";
    let config = parse("t.conf", text).unwrap();
    assert_eq!(
        (config.instances.len(), config.syncs[0].instance.as_str()),
        (1, "lan")
    );
    // UCI: an `option instance` is a key wherever it is written.
    let uci = "config instance 'lan'\n option interface eth0\n option vrid 1\n option instance x\n";
    assert_eq!(
        parse("u", uci).unwrap_err()[0].to_string(),
        "u:4: unknown key 'instance'"
    );
}

#[test]
fn sync_errors_carry_file_and_line() {
    let base = "instance lan\n interface eth0\n vrid 1\n vip 10.0.0.1\n";
    let block = "sync s\n file /tmp/a\n instance lan\n port 5799\n key /k\n";
    assert_eq!(
        errors(&format!("{base}sync s\n file tmp/a\n")),
        ["t.conf:6: file needs an absolute path, not 'tmp/a'"]
    );
    assert_eq!(
        errors(&format!("{base}sync s\n")),
        [
            "t.conf:5: sync 's' has no file",
            "t.conf:5: sync 's' has no instance",
            "t.conf:5: sync 's' has no port",
            "t.conf:5: sync 's' has no key",
        ]
    );
    assert_eq!(
        errors(&format!("{base}sync s\n file /a\n file /a\n")),
        ["t.conf:7: file /a listed twice"]
    );
    assert_eq!(
        errors(&format!(
            "{base}sync s\n file /tmp/a\n instance wan\n port 5799\n key /k\n"
        )),
        ["t.conf:7: instance wan names no instance"]
    );
    assert_eq!(
        errors(&format!(
            "{base}{block}sync t\n file /tmp/b\n instance lan\n port 5799\n key /k\n"
        )),
        ["t.conf:10: port 5799 is already used by sync 's' at line 5"]
    );
    assert_eq!(
        errors(&format!(
            "{base}{block}sync t\n file /tmp/a\n instance lan\n port 5800\n key /k\n"
        )),
        ["t.conf:11: file /tmp/a is already synced by sync 's'"]
    );
    assert_eq!(
        errors(&format!(
            "{base}{block}sync s\n file /tmp/b\n instance lan\n port 5800\n key /k\n"
        )),
        ["t.conf:10: sync 's' already defined at line 5"]
    );
    assert_eq!(
        errors(&format!(
            "{base}{block} port 1\n interval 10ms\n max-size 0\n colour blue\n"
        )),
        [
            "t.conf:10: 'port' given twice in sync 's'",
            "t.conf:11: interval must be 100ms..3600s, not 10ms",
            "t.conf:12: max-size must be 1..16777216, not '0'",
            "t.conf:13: unknown key 'colour' in sync 's'",
        ]
    );
    let many: String = (0..33).map(|i| format!(" file /tmp/f{i}\n")).collect();
    assert_eq!(
        errors(&format!(
            "{base}sync s\n{many} instance lan\n port 1\n key /k\n"
        )),
        ["t.conf:38: a sync block holds at most 32 files"]
    );
}
