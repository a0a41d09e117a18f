//! The command line, read by the rules of argh, which parsed it before (8 KB
//! more of the router image than this), with the same help and messages:
//! options and switches come in any order, each once; `--help` or `help`
//! anywhere asks for the help of the command it belongs to, and nothing
//! starting with `-` may follow it; after `--` nothing is an option.

use log::LevelFilter;

pub const DEFAULT_CONFIG: &str = "/etc/tinyvrrp.conf";
pub const DEFAULT_SOCKET: &str = "/var/run/tinyvrrp.sock";

/// The help texts, each printed after `Usage: PROGRAM` as its parts one
/// after another: the option lines that several commands share are kept
/// once.
pub type Help = &'static [&'static str];

/// The lines every help ends with.
const HELP_OPTIONS: &str = "  --version         print the version and exit
  --help, help      display usage information
";
const CONFIG_OPTION: &str = "  -c, --config      config file (default /etc/tinyvrrp.conf)
";
const SOCKET_OPTION: &str = "  --socket          status socket (default /var/run/tinyvrrp.sock)
";

pub const HELP: Help = &[
    " [--version] [<command>] [<args>]

tinyvrrp: a small VRRP daemon (RFC 5798 v3, RFC 3768 v2).

Options:
",
    HELP_OPTIONS,
    "
Commands:
  run               Run the daemon in the foreground, logging to stderr.
  check             Validate the config and print what was understood; exit 2 on
                    errors.
  status            Print the running daemon's status.
  reload            Make the running daemon read its config again.
",
];
pub const RUN_HELP: Help = &[
    " run [-c <config>] [--log-level <log-level>] [--notify-all <notify-all>] [--socket <socket>] [--pidfile <pidfile>] [--syslog] [--realtime] [--version]

Run the daemon in the foreground, logging to stderr.

Options:
",
    CONFIG_OPTION,
    "  --log-level       log level: error, warn, info or debug (default info)
  --notify-all      also run SCRIPT, with the arguments of a generic notify
                    script, on every state change of every instance and group
",
    SOCKET_OPTION,
    "  --pidfile         write the daemon's pid to this file
  --syslog          log to syslog (/dev/log) instead of stderr
  --realtime        run under SCHED_RR with memory locked
",
    HELP_OPTIONS,
];
pub const CHECK_HELP: Help = &[
    " check [-c <config>] [--version]

Validate the config and print what was understood; exit 2 on errors.

Options:
",
    CONFIG_OPTION,
    HELP_OPTIONS,
];
pub const STATUS_HELP: Help = &[
    " status [--json] [--socket <socket>] [--version]

Print the running daemon's status.

Options:
  --json            print JSON instead of tables
",
    SOCKET_OPTION,
    HELP_OPTIONS,
];
pub const RELOAD_HELP: Help = &[
    " reload [--socket <socket>] [--version]

Make the running daemon read its config again; exit 2 if it has errors.

Options:
",
    SOCKET_OPTION,
    HELP_OPTIONS,
];

/// What the command line asks for. Its texts are the arguments themselves.
pub enum Command<'a> {
    /// `--version`, given before or after the subcommand.
    Version,
    Run(RunArgs<'a>),
    /// `check` and its config file.
    Check(&'a str),
    Status {
        json: bool,
        socket: &'a str,
    },
    Reload {
        socket: &'a str,
    },
}

pub struct RunArgs<'a> {
    pub config: &'a str,
    pub log_level: LevelFilter,
    /// A script run on every state change of every instance and sync group.
    pub notify_all: Option<&'a str>,
    pub socket: &'a str,
    pub pidfile: Option<&'a str>,
    pub syslog: bool,
    pub realtime: bool,
}

/// Why parsing stopped before a command: help to print on stdout (exit 0)
/// or an error to print on stderr (exit 1).
pub enum Stop {
    /// One of the help texts.
    Help(Help),
    Error(String),
}

/// A subcommand: its help, the options that take a value and the switches
/// (in the order `parse_command` takes them from).
struct Spec {
    name: &'static str,
    help: Help,
    options: &'static [&'static str],
    switches: &'static [&'static str],
}

/// The most options or switches a subcommand takes.
const MAX_OPTIONS: usize = 5;

const COMMANDS: [Spec; 4] = [
    Spec {
        name: "run",
        help: RUN_HELP,
        options: &[
            "--config",
            "--log-level",
            "--notify-all",
            "--socket",
            "--pidfile",
        ],
        switches: &["--syslog", "--realtime"],
    },
    Spec {
        name: "check",
        help: CHECK_HELP,
        options: &["--config"],
        switches: &[],
    },
    Spec {
        name: "status",
        help: STATUS_HELP,
        options: &["--socket"],
        switches: &["--json"],
    },
    Spec {
        name: "reload",
        help: RELOAD_HELP,
        options: &["--socket"],
        switches: &[],
    },
];

/// How [`parse`] reads one argument.
enum Word<'a> {
    /// `--help` or `help`: print the help of the command it belongs to.
    Help,
    /// `--`: every later argument is a plain word.
    End,
    /// A word starting with `-`: an option or a switch.
    Option(&'a str),
    /// Anything else: a subcommand or a stray argument.
    Plain(&'a str),
}

/// `help`: a help word came earlier; `ended`: so did `--`.
fn word(arg: &str, help: bool, ended: bool) -> Result<Word<'_>, Stop> {
    Ok(match arg {
        _ if ended => Word::Plain(arg),
        "--help" | "help" => Word::Help,
        "--" => Word::End,
        // A `&str` pattern, smaller code than a `char` one (size).
        _ if !arg.starts_with("-") => Word::Plain(arg),
        _ if help => {
            return Err(Stop::Error(
                "Trailing arguments are not allowed after `help`.".into(),
            ))
        }
        _ => Word::Option(arg),
    })
}

fn unrecognized(arg: &str) -> Stop {
    Stop::Error(format!("Unrecognized argument: {arg}\n"))
}

/// The command line after the program name.
pub fn parse<'a>(args: &[&'a str]) -> Result<Option<Command<'a>>, Stop> {
    let (mut version, mut help, mut ended) = (false, false, false);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match word(arg, help, ended)? {
            Word::Help => help = true,
            Word::End => ended = true,
            Word::Option("--version") => version = true,
            Word::Plain(name) => {
                let Some(spec) = COMMANDS.iter().find(|spec| spec.name == name) else {
                    return Err(unrecognized(name));
                };
                let command = parse_command(spec, help, args)?;
                return Ok(Some(if version { Command::Version } else { command }));
            }
            Word::Option(arg) => return Err(unrecognized(arg)),
        }
    }
    if help {
        return Err(Stop::Help(HELP));
    }
    Ok(version.then_some(Command::Version))
}

/// The arguments of a subcommand; `help` when the program's own came
/// before them. `--version` here prints the version too.
fn parse_command<'a>(
    spec: &Spec,
    mut help: bool,
    mut args: core::slice::Iter<'_, &'a str>,
) -> Result<Command<'a>, Stop> {
    let (mut version, mut ended) = (false, false);
    // What was given of `spec.options` and `spec.switches`, by position.
    let mut values: [Option<&str>; MAX_OPTIONS] = [None; MAX_OPTIONS];
    let mut switches = [false; MAX_OPTIONS];
    while let Some(arg) = args.next() {
        match word(arg, help, ended)? {
            Word::Help => help = true,
            Word::End => ended = true,
            Word::Option("--version") => version = true,
            Word::Option(option) => {
                let long = match option {
                    "-c" => "--config",
                    long => long,
                };
                if let Some(at) = spec.options.iter().position(|&o| o == long) {
                    let value = args.next().ok_or_else(|| {
                        Stop::Error(format!("No value provided for option '{option}'.\n"))
                    })?;
                    if values[at].replace(value).is_some() {
                        return Err(invalid(option, value, "duplicate values provided"));
                    }
                } else if let Some(at) = spec.switches.iter().position(|&s| s == option) {
                    switches[at] = true;
                } else {
                    return Err(unrecognized(option));
                }
            }
            Word::Plain(arg) => return Err(unrecognized(arg)),
        }
    }
    if help {
        return Err(Stop::Help(spec.help));
    }
    if version {
        return Ok(Command::Version);
    }
    // Each given value and switch by its place in the spec's lists (a
    // search by name here was larger code).
    Ok(match spec.name {
        "run" => {
            // `--log-level`, the second of run's options.
            let log_level = match values[1] {
                None => LevelFilter::Info,
                Some(level) => level
                    .parse()
                    .map_err(|e| invalid("--log-level", level, &format!("{e}")))?,
            };
            Command::Run(RunArgs {
                config: values[0].unwrap_or(DEFAULT_CONFIG),
                log_level,
                notify_all: values[2],
                socket: values[3].unwrap_or(DEFAULT_SOCKET),
                pidfile: values[4],
                syslog: switches[0],
                realtime: switches[1],
            })
        }
        "check" => Command::Check(values[0].unwrap_or(DEFAULT_CONFIG)),
        "status" => Command::Status {
            json: switches[0],
            socket: values[0].unwrap_or(DEFAULT_SOCKET),
        },
        _ => Command::Reload {
            socket: values[0].unwrap_or(DEFAULT_SOCKET),
        },
    })
}

fn invalid(option: &str, value: &str, why: &str) -> Stop {
    Stop::Error(format!(
        "Error parsing option '{option}' with value '{value}': {why}\n"
    ))
}

/// The program's name as its help and errors spell it: the last component
/// of the path it was started by, or the whole path if that is not a name
/// (`/`, `..`), as `Path::file_name` says.
pub fn program_name(path: &str) -> &str {
    let mut rest = path;
    loop {
        // The last `/` found byte by byte: `rsplit_once` was more code (size).
        let (head, last) = match rest.bytes().rposition(|b| b == b'/') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        match (last, head) {
            ("" | ".", Some(head)) => rest = head,
            ("" | "." | "..", _) => return path,
            (name, _) => return name,
        }
    }
}

#[cfg(test)]
mod tests;
