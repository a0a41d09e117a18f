//! The line config: one directive per line, `#` comments, indentation
//! cosmetic; `instance NAME`, `script NAME`, `group NAME` and `sync NAME`
//! start blocks
//! that run to the next one, and global keys come before the first.
//!
//! Parsing is two steps so other front ends can share the second: text
//! becomes [`Directive`]s (key, value, line), and directives become a
//! validated [`Config`] that keeps the line of everything a later check (an
//! interface missing at start) may need to blame.
//!
//! This module holds the validated types. The front ends (the tiny format
//! and UCI) are in `syntax`; the second step, [`build`], in `build`; a
//! block as it is read, whatever its kind, in `block`; the reader of the
//! keys, which each kind of block lists in a table, in `settings`; what
//! each kind makes of its blocks, with the checks across blocks, in
//! `instance`, `script`, `group` and `sync`; the keys instances and groups share
//! (trackers, per-state notify) in `track`; the syntax of single values in
//! `values`; and what `tinyvrrp check` prints in `show`.

mod block;
mod build;
mod group;
mod instance;
mod script;
mod settings;
mod show;
// A build without file sync refuses `sync` blocks.
#[cfg(feature = "sync")]
mod sync;
#[cfg(not(feature = "sync"))]
#[path = "sync_off.rs"]
mod sync;
mod syntax;
mod track;
mod values;

pub use build::build;
pub use syntax::{tokenize, tokenize_uci, Directive, Tokens};

use core::fmt;
use core::net::IpAddr;
use core::time::Duration;

use crate::proto::fsm::Params;
use crate::proto::wire::{Checksum, Family, V2Auth, Version};

use syntax::is_uci;

const MAX_INSTANCE_NAME: usize = 32;

/// A config error, shown as `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// A virtual address with the prefix it is installed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vip {
    pub address: IpAddr,
    pub prefix: u8,
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// One `instance` block, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    pub name: String,
    pub line: usize,
    pub interface: String,
    pub interface_line: usize,
    pub vrid: u8,
    pub priority: u8,
    pub advert_cs: u16,
    pub version: Version,
    pub vips: Vec<Vip>,
    pub preempt: bool,
    /// Run on every state change as `SCRIPT INSTANCE NAME STATE PRIORITY`.
    pub notify: Option<String>,
    /// `v3-checksum`: what our v3 checksum covers.
    pub checksum: Checksum,
    /// `auth-pass`: v2 simple password, at most 8 octets.
    pub auth_pass: Option<String>,
    /// `unicast-peer`: send adverts to these and accept only theirs.
    pub unicast_peers: Vec<IpAddr>,
    /// `unicast-src`: our advert source instead of the primary address,
    /// with its line for the check at start that it is on the interface.
    pub unicast_src: At<IpAddr>,
    /// `garp-repeat`: gratuitous ARPs sent per VIP in each round.
    pub garp_repeat: u8,
    /// `garp-delay`: the second round after becoming master, in ms (0: none).
    pub garp_delay_ms: u32,
    /// `vmac`: the VIPs live on a macvlan with the RFC 5798 §7.3 virtual MAC.
    pub vmac: bool,
    /// `preempt-delay`: after start-up, no preemption of a lower-priority
    /// master for this long, in ms (0: none).
    pub preempt_delay_ms: u32,
    /// `track-interface`, `track-script`, `track-file`: its own and, for a
    /// member of a group, the group's (after its own, kind by kind).
    pub trackers: Trackers,
    /// `notify-master`, `notify-backup`, `notify-fault`, `notify-stop`.
    pub notify_states: StateScripts,
    /// `notify-master-rx-lower-pri`: run as written when, as Master, it
    /// answers a lower-priority master (keepalived's
    /// `notify_master_rx_lower_pri`).
    pub notify_lower_priority: Option<Vec<String>>,
}

/// What a tracker watches, in the order a block's trackers are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Interface,
    Script,
    File,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::Interface, Target::Script, Target::File];

    /// The key that sets it.
    pub fn key(self) -> &'static str {
        match self {
            Target::Interface => "track-interface",
            Target::Script => "track-script",
            Target::File => "track-file",
        }
    }
}

/// A tracker, `KEY NAME [weight N]`:
/// - `track-interface IFNAME`: N in -253..=253, default 0 (down means
///   FAULT);
/// - `track-script NAME`: NAME names a `script` block; the weight is N when
///   given, else that block's `weight`; -253..=253;
/// - `track-file PATH`: N in -254..=254, default 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracker {
    pub target: Target,
    /// The interface, script or file.
    pub name: String,
    pub weight: i32,
    pub line: usize,
}

/// The trackers of an instance or a group: the interfaces, then the
/// scripts, then the files, each kind in the order written.
pub type Trackers = Vec<Tracker>;

/// The per-state notify commands, each run as written (argv, no shell,
/// no arguments appended), as keepalived runs `notify_master` and the rest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StateScripts {
    pub master: Option<Vec<String>>,
    pub backup: Option<Vec<String>>,
    pub fault: Option<Vec<String>>,
    pub stop: Option<Vec<String>>,
}

/// One `script NAME` block (keepalived's `vrrp_script`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptConfig {
    pub name: String,
    pub line: usize,
    /// `exec CMD ARGS...`: argv, run without a shell.
    pub exec: Vec<String>,
    /// `interval`, default 1 s.
    pub interval_ms: u32,
    /// `timeout`, default the interval.
    pub timeout_ms: u32,
    /// `rise`, `fall`: results in a row to become OK or KO, default 1.
    pub rise: u32,
    pub fall: u32,
    /// `weight`, default 0, -253..=253: the weight of a `track-script`
    /// that gives none.
    pub weight: i32,
    /// `init-fail`: starts KO instead of deciding on the first result.
    pub init_fail: bool,
}

/// One `group NAME` block (keepalived's `vrrp_sync_group`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    pub name: String,
    pub line: usize,
    /// `member INSTANCE`, in the order written; each instance is in at
    /// most one group.
    pub members: Vec<String>,
    /// The group's own trackers; they are also copied into every member's
    /// `trackers` by the build step.
    pub trackers: Trackers,
    /// `notify SCRIPT`: run as `SCRIPT GROUP NAME STATE 0`.
    pub notify: Option<String>,
    pub notify_states: StateScripts,
}

/// One `sync NAME` block: files the master of `instance` sends to the
/// other routers (see `proto::sync`).
#[cfg(feature = "sync")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    pub name: String,
    pub line: usize,
    /// `file PATH`, each with its line, in the order written: a message
    /// names a file by its place here.
    pub files: Vec<(String, usize)>,
    pub instance: String,
    pub instance_line: usize,
    pub port: u16,
    /// `key FILE`: read at start (at least 16 bytes, readable by its owner
    /// only), with its line for those errors.
    pub key: (String, usize),
    /// `interval`: the consistency check, default 10 s.
    pub interval_ms: u32,
    /// `max-size`: larger files are not sent, default 1 MiB.
    pub max_size: u32,
    /// `after-update CMD ARGS...`: run on a receiver after each file it
    /// replaced, as written.
    pub after_update: Option<Vec<String>>,
}

/// Without file sync a config has no sync blocks: a type without values,
/// so that the lists of them compile to no code (size).
#[cfg(not(feature = "sync"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncConfig {}

impl InstanceConfig {
    /// The family of the VIPs, and so of the virtual router. (Asked in
    /// many places; compiled once.)
    #[inline(never)]
    pub fn family(&self) -> Family {
        self.vips
            .first()
            .map_or(Family::Ipv4, |vip| Family::of(vip.address))
    }

    /// Protocol parameters once the interface's primary address is known.
    pub fn params(&self, primary: IpAddr) -> Params {
        Params {
            version: self.version,
            vrid: self.vrid,
            priority: self.priority,
            advert_interval_cs: self.advert_cs,
            preempt: self.preempt,
            // The advert source is also the tie-breaker (RFC 5798 §6.4.3).
            primary: self.unicast_src.map_or(primary, |(src, _)| src),
            vips: self.vips.iter().map(|vip| vip.address).collect(),
            checksum: self.checksum,
            auth: self.auth_pass.as_ref().map_or(V2Auth::NONE, |secret| {
                V2Auth::simple_password(secret.as_bytes())
            }),
            unicast_peers: self.unicast_peers.clone(),
            garp_delay: (self.garp_delay_ms > 0)
                .then(|| Duration::from_millis(u64::from(self.garp_delay_ms))),
            preempt_delay: (self.preempt_delay_ms > 0)
                .then(|| Duration::from_millis(u64::from(self.preempt_delay_ms))),
        }
    }
}

/// The name of the macvlan that carries an instance's virtual MAC:
/// `vrrp4.VRID` or `vrrp6.VRID`. Predictable, so firewall rules and
/// scripts can name it; unique per family and VRID, which the config
/// checks across interfaces.
pub fn vmac_name(family: Family, vrid: u8) -> String {
    let digit = match family {
        Family::Ipv4 => 4,
        Family::Ipv6 => 6,
    };
    format!("vrrp{digit}.{vrid}")
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    pub instances: Vec<InstanceConfig>,
    pub scripts: Vec<ScriptConfig>,
    pub groups: Vec<GroupConfig>,
    /// `notify-fifo PATH` (before the first block): one line per state
    /// change, in keepalived's notify FIFO format.
    pub notify_fifo: Option<String>,
    pub syncs: Vec<SyncConfig>,
}

impl Config {
    pub fn script(&self, name: &str) -> Option<&ScriptConfig> {
        self.scripts.iter().find(|s| s.name == name)
    }

    /// The group an instance is a member of.
    pub fn group_of(&self, instance: &str) -> Option<&GroupConfig> {
        self.groups
            .iter()
            .find(|g| g.members.iter().any(|m| m == instance))
    }
}

/// Parses either syntax. All errors are reported, in line order.
pub fn parse(file: &str, text: &str) -> Result<Config, Vec<ConfigError>> {
    if is_uci(tokenize(text).next()) {
        build(file, &mut tokenize_uci(file, text)?.into_iter())
    } else {
        build(file, &mut tokenize(text))
    }
}

struct Errors<'a> {
    file: &'a str,
    list: Vec<ConfigError>,
}

impl Errors<'_> {
    /// Records an error. The list stays in line order, the errors of one
    /// line in the order they were found.
    fn at(&mut self, line: usize, message: String) {
        let index = self.list.partition_point(|e| e.line <= line);
        let error = ConfigError {
            file: self.file.to_string(),
            line,
            message,
        };
        self.list.insert(index, error);
    }

    /// A block named like an earlier valid one of its kind, at `first`.
    fn defined_twice(&mut self, kind: &str, name: &str, line: usize, first: usize) {
        self.fmt(
            line,
            format_args!("{kind} '{name}' already defined at line {first}"),
        );
    }

    /// [`Errors::at`] with a message still to format: one call to the
    /// formatter here instead of one at each of the many callers.
    fn fmt(&mut self, line: usize, message: fmt::Arguments<'_>) {
        self.at(line, std::fmt::format(message));
    }
}

/// A value and the line it came from.
pub type At<T> = Option<(T, usize)>;

/// fe80::/10 (RFC 4291 §2.5.6).
pub fn is_link_local(address: IpAddr) -> bool {
    matches!(address, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
}

/// Whether `c` is whitespace as `char::is_whitespace` says (Unicode's
/// White_Space), written out: std's version and its table were in the
/// image for the config's words and the status tables alone (size).
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// `str::trim_end` with [`is_space`], by a forward scan: the backward one
/// was more code (size).
pub fn trim_end(text: &str) -> &str {
    let mut end = 0;
    for (i, c) in text.char_indices() {
        if !is_space(c) {
            end = i + c.len_utf8();
        }
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_space_is_char_is_whitespace() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_eq!(super::is_space(c), c.is_whitespace(), "{:?}", c);
        }
    }

    #[test]
    fn trim_end_is_str_trim_end() {
        for text in [
            "",
            " ",
            "a",
            " a b \t\u{a0}",
            "\u{3000}é\u{2028}",
            "x\u{85}y  ",
        ] {
            assert_eq!(super::trim_end(text), text.trim_end(), "{text:?}");
        }
    }
}
