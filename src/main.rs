//! tinyvrrp: a small VRRP daemon (RFC 5798 v3, RFC 3768 v2) for embedded
//! Linux routers.

use tinyvrrp::{config, daemon};

use std::ffi::OsString;
use std::process::ExitCode;

use log::{LevelFilter, Log, Metadata, Record};

const DEFAULT_CONFIG: &str = "/etc/tinyvrrp.conf";
/// Exit code for a bad config: nothing was started.
const EXIT_CONFIG: u8 = 2;

/// The help texts, each after `Usage: PROGRAM`.
const HELP: &str = " [--version] [<command>] [<args>]

tinyvrrp: a small VRRP daemon (RFC 5798 v3, RFC 3768 v2).

Options:
  --version         print the version and exit
  --help, help      display usage information

Commands:
  run               Run the daemon in the foreground, logging to stderr.
  check             Validate the config and print what was understood; exit 2 on
                    errors.
";
const RUN_HELP: &str =
    " run [-c <config>] [--log-level <log-level>] [--notify-all <notify-all>] [--version]

Run the daemon in the foreground, logging to stderr.

Options:
  -c, --config      config file (default /etc/tinyvrrp.conf)
  --log-level       log level: error, warn, info or debug (default info)
  --notify-all      also run SCRIPT, with the arguments of a generic notify
                    script, on every state change of every instance and group
  --version         print the version and exit
  --help, help      display usage information
";
const CHECK_HELP: &str = " check [-c <config>] [--version]

Validate the config and print what was understood; exit 2 on errors.

Options:
  -c, --config      config file (default /etc/tinyvrrp.conf)
  --version         print the version and exit
  --help, help      display usage information
";

/// What the command line asks for.
enum Command {
    /// `--version`, given before or after the subcommand.
    Version,
    Run(RunArgs),
    /// `check` and its config file.
    Check(String),
}

struct RunArgs {
    config: String,
    log_level: LevelFilter,
    /// A script run on every state change of every instance and sync group.
    notify_all: Option<String>,
}

/// Why parsing stopped before a command: help to print on stdout (exit 0)
/// or an error to print on stderr (exit 1).
enum Stop {
    /// One of the help texts.
    Help(&'static str),
    Error(String),
}

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
        _ if !arg.starts_with('-') => Word::Plain(arg),
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

/// The command line after the program name, read by the rules of argh,
/// which parsed it before (8 KB more of the router image than this), with
/// the same help and messages: options and switches come in any order,
/// each option once; `--help` or `help` anywhere asks for the help of the
/// command it belongs to, and nothing starting with `-` may follow it;
/// after `--` nothing is an option.
fn parse(args: &[String]) -> Result<Option<Command>, Stop> {
    let (mut version, mut help, mut ended) = (false, false, false);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match word(arg, help, ended)? {
            Word::Help => help = true,
            Word::End => ended = true,
            Word::Option("--version") => version = true,
            Word::Plain(command @ ("run" | "check")) => {
                let command = parse_command(command, help, args)?;
                return Ok(Some(if version { Command::Version } else { command }));
            }
            Word::Option(arg) | Word::Plain(arg) => return Err(unrecognized(arg)),
        }
    }
    if help {
        return Err(Stop::Help(HELP));
    }
    Ok(version.then_some(Command::Version))
}

/// The arguments of `run` or `check`; `help` when the program's own came
/// before them. `--version` here prints the version too.
fn parse_command(
    command: &str,
    mut help: bool,
    mut args: core::slice::Iter<'_, String>,
) -> Result<Command, Stop> {
    let run = command == "run";
    let (mut version, mut ended) = (false, false);
    let (mut config, mut log_level, mut notify_all) = (None, None, None);
    while let Some(arg) = args.next() {
        match word(arg, help, ended)? {
            Word::Help => help = true,
            Word::End => ended = true,
            Word::Option("--version") => version = true,
            Word::Option(option @ ("-c" | "--config")) => {
                config = Some(value(option, args.next(), config.is_some())?.to_string());
            }
            Word::Option(option @ "--log-level") if run => {
                let level = value(option, args.next(), log_level.is_some())?;
                log_level = Some(
                    level
                        .parse()
                        .map_err(|e| invalid(option, level, &format!("{e}")))?,
                );
            }
            Word::Option(option @ "--notify-all") if run => {
                notify_all = Some(value(option, args.next(), notify_all.is_some())?.to_string());
            }
            Word::Option(arg) | Word::Plain(arg) => return Err(unrecognized(arg)),
        }
    }
    if help {
        return Err(Stop::Help(if run { RUN_HELP } else { CHECK_HELP }));
    }
    let config = config.unwrap_or_else(|| DEFAULT_CONFIG.to_string());
    Ok(match (version, run) {
        (true, _) => Command::Version,
        (false, true) => Command::Run(RunArgs {
            config,
            log_level: log_level.unwrap_or(LevelFilter::Info),
            notify_all,
        }),
        (false, false) => Command::Check(config),
    })
}

/// An option's value: the argument after it, which may be given once.
fn value<'a>(option: &str, next: Option<&'a String>, given: bool) -> Result<&'a str, Stop> {
    let value =
        next.ok_or_else(|| Stop::Error(format!("No value provided for option '{option}'.\n")))?;
    if given {
        return Err(invalid(option, value, "duplicate values provided"));
    }
    Ok(value)
}

fn invalid(option: &str, value: &str, why: &str) -> Stop {
    Stop::Error(format!(
        "Error parsing option '{option}' with value '{value}': {why}\n"
    ))
}

/// The program's name as its help and errors spell it: the last component
/// of the path it was started by, or the whole path if that is not a name
/// (`/`, `..`), as `Path::file_name` says.
fn program_name(path: &str) -> &str {
    let mut rest = path;
    loop {
        let (head, last) = match rest.rsplit_once('/') {
            Some((head, last)) => (Some(head), last),
            None => (None, rest),
        };
        match (last, head) {
            ("" | ".", Some(head)) => rest = head,
            ("" | "." | "..", _) => return path,
            (name, _) => return name,
        }
    }
}

/// Log lines on stderr, `LEVEL [module] message`, as simple_logger wrote
/// them before (its code was larger), each line written whole.
struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let target = match record.target() {
            "" => record.module_path().unwrap_or_default(),
            target => target,
        };
        let line = format!("{:<5} [{target}] {}", record.level(), record.args());
        eprintln!("{line}");
    }

    fn flush(&self) {}
}

fn main() -> ExitCode {
    let args: Vec<String> = match std::env::args_os().map(OsString::into_string).collect() {
        Ok(args) => args,
        Err(arg) => {
            eprintln!("Invalid utf8: {}", arg.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    let Some((program, args)) = args.split_first() else {
        eprintln!("No program name, argv is empty");
        return ExitCode::FAILURE;
    };
    let program = program_name(program);
    match parse(args) {
        Err(Stop::Help(text)) => {
            println!("Usage: {program}{text}");
            ExitCode::SUCCESS
        }
        Err(Stop::Error(text)) => {
            eprintln!("{text}\nRun {program} --help for more information.");
            ExitCode::FAILURE
        }
        Ok(Some(Command::Version)) => print_version(),
        Ok(Some(Command::Run(args))) => run(&args),
        Ok(Some(Command::Check(config))) => check(&config),
        Ok(None) => {
            eprintln!("tinyvrrp: a subcommand is required: run or check (see --help)");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

fn print_version() -> ExitCode {
    println!("tinyvrrp {}", env!("CARGO_PKG_VERSION"));
    ExitCode::SUCCESS
}

/// Reads and parses the config, printing every error as `file:line: message`.
fn load(path: &str) -> Option<config::Config> {
    let text = match tinyvrrp::sys::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{path}:0: cannot read config: {e}");
            return None;
        }
    };
    match config::parse(path, &text) {
        Ok(config) => Some(config),
        Err(errors) => {
            for error in errors {
                eprintln!("{error}");
            }
            None
        }
    }
}

fn check(path: &str) -> ExitCode {
    let Some(config) = load(path) else {
        return ExitCode::from(EXIT_CONFIG);
    };
    for instance in &config.instances {
        println!("{instance}");
    }
    for script in &config.scripts {
        println!("{script}");
    }
    for group in &config.groups {
        println!("{group}");
    }
    if let Some(path) = &config.notify_fifo {
        println!("notify-fifo {path}");
    }
    ExitCode::SUCCESS
}

fn run(args: &RunArgs) -> ExitCode {
    let Some(config) = load(&args.config) else {
        return ExitCode::from(EXIT_CONFIG);
    };
    match log::set_logger(&StderrLogger) {
        Ok(()) => log::set_max_level(args.log_level),
        Err(e) => eprintln!("tinyvrrp: logger: {e}"),
    }
    let mut daemon = match daemon::Daemon::start(&args.config, config, args.notify_all.clone()) {
        Ok(daemon) => daemon,
        Err(daemon::StartError::Config(errors)) => {
            for error in errors {
                eprintln!("{error}");
            }
            return ExitCode::from(EXIT_CONFIG);
        }
        Err(daemon::StartError::Io(e)) => {
            log::error!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match daemon.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("stopped: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Option<Command>, Stop> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        parse(&args)
    }

    fn error(args: &[&str]) -> String {
        match parsed(args) {
            Err(Stop::Error(text)) => text,
            _ => panic!("{args:?} parsed"),
        }
    }

    #[test]
    fn commands_and_their_options() {
        let Ok(Some(Command::Run(run))) = parsed(&["run"]) else {
            panic!("run");
        };
        assert_eq!(run.config, DEFAULT_CONFIG);
        assert_eq!(run.log_level, LevelFilter::Info);
        assert_eq!(run.notify_all, None);
        let Ok(Some(Command::Run(run))) = parsed(&[
            "run",
            "--notify-all",
            "/bin/hotplug",
            "--log-level",
            "DEBUG",
            "-c",
            "/tmp/x.conf",
        ]) else {
            panic!("run with options");
        };
        assert_eq!(run.config, "/tmp/x.conf");
        assert_eq!(run.log_level, LevelFilter::Debug);
        assert_eq!(run.notify_all.as_deref(), Some("/bin/hotplug"));
        assert!(matches!(
            parsed(&["--", "check", "--config", "-x"]),
            Ok(Some(Command::Check(config))) if config == "-x"
        ));
        assert!(matches!(parsed(&[]), Ok(None)));
    }

    #[test]
    fn version_before_or_after_the_command() {
        for args in [
            &["--version"][..],
            &["--version", "check"],
            &["run", "--version"],
            &["check", "-c", "x", "--version"],
        ] {
            assert!(
                matches!(parsed(args), Ok(Some(Command::Version))),
                "{args:?}"
            );
        }
    }

    #[test]
    fn help_is_the_help_of_the_command_it_belongs_to() {
        for (args, text) in [
            (&["--help"][..], HELP),
            (&["help"], HELP),
            (&["--version", "help"], HELP),
            (&["help", "run"], RUN_HELP),
            (&["run", "-c", "x", "--help"], RUN_HELP),
            (&["check", "help"], CHECK_HELP),
        ] {
            assert!(
                matches!(parsed(args), Err(Stop::Help(help)) if help == text),
                "{args:?}"
            );
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(error(&["bogus"]), "Unrecognized argument: bogus\n");
        assert_eq!(
            error(&["check", "--log-level", "debug"]),
            "Unrecognized argument: --log-level\n"
        );
        assert_eq!(
            error(&["run", "--", "--help"]),
            "Unrecognized argument: --help\n"
        );
        assert_eq!(
            error(&["run", "-c"]),
            "No value provided for option '-c'.\n"
        );
        assert_eq!(
            error(&["run", "-c", "a", "--config", "b"]),
            "Error parsing option '--config' with value 'b': duplicate values provided\n"
        );
        assert_eq!(
            error(&["run", "--log-level", "loud"]),
            "Error parsing option '--log-level' with value 'loud': \
             attempted to convert a string that doesn't match an existing log level\n"
        );
        assert_eq!(
            error(&["run", "help", "--version"]),
            "Trailing arguments are not allowed after `help`."
        );
    }

    #[test]
    fn the_program_is_named_as_path_file_name_says() {
        for (path, name) in [
            ("tinyvrrp", "tinyvrrp"),
            ("/usr/sbin/tinyvrrp", "tinyvrrp"),
            ("./x/vrrpd/.", "vrrpd"),
            ("a//b/", "b"),
            ("a/..", "a/.."),
            ("/", "/"),
            ("./.", "./."),
            ("", ""),
        ] {
            assert_eq!(program_name(path), name, "{path:?}");
            let std_name = std::path::Path::new(path).file_name();
            assert_eq!(std_name.map_or(path, |n| n.to_str().unwrap()), name);
        }
    }
}
