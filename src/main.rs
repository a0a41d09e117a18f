//! tinyvrrp: a small VRRP daemon (RFC 5798 v3, RFC 3768 v2) for embedded
//! Linux routers.

use tinyvrrp::{config, daemon};

use std::process::ExitCode;

use argh::FromArgs;

const DEFAULT_CONFIG: &str = "/etc/tinyvrrp.conf";
/// Exit code for a bad config: nothing was started.
const EXIT_CONFIG: u8 = 2;

#[derive(FromArgs)]
/// tinyvrrp: a small VRRP daemon (RFC 5798 v3, RFC 3768 v2).
struct Cli {
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    #[argh(subcommand)]
    command: Option<Command>,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Run(RunArgs),
    Check(CheckArgs),
}

#[derive(FromArgs)]
/// Run the daemon in the foreground, logging to stderr.
#[argh(subcommand, name = "run")]
struct RunArgs {
    /// config file (default /etc/tinyvrrp.conf)
    #[argh(option, short = 'c', default = "DEFAULT_CONFIG.to_string()")]
    config: String,
    /// log level: error, warn, info or debug (default info)
    #[argh(option, default = "log::LevelFilter::Info")]
    log_level: log::LevelFilter,
    /// also run SCRIPT, with the same arguments as an instance's notify
    /// script, on every state change of every instance
    #[argh(option)]
    notify_all: Option<String>,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
}

#[derive(FromArgs)]
/// Validate the config and print what was understood; exit 2 on errors.
#[argh(subcommand, name = "check")]
struct CheckArgs {
    /// config file (default /etc/tinyvrrp.conf)
    #[argh(option, short = 'c', default = "DEFAULT_CONFIG.to_string()")]
    config: String,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
}

fn main() -> ExitCode {
    let cli: Cli = argh::from_env();
    match cli.command {
        _ if cli.version => print_version(),
        Some(Command::Run(args)) if args.version => print_version(),
        Some(Command::Check(args)) if args.version => print_version(),
        Some(Command::Run(args)) => run(&args),
        Some(Command::Check(args)) => check(&args.config),
        None => {
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
    let text = match std::fs::read_to_string(path) {
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
    if let Err(e) = simple_logger::SimpleLogger::new()
        .with_level(args.log_level)
        .init()
    {
        eprintln!("tinyvrrp: logger: {e}");
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
