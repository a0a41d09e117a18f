//! tinyvrrp: a small VRRP daemon (RFC 5798 v3, RFC 3768 v2) for embedded
//! Linux routers.

// C's `main` is ours (see `main` below); tests keep the harness's.
#![cfg_attr(not(test), no_main)]

mod cli;

use tinyvrrp::sys::unix::{self, Syslog};
use tinyvrrp::{config, daemon, sys};

use core::ffi::{c_char, c_int, CStr};
use std::fmt;
use std::os::fd::BorrowedFd;

use log::{Level, Log, Metadata, Record};

use cli::{Command, RunArgs, Stop};

/// `println!`, written through [`print_line`].
macro_rules! outln {
    ($($arg:tt)*) => { print_line(rustix::stdio::stdout(), format_args!($($arg)*)) };
}

/// `eprintln!`, written through [`print_line`].
macro_rules! errln {
    ($($arg:tt)*) => { print_line(rustix::stdio::stderr(), format_args!($($arg)*)) };
}

/// Formats a line and writes it whole with one `write` (a log line is
/// never split between two writers). Not std's `println!`: its locks, line
/// buffer and flush at exit were 3.9 KB of the mips image, for text
/// written once a line. A line that cannot be written is dropped, where
/// `println!` would panic (and so abort the daemon on a closed stderr).
fn print_line(fd: BorrowedFd<'_>, args: fmt::Arguments<'_>) {
    let mut line = fmt::format(args);
    line.push('\n');
    let _ = sys::write_all(fd, line.as_bytes());
}

/// A help text's parts ([`cli::Help`]), shown one after another.
struct Parts(cli::Help);

impl fmt::Display for Parts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|part| f.write_str(part))
    }
}

/// The exit codes: done, failed, and a bad config (nothing was started
/// or, for `reload`, nothing changed).
const EXIT_SUCCESS: u8 = 0;
const EXIT_FAILURE: u8 = 1;
const EXIT_CONFIG: u8 = 2;
/// keepalived's `vrrp_rt_priority` range is 1..99; a low one is enough to
/// run before every ordinary process and leaves the kernel's threaded
/// interrupt handlers (priority 50) ahead of us.
const REALTIME_PRIORITY: i32 = 10;

/// Log lines on stderr, `LEVEL [module] message`, as simple_logger wrote
/// them before (its code was larger), each line written whole; or, with
/// `--syslog`, to syslog.
struct Logger {
    /// `--syslog`: the socket, once opened.
    syslog: Option<Syslog>,
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if let Some(syslog) = &self.syslog {
            // RFC 3164 §4.1: facility daemon (3), the record's severity.
            // No timestamp or hostname: syslogd (busybox's too) adds them
            // to a local message (RFC 3164 §4.3.2).
            let severity = match record.level() {
                Level::Error => 3,
                Level::Warn => 4,
                Level::Info => 6,
                Level::Debug | Level::Trace => 7,
            };
            let message = format!(
                "<{}>tinyvrrp[{}]: {}",
                3 * 8 + severity,
                sys::pid(),
                record.args()
            );
            if syslog.send(message.as_bytes()).is_ok() {
                return;
            }
        }
        let target = match record.target() {
            "" => record.module_path().unwrap_or_default(),
            target => target,
        };
        errln!("{:<5} [{target}] {}", record.level(), record.args());
    }

    fn flush(&self) {}
}

/// Logs `message` at `level`: one logging call for all of `run`'s (each
/// `log!` inlined its record). Here in main.rs, so the lines name the
/// same module as before.
#[inline(never)]
fn log_line(level: Level, message: fmt::Arguments<'_>) {
    log::log!(level, "{message}");
}

static STDERR_LOGGER: Logger = Logger { syslog: None };
static SYSLOG_LOGGER: Logger = Logger {
    syslog: Some(Syslog::new()),
};

/// The process starts here, called by the C library with the command line
/// (`sys::start` says why not through std's `fn main`).
#[cfg_attr(not(test), no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    sys::start::prepare();
    // SAFETY: these are the arguments the C library passed to `main`.
    let args = unsafe { sys::start::args(argc, argv) };
    c_int::from(command(args))
}

/// Does what the command line says; returns the exit code.
fn command(argv: Result<Vec<&str>, &CStr>) -> u8 {
    let words = match argv {
        Ok(words) => words,
        Err(arg) => {
            errln!("Invalid utf8: {}", arg.to_string_lossy());
            return EXIT_FAILURE;
        }
    };
    let Some((program, args)) = words.split_first() else {
        errln!("No program name, argv is empty");
        return EXIT_FAILURE;
    };
    let program = cli::program_name(program);
    match cli::parse(args) {
        Err(Stop::Help(text)) => {
            outln!("Usage: {program}{}", Parts(text));
            EXIT_SUCCESS
        }
        Err(Stop::Error(text)) => {
            errln!("{text}\nRun {program} --help for more information.");
            EXIT_FAILURE
        }
        Ok(Some(Command::Version)) => print_version(),
        Ok(Some(Command::Run(args))) => run(&args),
        Ok(Some(Command::Check(config))) => check(config),
        Ok(Some(Command::Status { json, socket })) => {
            let request: &[u8] = if json { b"status json\n" } else { b"status\n" };
            match ask(socket, request) {
                Some(answer) => print(&answer, EXIT_SUCCESS),
                None => EXIT_FAILURE,
            }
        }
        Ok(Some(Command::Reload { socket })) => match ask(socket, b"reload\n") {
            Some(answer) if answer == b"reloaded\n" => print(&answer, EXIT_SUCCESS),
            Some(errors) => {
                let _ = sys::write_all(rustix::stdio::stderr(), &errors);
                EXIT_CONFIG
            }
            None => EXIT_FAILURE,
        },
        Ok(None) => {
            errln!("tinyvrrp: a subcommand is required: run, check, status or reload (see --help)");
            EXIT_CONFIG
        }
    }
}

fn print_version() -> u8 {
    outln!("tinyvrrp {}", env!("CARGO_PKG_VERSION"));
    EXIT_SUCCESS
}

/// Reads and parses the config, printing every error as `file:line: message`.
fn load(path: &str) -> Option<config::Config> {
    let text = match tinyvrrp::sys::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            errln!("{path}:0: cannot read config: {e}");
            return None;
        }
    };
    match config::parse(path, &text) {
        Ok(config) => Some(config),
        Err(errors) => {
            // By reference: a consuming loop brought `vec::IntoIter`'s
            // code (size).
            for error in &errors {
                errln!("{error}");
            }
            None
        }
    }
}

fn check(path: &str) -> u8 {
    let Some(config) = load(path) else {
        return EXIT_CONFIG;
    };
    // The key files too, as `run` checks them.
    #[cfg(feature = "sync")]
    for sync in &config.syncs {
        if let Err(message) = sys::sync::read_key(&sync.key.0) {
            errln!("{path}:{}: {message}", sync.key.1);
            return EXIT_CONFIG;
        }
    }
    for instance in &config.instances {
        outln!("{instance}");
    }
    for script in &config.scripts {
        outln!("{script}");
    }
    for group in &config.groups {
        outln!("{group}");
    }
    #[cfg(feature = "sync")]
    for sync in &config.syncs {
        outln!("{sync}");
    }
    if let Some(path) = &config.notify_fifo {
        outln!("notify-fifo {path}");
    }
    EXIT_SUCCESS
}

/// Sends `request` to the daemon's status socket and returns its answer;
/// None (said on stderr) if there is no daemon to ask.
fn ask(socket: &str, request: &[u8]) -> Option<Vec<u8>> {
    let answer = unix::connect(socket).and_then(|fd| {
        unix::send_request(&fd, request)?;
        unix::receive_all(&fd)
    });
    match answer {
        Ok(answer) => Some(answer),
        Err(e) => {
            errln!("tinyvrrp: {socket}: {e} (is the daemon running?)");
            None
        }
    }
}

fn print(answer: &[u8], code: u8) -> u8 {
    match sys::write_all(rustix::stdio::stdout(), answer) {
        Ok(()) => code,
        Err(_) => EXIT_FAILURE,
    }
}

fn run(args: &RunArgs) -> u8 {
    let Some(config) = load(args.config) else {
        return EXIT_CONFIG;
    };
    let logger = if args.syslog {
        &SYSLOG_LOGGER
    } else {
        &STDERR_LOGGER
    };
    match log::set_logger(logger) {
        Ok(()) => log::set_max_level(args.log_level),
        Err(e) => errln!("tinyvrrp: logger: {e}"),
    }
    let started = daemon::Daemon::start(args.config, config, args.notify_all, args.socket);
    let mut daemon = match started {
        Ok(daemon) => daemon,
        Err(daemon::StartError::Config(errors)) => {
            for error in &errors {
                errln!("{error}");
            }
            return EXIT_CONFIG;
        }
        Err(daemon::StartError::Io(e)) => {
            log_line(Level::Error, format_args!("cannot start: {e}"));
            return EXIT_FAILURE;
        }
    };
    if args.realtime {
        // keepalived's vrrp_rt_priority and vrrp_no_swap: timers kept under
        // load. Without the privilege (CAP_SYS_NICE, CAP_IPC_LOCK) it runs
        // as before.
        if let Err(e) = sys::ffi::set_realtime(REALTIME_PRIORITY) {
            log_line(
                Level::Warn,
                format_args!("--realtime: cannot use SCHED_RR: {e}"),
            );
        }
        if let Err(e) = sys::ffi::lock_memory() {
            log_line(
                Level::Warn,
                format_args!("--realtime: cannot lock memory: {e}"),
            );
        }
    }
    if let Some(pidfile) = args.pidfile {
        if let Err(e) = sys::write_file(pidfile, &format!("{}\n", sys::pid())) {
            log_line(Level::Error, format_args!("--pidfile {pidfile}: {e}"));
        }
    }
    let result = daemon.run();
    // Shut down (handover, VIPs removed) before the pid file goes.
    drop(daemon);
    if let Some(pidfile) = args.pidfile {
        let _ = sys::remove_file(pidfile);
    }
    match result {
        Ok(()) => EXIT_SUCCESS,
        Err(e) => {
            log_line(Level::Error, format_args!("stopped: {e}"));
            EXIT_FAILURE
        }
    }
}
