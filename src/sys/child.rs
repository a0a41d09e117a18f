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

    /// SIGKILL to the child's process group (it and all it started), then
    /// reaps the child.
    pub fn kill(&self) -> io::Result<()> {
        // A group already gone (ESRCH) leaves only the child to reap.
        match rustix::process::kill_process_group(self.pid, Signal::KILL) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => {}
            Err(e) => return Err(e.into()),
        }
        rustix::process::waitpid(Some(self.pid), WaitOptions::empty())?;
        Ok(())
    }
}
