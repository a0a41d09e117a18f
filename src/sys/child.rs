//! Child processes (notify scripts): started in a process group of their
//! own, polled without blocking, stopped as a group.

use core::fmt;
use std::io;

use rustix::process::{Pid, Signal, WaitOptions};

use super::ffi;

/// A started child process, until it is reaped.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(code) => write!(f, "exit status {code}"),
            Exit::Signal(signal) => write!(f, "killed by signal {signal}"),
        }
    }
}

impl Child {
    /// Starts `program` with `args` (see [`ffi::spawn`]).
    pub fn spawn(program: &str, args: &[String]) -> io::Result<Child> {
        let raw = ffi::spawn(program, args, &[Signal::PIPE.as_raw()])?;
        let pid = Pid::from_raw(raw).ok_or_else(|| io::Error::from(io::ErrorKind::Other))?;
        Ok(Child { pid })
    }

    /// Reaps the child if it has ended; `None` while it runs.
    pub fn try_wait(&self) -> io::Result<Option<Exit>> {
        let Some((_, status)) = rustix::process::waitpid(Some(self.pid), WaitOptions::NOHANG)?
        else {
            return Ok(None);
        };
        Ok(Some(
            match (status.exit_status(), status.terminating_signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, Some(signal)) => Exit::Signal(signal),
                (None, None) => return Ok(None),
            },
        ))
    }

    /// SIGTERM to the child's process group (it and all it started), asking
    /// them to end; does not reap the child: [`Child::try_wait`] sees it
    /// end. A group already gone (ESRCH) is not an error.
    pub fn terminate(&self) -> io::Result<()> {
        match rustix::process::kill_process_group(self.pid, Signal::TERM) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// SIGKILL to the child's process group (it and all it started), also
    /// once the child itself has been reaped: what it started may live on
    /// in its group. A group already gone (ESRCH) is not an error.
    pub fn kill_group(&self) -> io::Result<()> {
        match rustix::process::kill_process_group(self.pid, Signal::KILL) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// SIGKILL to the child's process group, then reaps the child.
    pub fn kill(&self) -> io::Result<()> {
        self.kill_group()?;
        rustix::process::waitpid(Some(self.pid), WaitOptions::empty())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait_for_exit(child: &Child, limit: Duration) -> Option<Exit> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(exit) = child.try_wait().unwrap() {
                return Some(exit);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    #[test]
    fn terminate_sends_sigterm_and_leaves_the_reaping_to_try_wait() {
        // `sleep` in a subshell: the signal reaches it only because it goes
        // to the whole group; the shell then dies of the same signal.
        let child = Child::spawn("sh", &["-c".into(), "sleep 30; :".into()]).unwrap();
        assert_eq!(child.try_wait().unwrap(), None);
        child.terminate().unwrap();
        let exit = wait_for_exit(&child, Duration::from_secs(5));
        assert_eq!(exit, Some(Exit::Signal(Signal::TERM.as_raw())));
        // Reaped and its group gone: another terminate is harmless.
        child.terminate().unwrap();
    }

    #[test]
    fn a_nul_in_the_program_or_an_argument_is_refused() {
        for (program, arg) in [("sh\0", "-c"), ("sh", "a\0b")] {
            let error = Child::spawn(program, &[arg.into(), ":".into()]).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        }
    }
}
