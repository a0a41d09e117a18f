//! The command line's rules, help and messages, pinned.
use super::*;

fn parsed<'a>(args: &[&'a str]) -> Result<Option<Command<'a>>, Stop> {
    parse(args)
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
    assert_eq!(run.socket, DEFAULT_SOCKET);
    assert_eq!(run.pidfile, None);
    assert!(!run.syslog && !run.realtime);
    let Ok(Some(Command::Run(run))) = parsed(&[
        "run",
        "--notify-all",
        "/bin/hotplug",
        "--log-level",
        "DEBUG",
        "--realtime",
        "-c",
        "/tmp/x.conf",
        "--socket",
        "/tmp/s",
        "--syslog",
        "--pidfile",
        "/tmp/p",
    ]) else {
        panic!("run with options");
    };
    assert_eq!(run.config, "/tmp/x.conf");
    assert_eq!(run.log_level, LevelFilter::Debug);
    assert_eq!(run.notify_all, Some("/bin/hotplug"));
    assert_eq!(run.socket, "/tmp/s");
    assert_eq!(run.pidfile, Some("/tmp/p"));
    assert!(run.syslog && run.realtime);
    assert!(matches!(
        parsed(&["--", "check", "--config", "-x"]),
        Ok(Some(Command::Check("-x")))
    ));
    assert!(matches!(
        parsed(&["status", "--json"]),
        Ok(Some(Command::Status {
            json: true,
            socket: DEFAULT_SOCKET
        }))
    ));
    assert!(matches!(
        parsed(&["status"]),
        Ok(Some(Command::Status { json: false, .. }))
    ));
    assert!(matches!(
        parsed(&["reload", "--socket", "/s"]),
        Ok(Some(Command::Reload { socket: "/s" }))
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
        &["status", "--version"],
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
        (&["status", "--help"], STATUS_HELP),
        (&["help", "reload"], RELOAD_HELP),
    ] {
        assert!(
            matches!(parsed(args), Err(Stop::Help(help)) if help == text),
            "{args:?}"
        );
    }
}

#[test]
fn a_help_is_its_parts_in_order() {
    assert_eq!(
        RUN_HELP.concat(),
        " run [-c <config>] [--log-level <log-level>] [--notify-all <notify-all>] [--socket <socket>] [--pidfile <pidfile>] [--syslog] [--realtime] [--version]

Run the daemon in the foreground, logging to stderr.

Options:
  -c, --config      config file (default /etc/tinyvrrp.conf)
  --log-level       log level: error, warn, info or debug (default info)
  --notify-all      also run SCRIPT, with the arguments of a generic notify
                    script, on every state change of every instance and group
  --socket          status socket (default /var/run/tinyvrrp.sock)
  --pidfile         write the daemon's pid to this file
  --syslog          log to syslog (/dev/log) instead of stderr
  --realtime        run under SCHED_RR with memory locked
  --version         print the version and exit
  --help, help      display usage information
"
    );
}

#[test]
fn errors_say_what_is_wrong() {
    assert_eq!(error(&["bogus"]), "Unrecognized argument: bogus\n");
    assert_eq!(
        error(&["check", "--log-level", "debug"]),
        "Unrecognized argument: --log-level\n"
    );
    assert_eq!(error(&["status", "-c", "x"]), "Unrecognized argument: -c\n");
    assert_eq!(
        error(&["reload", "--json"]),
        "Unrecognized argument: --json\n"
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
