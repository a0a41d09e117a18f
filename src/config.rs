//! The line config: one directive per line, `#` comments, indentation
//! cosmetic, `instance NAME` starts a block that runs to the next one.
//!
//! Parsing is two steps so other front ends can share the second: text
//! becomes [`Directive`]s (key, value, line), and directives become a
//! validated [`Config`] that keeps the line of everything a later check (an
//! interface missing at start) may need to blame.

use core::fmt;
use core::net::IpAddr;
use core::time::Duration;

use crate::proto::fsm::{Params, PRIORITY_OWNER};
use crate::proto::wire::{
    Checksum, Family, V2Auth, Version, MAX_ADDRESSES, MAX_ADVER_INT_CS, V2_AUTH_DATA_LEN,
};

/// Linux IFNAMSIZ less the terminating NUL.
const MAX_INTERFACE_NAME: usize = 15;
const MAX_INSTANCE_NAME: usize = 32;
const DEFAULT_PRIORITY: u8 = 100;
const DEFAULT_ADVERT_CS: u16 = 100;
/// keepalived's `vrrp_garp_master_repeat`: gratuitous ARPs per VIP at once.
const DEFAULT_GARP_REPEAT: u8 = 5;
/// keepalived's `vrrp_garp_master_delay`: the second round, after 5 s.
const DEFAULT_GARP_DELAY_MS: u32 = 5000;
/// A second round later than this would only confuse (an hour).
const MAX_GARP_DELAY_MS: u32 = 3_600_000;

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
}

impl InstanceConfig {
    /// The family of the VIPs, and so of the virtual router.
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
        }
    }
}

impl fmt::Display for InstanceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "instance {}: interface {}, vrid {}, {}, version {}, priority {}{}, advert {}ms, preempt {}, vip",
            self.name,
            self.interface,
            self.vrid,
            self.family().name(),
            self.version.number(),
            self.priority,
            if self.priority == PRIORITY_OWNER { " (address owner)" } else { "" },
            u32::from(self.advert_cs) * 10,
            if self.preempt { "on" } else { "off" },
        )?;
        for vip in &self.vips {
            write!(f, " {vip}")?;
        }
        if let Some(script) = &self.notify {
            write!(f, ", notify {script}")?;
        }
        if self.version == Version::V3 && self.checksum == Checksum::MessageOnly {
            write!(f, ", v3-checksum as-v2")?;
        }
        if self.auth_pass.is_some() {
            write!(f, ", auth-pass set")?;
        }
        if !self.unicast_peers.is_empty() {
            write!(f, ", unicast-peer")?;
            for peer in &self.unicast_peers {
                write!(f, " {peer}")?;
            }
        }
        if let Some((src, _)) = self.unicast_src {
            write!(f, ", unicast-src {src}")?;
        }
        write!(
            f,
            ", garp-repeat {}, garp-delay {}ms",
            self.garp_repeat, self.garp_delay_ms
        )?;
        if self.vmac {
            write!(f, ", vmac {}", vmac_name(self.family(), self.vrid))?;
        }
        Ok(())
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
}

/// One `key value...` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub line: usize,
    pub key: String,
    pub args: Vec<String>,
}

/// Splits the tiny format into directives.
pub fn tokenize(text: &str) -> Vec<Directive> {
    text.lines()
        .enumerate()
        .filter_map(|(index, raw)| {
            let content = raw.split('#').next().unwrap_or("");
            let mut words = content.split_whitespace().map(str::to_string);
            let key = words.next()?;
            Some(Directive {
                line: index + 1,
                key,
                args: words.collect(),
            })
        })
        .collect()
}

/// Splits OpenWrt's UCI syntax (`config`/`option`/`list`, quoted values)
/// into the same directives as the tiny format: `config instance NAME`
/// opens a block, `option KEY VALUE` and `list KEY VALUE` are `KEY VALUE`.
pub fn tokenize_uci(file: &str, text: &str) -> Result<Vec<Directive>, Vec<ConfigError>> {
    let mut directives = Vec::new();
    let mut errors = Vec::new();
    let mut anonymous = 0;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let error = |message: String| ConfigError {
            file: file.to_string(),
            line,
            message,
        };
        let words = match uci_words(raw) {
            Ok(words) => words,
            Err(message) => {
                errors.push(error(message));
                continue;
            }
        };
        let Some((keyword, rest)) = words.split_first() else {
            continue;
        };
        match (keyword.as_str(), rest) {
            ("package", [_]) => {}
            ("config", [kind, name @ ..]) if kind == "instance" && name.len() <= 1 => {
                let name = name.first().cloned().unwrap_or_else(|| {
                    anonymous += 1;
                    format!("instance{anonymous}")
                });
                directives.push(Directive {
                    line,
                    key: "instance".to_string(),
                    args: vec![name],
                });
            }
            ("config", [kind, ..]) if kind != "instance" => {
                errors.push(error(format!("unknown section type '{kind}'")));
            }
            ("option" | "list", [key, value]) => directives.push(Directive {
                line,
                key: key.clone(),
                args: vec![value.clone()],
            }),
            _ => errors.push(error(format!(
                "expected: config instance NAME, option KEY VALUE or list KEY VALUE, not '{}'",
                raw.trim()
            ))),
        }
    }
    if errors.is_empty() {
        Ok(directives)
    } else {
        Err(errors)
    }
}

/// One UCI line as words: bare, 'single quoted' or "double quoted" (with
/// backslash escapes), adjacent pieces joined as the shell does; `#` outside
/// quotes starts a comment.
fn uci_words(raw: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = raw.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(words),
            Some(_) => {}
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '#' {
                break;
            }
            chars.next();
            match c {
                '\'' => loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated ' quote".to_string()),
                    }
                },
                '"' => loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => word.push(c),
                            None => return Err("unterminated \" quote".to_string()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated \" quote".to_string()),
                    }
                },
                '\\' => match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("a line may not end in \\".to_string()),
                },
                c => word.push(c),
            }
        }
        words.push(word);
    }
}

/// Whether a file is in UCI syntax: its first directive is `config` or
/// `package`, which the tiny format does not have.
fn is_uci(text: &str) -> bool {
    tokenize(text)
        .first()
        .is_some_and(|d| d.key == "config" || d.key == "package")
}

/// Parses either syntax. All errors are reported, in line order.
pub fn parse(file: &str, text: &str) -> Result<Config, Vec<ConfigError>> {
    if is_uci(text) {
        build(file, &tokenize_uci(file, text)?)
    } else {
        build(file, &tokenize(text))
    }
}

/// Turns directives into a validated config.
pub fn build(file: &str, directives: &[Directive]) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Errors {
        file,
        list: Vec::new(),
    };
    let mut blocks: Vec<Block> = Vec::new();
    for directive in directives {
        if directive.key == "instance" {
            match directive.args.as_slice() {
                [name] if valid_name(name) => blocks.push(Block::new(name, directive.line)),
                [_] => errors.at(
                    directive.line,
                    format!("instance name must be 1..{MAX_INSTANCE_NAME} of A-Z a-z 0-9 _ - ."),
                ),
                _ => errors.at(directive.line, "expected: instance NAME".into()),
            }
            continue;
        }
        match blocks.last_mut() {
            Some(block) => block.apply(directive, &mut errors),
            None => errors.at(
                directive.line,
                format!("'{}' outside an instance block", directive.key),
            ),
        }
    }
    let mut instances: Vec<InstanceConfig> = Vec::new();
    for block in blocks {
        if let Some(instance) = block.finish(&mut errors) {
            if let Some(other) = instances.iter().find(|i| i.name == instance.name) {
                errors.at(
                    instance.line,
                    format!(
                        "instance '{}' already defined at line {}",
                        instance.name, other.line
                    ),
                );
            } else if let Some(other) = instances.iter().find(|i| {
                i.interface == instance.interface
                    && i.vrid == instance.vrid
                    && i.family() == instance.family()
            }) {
                // RFC 5798 §7.3: IPv4 and IPv6 virtual routers with one VRID
                // are distinct (their virtual MACs differ); one family may
                // use a VRID once per interface.
                errors.at(
                    instance.line,
                    format!(
                        "vrid {} on {} ({}) is already used by instance '{}' at line {}",
                        instance.vrid,
                        instance.interface,
                        instance.family().name(),
                        other.name,
                        other.line
                    ),
                );
            } else if let Some(other) = instances.iter().find(|i| {
                instance.vmac
                    && i.vmac
                    && i.vrid == instance.vrid
                    && i.family() == instance.family()
            }) {
                errors.at(
                    instance.line,
                    format!(
                        "vmac {} is already used by instance '{}' at line {}",
                        vmac_name(instance.family(), instance.vrid),
                        other.name,
                        other.line
                    ),
                );
            } else {
                instances.push(instance);
            }
        }
    }
    if instances.is_empty() && errors.list.is_empty() {
        errors.at(1, "no instance defined".into());
    }
    if errors.list.is_empty() {
        Ok(Config { instances })
    } else {
        errors.list.sort_by_key(|e| e.line);
        Err(errors.list)
    }
}

struct Errors<'a> {
    file: &'a str,
    list: Vec<ConfigError>,
}

impl Errors<'_> {
    fn at(&mut self, line: usize, message: String) {
        self.list.push(ConfigError {
            file: self.file.to_string(),
            line,
            message,
        });
    }
}

/// A value and the line it came from.
pub type At<T> = Option<(T, usize)>;

/// An instance block while its directives are read.
struct Block {
    name: String,
    line: usize,
    interface: At<String>,
    vrid: At<u8>,
    priority: At<u8>,
    advert_ms: At<u32>,
    version: At<Version>,
    vips: Vec<(Vip, usize)>,
    preempt: At<bool>,
    notify: At<String>,
    checksum: At<Checksum>,
    auth_pass: At<String>,
    unicast_peers: Vec<(IpAddr, usize)>,
    unicast_src: At<IpAddr>,
    garp_repeat: At<u8>,
    garp_delay_ms: At<u32>,
    vmac: At<bool>,
    /// A line of this block was rejected: a key it names may look missing,
    /// so "has no ..." would only repeat that error.
    had_errors: bool,
}

impl Block {
    fn new(name: &str, line: usize) -> Block {
        Block {
            name: name.to_string(),
            line,
            interface: None,
            vrid: None,
            priority: None,
            advert_ms: None,
            version: None,
            vips: Vec::new(),
            preempt: None,
            notify: None,
            checksum: None,
            auth_pass: None,
            unicast_peers: Vec::new(),
            unicast_src: None,
            garp_repeat: None,
            garp_delay_ms: None,
            vmac: None,
            had_errors: false,
        }
    }

    fn apply(&mut self, directive: &Directive, errors: &mut Errors<'_>) {
        let before = errors.list.len();
        self.apply_value(directive, errors);
        self.had_errors |= errors.list.len() != before;
    }

    fn apply_value(&mut self, directive: &Directive, errors: &mut Errors<'_>) {
        let line = directive.line;
        let key = directive.key.as_str();
        let value = match directive.args.as_slice() {
            [value] => value.as_str(),
            [] => return errors.at(line, format!("'{key}' needs a value")),
            _ => return errors.at(line, format!("'{key}' takes one value")),
        };
        let result = match key {
            "interface" => parse_interface(value).map(|v| set(&mut self.interface, v, line)),
            "vrid" => parse_int(value, 1, 255, "vrid").map(|v| set(&mut self.vrid, v as u8, line)),
            "priority" => {
                parse_int(value, 1, 255, "priority").map(|v| set(&mut self.priority, v as u8, line))
            }
            "advert" => parse_duration_ms(key, value).map(|v| set(&mut self.advert_ms, v, line)),
            "version" => match value {
                "2" => Ok(set(&mut self.version, Version::V2, line)),
                "3" => Ok(set(&mut self.version, Version::V3, line)),
                _ => Err(format!("version must be 2 or 3, not '{value}'")),
            },
            "vip" => parse_vip(value).map(|vip| {
                if self.vips.iter().any(|(v, _)| v.address == vip.address) {
                    false
                } else {
                    self.vips.push((vip, line));
                    true
                }
            }),
            "preempt" => parse_switch(key, value).map(|on| set(&mut self.preempt, on, line)),
            "vmac" => parse_switch(key, value).map(|on| set(&mut self.vmac, on, line)),
            "notify" => Ok(set(&mut self.notify, value.to_string(), line)),
            "v3-checksum" => match value {
                "pseudo-header" => Ok(set(&mut self.checksum, Checksum::PseudoHeader, line)),
                "as-v2" => Ok(set(&mut self.checksum, Checksum::MessageOnly, line)),
                _ => Err(format!(
                    "v3-checksum must be pseudo-header or as-v2, not '{value}'"
                )),
            },
            "auth-pass" => {
                if value.is_empty() || value.len() > V2_AUTH_DATA_LEN {
                    Err(format!(
                        "auth-pass must be 1..{V2_AUTH_DATA_LEN} octets, not {}",
                        value.len()
                    ))
                } else {
                    Ok(set(&mut self.auth_pass, value.to_string(), line))
                }
            }
            "unicast-peer" => parse_unicast(value).map(|peer| {
                if self.unicast_peers.iter().any(|(p, _)| *p == peer) {
                    false
                } else {
                    self.unicast_peers.push((peer, line));
                    true
                }
            }),
            "unicast-src" => parse_unicast(value).map(|src| set(&mut self.unicast_src, src, line)),
            "garp-repeat" => parse_int(value, 1, 255, "garp-repeat")
                .map(|v| set(&mut self.garp_repeat, v as u8, line)),
            "garp-delay" => parse_duration_ms(key, value).and_then(|ms| {
                if ms > MAX_GARP_DELAY_MS {
                    Err(format!("garp-delay must be 0s..3600s, not {ms}ms"))
                } else {
                    Ok(set(&mut self.garp_delay_ms, ms, line))
                }
            }),
            _ => Err(format!("unknown key '{key}'")),
        };
        match result {
            Ok(true) => {}
            Ok(false) if key == "vip" || key == "unicast-peer" => {
                errors.at(line, format!("{key} {value} listed twice"))
            }
            Ok(false) => errors.at(
                line,
                format!("'{key}' given twice in instance '{}'", self.name),
            ),
            Err(message) => errors.at(line, message),
        }
    }

    fn finish(self, errors: &mut Errors<'_>) -> Option<InstanceConfig> {
        if self.had_errors {
            return None;
        }
        let before = errors.list.len();
        check_families(&self, self.version.map_or(Version::V3, |(v, _)| v), errors);
        let Some((interface, interface_line)) = self.interface else {
            errors.at(
                self.line,
                format!("instance '{}' has no interface", self.name),
            );
            return None;
        };
        let Some((vrid, _)) = self.vrid else {
            errors.at(self.line, format!("instance '{}' has no vrid", self.name));
            return None;
        };
        if self.vips.is_empty() {
            errors.at(self.line, format!("instance '{}' has no vip", self.name));
        }
        if self.vips.len() > MAX_ADDRESSES {
            errors.at(
                self.line,
                format!("at most {MAX_ADDRESSES} vips per instance"),
            );
        }
        let version = self.version.map_or(Version::V3, |(v, _)| v);
        let advert_cs = match self.advert_ms {
            None => DEFAULT_ADVERT_CS,
            Some((ms, line)) => match check_advert(version, ms) {
                Ok(cs) => cs,
                Err(message) => {
                    errors.at(line, message);
                    DEFAULT_ADVERT_CS
                }
            },
        };
        let checksum = match (version, self.checksum) {
            (_, None) => Checksum::standard(version),
            (Version::V3, Some((form, _))) => form,
            (Version::V2, Some((_, line))) => {
                errors.at(line, "v3-checksum applies to version 3 only".into());
                Checksum::standard(version)
            }
        };
        // RFC 5798 removed authentication (§9); only v2 carries a password.
        if let (Version::V3, Some((_, line))) = (version, &self.auth_pass) {
            errors.at(
                *line,
                "auth-pass needs version 2 (VRRPv3 has no authentication)".into(),
            );
        }
        if let Some((src, line)) = self.unicast_src {
            if self.unicast_peers.is_empty() {
                errors.at(line, "unicast-src needs at least one unicast-peer".into());
            }
            if let Some((_, peer_line)) = self.unicast_peers.iter().find(|(p, _)| *p == src) {
                errors.at(
                    *peer_line,
                    format!("unicast-peer {src} is our own unicast-src"),
                );
            }
        }
        if errors.list.len() != before {
            return None;
        }
        Some(InstanceConfig {
            name: self.name,
            line: self.line,
            interface,
            interface_line,
            vrid,
            priority: self.priority.map_or(DEFAULT_PRIORITY, |(p, _)| p),
            advert_cs,
            version,
            vips: self.vips.into_iter().map(|(vip, _)| vip).collect(),
            preempt: self.preempt.is_none_or(|(p, _)| p),
            notify: self.notify.map(|(script, _)| script),
            checksum,
            auth_pass: self.auth_pass.map(|(secret, _)| secret),
            unicast_peers: self.unicast_peers.into_iter().map(|(p, _)| p).collect(),
            unicast_src: self.unicast_src,
            garp_repeat: self.garp_repeat.map_or(DEFAULT_GARP_REPEAT, |(n, _)| n),
            garp_delay_ms: self
                .garp_delay_ms
                .map_or(DEFAULT_GARP_DELAY_MS, |(ms, _)| ms),
            vmac: self.vmac.is_some_and(|(on, _)| on),
        })
    }
}

/// One family per instance (RFC 5798 §5.2.9: the address list is of one
/// family), IPv6 only with version 3 (RFC 3768 is IPv4 only), the first
/// IPv6 address link-local (RFC 5798 §5.2.9), peers of the same family,
/// and a virtual MAC only with multicast.
fn check_families(block: &Block, version: Version, errors: &mut Errors<'_>) {
    let Some(&(first, _)) = block.vips.first() else {
        return;
    };
    let family = Family::of(first.address);
    for (vip, line) in &block.vips {
        if Family::of(vip.address) != family {
            errors.at(
                *line,
                format!(
                    "vip {vip} is {} but the instance's first vip is {}; write one instance per family (they may share the vrid)",
                    Family::of(vip.address).name(),
                    family.name()
                ),
            );
        }
    }
    if family == Family::Ipv6 {
        if let (Version::V2, Some((_, line))) = (version, &block.version) {
            errors.at(
                *line,
                "IPv6 needs version 3 (VRRPv2, RFC 3768, is IPv4 only)".into(),
            );
        }
        if !is_link_local(first.address) {
            errors.at(
                block.vips[0].1,
                format!(
                    "the first IPv6 vip must be link-local (RFC 5798 §5.2.9), e.g. 'vip fe80::1/64' before 'vip {first}'"
                ),
            );
        }
    }
    let wrong_family = block
        .unicast_peers
        .iter()
        .chain(block.unicast_src.iter())
        .filter(|(address, _)| Family::of(*address) != family);
    for (address, line) in wrong_family {
        errors.at(
            *line,
            format!("{address} is not {} like the vips", family.name()),
        );
    }
    if let (Some((true, line)), Some(_)) = (block.vmac, block.unicast_peers.first()) {
        errors.at(
            line,
            "vmac needs multicast adverts: remove the unicast-peer lines or vmac".into(),
        );
    }
}

/// fe80::/10 (RFC 4291 §2.5.6).
pub fn is_link_local(address: IpAddr) -> bool {
    matches!(address, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
}

/// `on`/`off`, and UCI's booleans too, so `option preempt '0'` works as
/// LuCI writes it.
fn parse_switch(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "on" | "1" | "yes" | "true" | "enabled" => Ok(true),
        "off" | "0" | "no" | "false" | "disabled" => Ok(false),
        _ => Err(format!("{key} must be on or off, not '{value}'")),
    }
}

/// Stores a single-valued key; false when it was already set.
fn set<T>(slot: &mut At<T>, value: T, line: usize) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = Some((value, line));
    true
}

fn valid_name(name: &str) -> bool {
    (1..=MAX_INSTANCE_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

fn parse_interface(value: &str) -> Result<String, String> {
    if value.len() > MAX_INTERFACE_NAME || value.contains('/') || value == "." || value == ".." {
        return Err(format!("'{value}' is not a valid interface name"));
    }
    Ok(value.to_string())
}

fn parse_int(value: &str, min: u32, max: u32, what: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{what} must be {min}..{max}, not '{value}'")),
    }
}

/// `100ms`, `1s`: a whole number with a unit.
fn parse_duration_ms(key: &str, value: &str) -> Result<u32, String> {
    let (digits, scale) = if let Some(ms) = value.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = value.strip_suffix('s') {
        (s, 1000)
    } else {
        return Err(format!("{key} needs a unit, ms or s: '{value}'"));
    };
    digits
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("'{value}' is not a whole number of ms or s"))
}

/// RFC 5798 §5.2.7: v3 intervals are 12-bit centiseconds; RFC 3768 §5.3.7:
/// v2 intervals are whole seconds in one octet.
fn check_advert(version: Version, ms: u32) -> Result<u16, String> {
    match version {
        Version::V3 => {
            let max_ms = u32::from(MAX_ADVER_INT_CS) * 10;
            if ms % 10 != 0 || !(10..=max_ms).contains(&ms) {
                return Err(format!(
                    "advert for version 3 must be 10ms..{max_ms}ms in 10 ms steps, not {ms}ms"
                ));
            }
            Ok((ms / 10) as u16)
        }
        Version::V2 => {
            if ms % 1000 != 0 || !(1000..=255_000).contains(&ms) {
                return Err(format!(
                    "advert for version 2 must be whole seconds 1s..255s, not {ms}ms"
                ));
            }
            Ok((ms / 10) as u16)
        }
    }
}

/// A unicast peer or source: a host address of either family.
fn parse_unicast(value: &str) -> Result<IpAddr, String> {
    let address: IpAddr = value
        .parse()
        .map_err(|_| format!("'{value}' is not an IPv4 or IPv6 address"))?;
    if address.is_unspecified() || address.is_multicast() || is_broadcast(address) {
        return Err(format!("{address} cannot be a unicast address"));
    }
    Ok(address)
}

fn is_broadcast(address: IpAddr) -> bool {
    matches!(address, IpAddr::V4(a) if a.is_broadcast())
}

fn parse_vip(value: &str) -> Result<Vip, String> {
    let (address, prefix) = match value.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (value, None),
    };
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("'{value}' is not an IPv4 or IPv6 address"))?;
    let max_prefix = match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let prefix = match prefix {
        None => max_prefix,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if (1..=max_prefix).contains(&n) => n,
            _ => return Err(format!("prefix must be 1..{max_prefix} in '{value}'")),
        },
    };
    if address.is_unspecified()
        || address.is_multicast()
        || is_broadcast(address)
        || address.is_loopback()
    {
        return Err(format!("{address} cannot be a virtual address"));
    }
    Ok(Vip { address, prefix })
}
