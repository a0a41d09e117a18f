//! Issue 10's keys: every error at its line, the global FIFO, UCI's
//! `config globals` and its underscore option names.

use tinyvrrp::config::{parse, ConfigError, Target};

use super::tracking::{of, script};
use super::{errors, without_lines};

#[test]
fn tracker_and_notify_errors_carry_file_and_line() {
    // The extra lines start at line 8.
    let base =
        "script s\nexec /bin/true\nweight -7\ninstance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\n";
    let cases = [
        (
            "track-interface eth1 weigth 3\n",
            "t.conf:8: expected: track-interface IFNAME [weight N], not 'eth1 weigth 3'",
        ),
        (
            "track-interface eth1 weight\n",
            "t.conf:8: expected: track-interface IFNAME [weight N], not 'eth1 weight'",
        ),
        (
            "track-interface\n",
            "t.conf:8: 'track-interface' needs a value",
        ),
        (
            "track-interface eth1 weight 254\n",
            "t.conf:8: weight must be -253..253, not '254'",
        ),
        (
            "track-interface eth1 weight -254\n",
            "t.conf:8: weight must be -253..253, not '-254'",
        ),
        (
            "track-interface eth1 weight x\n",
            "t.conf:8: weight must be -253..253, not 'x'",
        ),
        (
            "track-interface eth/1\n",
            "t.conf:8: 'eth/1' is not a valid interface name",
        ),
        (
            "track-interface eth0:1\n",
            "t.conf:8: 'eth0:1' is not a valid interface name",
        ),
        (
            "track-interface eth1\ntrack-interface eth1 weight 5\n",
            "t.conf:9: track-interface eth1 is already tracked at line 8",
        ),
        (
            "track-script s weight 300\n",
            "t.conf:8: weight must be -253..253, not '300'",
        ),
        (
            "track-script nope\n",
            "t.conf:8: track-script nope names no script block",
        ),
        (
            "track-script s\ntrack-script s weight 1\n",
            "t.conf:9: track-script s is already tracked at line 8",
        ),
        (
            "track-script s weight 1 2\n",
            "t.conf:8: expected: track-script NAME [weight N], not 's weight 1 2'",
        ),
        (
            "track-file /tmp/p weight 255\n",
            "t.conf:8: weight must be -254..254, not '255'",
        ),
        (
            "track-file prio\n",
            "t.conf:8: track-file needs an absolute path, not 'prio'",
        ),
        (
            "track-file /tmp/p\ntrack-file /tmp/p weight 2\n",
            "t.conf:9: track-file /tmp/p is already tracked at line 8",
        ),
        (
            "track-file /tmp/p weight\n",
            "t.conf:8: expected: track-file PATH [weight N], not '/tmp/p weight'",
        ),
        (
            "notify-master\n",
            "t.conf:8: 'notify-master' needs a command",
        ),
        (
            "notify-stop /a\nnotify-stop /b x\n",
            "t.conf:9: 'notify-stop' given twice in instance 'a'",
        ),
    ];
    for (extra, expected) in cases {
        assert_eq!(errors(&format!("{base}{extra}")), vec![expected], "{extra}");
    }
}

#[test]
fn script_errors_carry_file_and_line() {
    // The script block starts at line 5, its keys at line 6.
    let base = "instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\nscript s\n";
    let cases = [
        (
            "exec /bin/true\ninterval 5ms\n",
            "t.conf:7: interval must be 10ms..3600s, not 5ms",
        ),
        (
            "exec /bin/true\ninterval 3601s\n",
            "t.conf:7: interval must be 10ms..3600s, not 3601000ms",
        ),
        (
            "exec /bin/true\ntimeout 2\n",
            "t.conf:7: timeout needs a unit, ms or s: '2'",
        ),
        (
            "exec /bin/true\nrise 0\n",
            "t.conf:7: rise must be 1..1000, not '0'",
        ),
        (
            "exec /bin/true\nfall 1001\n",
            "t.conf:7: fall must be 1..1000, not '1001'",
        ),
        (
            "exec /bin/true\nweight -254\n",
            "t.conf:7: weight must be -253..253, not '-254'",
        ),
        (
            "exec /bin/true\ninit-fail maybe\n",
            "t.conf:7: init-fail must be on or off, not 'maybe'",
        ),
        (
            "exec /bin/true\ncolour blue\n",
            "t.conf:7: unknown key 'colour' in script 's'",
        ),
        (
            "exec /bin/true\nrise 2\nrise 3\n",
            "t.conf:8: 'rise' given twice in script 's'",
        ),
        (
            "exec /bin/true\nexec /bin/false\n",
            "t.conf:7: 'exec' given twice in script 's'",
        ),
        (
            "exec /bin/true\nrise 2 3\n",
            "t.conf:7: 'rise' takes one value",
        ),
        ("exec\n", "t.conf:6: 'exec' needs a command"),
        ("interval 2s\n", "t.conf:5: script 's' has no exec"),
        (
            "exec /bin/true\nscript s\nexec /bin/false\n",
            "t.conf:7: script 's' already defined at line 5",
        ),
        (
            "exec /bin/true\nscript bad/name\nexec /bin/true\n",
            "t.conf:7: script name must be 1..32 of A-Z a-z 0-9 _ - .",
        ),
        (
            "exec /bin/true\nscript\nexec /bin/true\n",
            "t.conf:7: expected: script NAME",
        ),
    ];
    for (extra, expected) in cases {
        assert_eq!(errors(&format!("{base}{extra}")), vec![expected], "{extra}");
    }
}

#[test]
fn group_errors_carry_file_and_line() {
    // The group block starts at line 9, its keys at line 10.
    let base = "instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\n\
                instance b\ninterface eth0\nvrid 2\nvip 10.0.0.2\ngroup g\n";
    let cases = [
        ("member a\nmember a\n", "t.conf:11: member a listed twice"),
        (
            "member ghost\n",
            "t.conf:10: member ghost names no instance",
        ),
        ("notify /x\n", "t.conf:9: group 'g' has no member"),
        (
            "member a\ngroup h\nmember b\nmember a\n",
            "t.conf:13: instance 'a' is already a member of group 'g' at line 10",
        ),
        (
            "member a\ncolour red\n",
            "t.conf:11: unknown key 'colour' in group 'g'",
        ),
        (
            "member a\nnotify /x\nnotify /y\n",
            "t.conf:12: 'notify' given twice in group 'g'",
        ),
        (
            "member a\nnotify-fault /x\nnotify-fault /y\n",
            "t.conf:12: 'notify-fault' given twice in group 'g'",
        ),
        ("member a b\n", "t.conf:10: 'member' takes one value"),
        (
            "member a\ngroup g\nmember b\n",
            "t.conf:11: group 'g' already defined at line 9",
        ),
        (
            "member a\ntrack-script nope\n",
            "t.conf:11: track-script nope names no script block",
        ),
        (
            "member a\ntrack-interface eth1 weight -300\n",
            "t.conf:11: weight must be -253..253, not '-300'",
        ),
        (
            "member a\ngroup g.h/i\nmember b\n",
            "t.conf:11: group name must be 1..32 of A-Z a-z 0-9 _ - .",
        ),
    ];
    for (extra, expected) in cases {
        assert_eq!(errors(&format!("{base}{extra}")), vec![expected], "{extra}");
    }
    // A member whose instance has errors of its own is not blamed again.
    assert_eq!(
        errors("instance c\ninterface eth0\nvrid 0\nvip 10.0.0.3\ngroup g\nmember c\n"),
        vec!["t.conf:3: vrid must be 1..255, not '0'"]
    );
    // Nor is a track-script whose script block has errors.
    assert_eq!(
        errors("script s\nexec /bin/true\nrise 0\ninstance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\ntrack-script s\n"),
        vec!["t.conf:3: rise must be 1..1000, not '0'"]
    );
    // Every error at once, across blocks.
    assert_eq!(
        errors("script s\nexec\ninstance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\ntrack-file x\ngroup g\nmember z\n"),
        vec![
            "t.conf:2: 'exec' needs a command",
            "t.conf:7: track-file needs an absolute path, not 'x'",
            "t.conf:9: member z names no instance",
        ]
    );
}

#[test]
fn notify_fifo_is_global_absolute_and_given_once() {
    let base = "instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\n";
    let config = parse("t.conf", &format!("notify-fifo /run/t.fifo\n{base}")).unwrap();
    assert_eq!(config.notify_fifo.as_deref(), Some("/run/t.fifo"));
    let cases = [
        (
            format!("{base}notify-fifo /run/t.fifo\n"),
            "t.conf:5: notify-fifo is global: write it before the first block (UCI: in config globals)",
        ),
        (
            format!("notify-fifo /a\nnotify-fifo /b\n{base}"),
            "t.conf:2: 'notify-fifo' given twice",
        ),
        (
            format!("notify-fifo t.fifo\n{base}"),
            "t.conf:1: notify-fifo needs an absolute path, not 't.fifo'",
        ),
        (
            format!("notify-fifo\n{base}"),
            "t.conf:1: 'notify-fifo' needs a value",
        ),
        (
            format!("exec /bin/true\n{base}"),
            "t.conf:1: 'exec' outside a block",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(errors(&text), vec![expected], "{text}");
    }
}

#[test]
fn uci_globals_sections_and_their_errors() {
    let base = "config instance a\n option interface eth0\n option vrid 1\n list vip 10.0.0.1\n";
    let config = parse(
        "u",
        &format!("{base}config globals\n option notify_fifo /run/t.fifo\n"),
    )
    .unwrap();
    assert_eq!(config.notify_fifo.as_deref(), Some("/run/t.fifo"));
    let uci_errors = |text: &str| -> Vec<String> {
        parse("u", text)
            .unwrap_err()
            .iter()
            .map(ConfigError::to_string)
            .collect()
    };
    assert_eq!(
        uci_errors(&format!("{base} option notify_fifo /run/t.fifo\n")),
        vec![
            "u:5: notify-fifo is global: write it before the first block (UCI: in config globals)"
        ]
    );
    assert_eq!(
        uci_errors(&format!("config globals 'g'\n option colour blue\n option notify-fifo /a\nconfig globals\n option notify_fifo /b\n{base}")),
        vec![
            "u:2: unknown key 'colour' in config globals",
            "u:5: 'notify-fifo' given twice",
        ]
    );
    // A section type is no option name: it would open a block. (Not
    // `instance`: a sync section's option names its instance.)
    assert_eq!(
        uci_errors(&format!("{base} option group gw\n list script b\n")),
        vec![
            "u:5: 'group' is a section type, not an option: config group ...",
            "u:6: 'script' is a section type, not an option: config script ...",
        ]
    );
    // Anonymous script and group sections are numbered like instances.
    let config = parse(
        "u",
        &format!("{base}config script\n option exec /bin/true\nconfig group\n list member a\n list track_script script1\n"),
    )
    .unwrap();
    assert_eq!(config.scripts[0].name, "script1");
    assert_eq!(config.groups[0].name, "group1");
    assert_eq!(
        of(&config.groups[0].trackers, Target::Script),
        vec![script("script1", 0, 9)]
    );
}

#[test]
fn uci_values_split_into_words_only_for_keys_that_take_several() {
    let base = "config instance a\n option vrid 1\n list vip 10.0.0.1\n";
    let uci_errors = |text: &str| -> Vec<String> {
        parse("u", text)
            .unwrap_err()
            .iter()
            .map(ConfigError::to_string)
            .collect()
    };
    assert_eq!(
        uci_errors(&format!("{base} option interface 'eth0 eth1'\n")),
        vec!["u:4: 'eth0 eth1' is not a valid interface name"]
    );
    assert_eq!(
        uci_errors(&format!(
            "{base} option interface eth0\n list track_interface ''\n option notify_stop ' '\n list track_file '/tmp/p weight'\n"
        )),
        vec![
            "u:5: 'track-interface' needs a value",
            "u:6: 'notify-stop' needs a command",
            "u:7: expected: track-file PATH [weight N], not '/tmp/p weight'",
        ]
    );
}

#[test]
fn uci_option_names_may_use_underscores_for_dashes() {
    // The `uci` tool accepts only [A-Za-z0-9_] in option names.
    let tiny = parse(
        "tiny.conf",
        "instance v2\ninterface eth0\nvrid 1\nvip 10.0.0.1\nversion 2\nauth-pass secret1\npreempt-delay 5s\ngarp-repeat 2\ngarp-delay 1s\n\
         instance v3\ninterface eth0\nvrid 2\nvip 10.0.0.2\nv3-checksum as-v2\nunicast-peer 10.0.0.12\nunicast-src 10.0.0.11\n",
    )
    .unwrap();
    let uci = parse(
        "/etc/config/tinyvrrp",
        "config instance v2\n option interface eth0\n option vrid 1\n list vip 10.0.0.1\n option version 2\n option auth_pass secret1\n option preempt_delay 5s\n option garp_repeat 2\n option garp-delay 1s\n\
         config instance v3\n option interface eth0\n option vrid 2\n list vip 10.0.0.2\n option v3_checksum as-v2\n list unicast_peer 10.0.0.12\n option unicast_src 10.0.0.11\n",
    )
    .unwrap();
    assert_eq!(without_lines(&tiny), without_lines(&uci));
    assert_eq!(uci.instances[0].preempt_delay_ms, 5000);
    // Only names: values keep their underscores, and the tiny format its
    // own spelling.
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\npreempt_delay 5s\n"),
        vec!["t.conf:5: unknown key 'preempt_delay'"]
    );
    assert_eq!(
        errors("instance a\ninterface eth0\nvrid 1\nvip 10.0.0.1\nv3-checksum as_v2\n"),
        vec!["t.conf:5: v3-checksum must be pseudo-header or as-v2, not 'as_v2'"]
    );
}

#[test]
fn arbitrary_directives_never_panic() {
    // Whole words rather than bytes, so the block and tracker rules run.
    let words = [
        "instance",
        "script",
        "group",
        "member",
        "interface",
        "vrid",
        "vip",
        "priority",
        "255",
        "exec",
        "interval",
        "timeout",
        "rise",
        "fall",
        "weight",
        "init-fail",
        "notify",
        "notify-master",
        "notify-fifo",
        "track-interface",
        "track-script",
        "track-file",
        "eth0",
        "eth1",
        "a",
        "b",
        "s",
        "g",
        "10.0.0.1",
        "/tmp/p",
        "/bin/true",
        "1",
        "-5",
        "0",
        "2s",
        "on",
        "\n",
        "\n",
        "\n",
        "\n",
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..3000 {
        let text: Vec<&str> = (0..60)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                words[(seed % words.len() as u64) as usize]
            })
            .collect();
        let text = text.join(" ");
        if let Err(errors) = parse("fuzz.conf", &text) {
            let lines = text.lines().count().max(1);
            assert!(
                errors.iter().all(|e| (1..=lines).contains(&e.line)),
                "{text}"
            );
        }
    }
}
