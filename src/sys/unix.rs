//! Unix sockets: the status socket the daemon listens on, the client end
//! that `tinyvrrp status` and `reload` use, and the syslog socket.

use core::sync::atomic::{AtomicI32, Ordering};
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use rustix::fs::Mode;
use rustix::io::Errno;
use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, Shutdown, SocketAddrUnix, SocketFlags, SocketType,
};

/// How many connections may wait to be accepted.
const BACKLOG: i32 = 16;

/// The listening status socket, removed when dropped.
pub struct Listener {
    fd: OwnedFd,
    path: String,
}

impl Listener {
    /// Listens at `path`, mode 0600, replacing what is there: the caller
    /// has made sure that no running daemon answers on it (a socket left
    /// by a daemon that died is replaced).
    pub fn bind(path: &str) -> io::Result<Listener> {
        let addr = SocketAddrUnix::new(path)?;
        match rustix::fs::unlink(path) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        let fd = socket(SocketType::STREAM, SocketFlags::NONBLOCK)?;
        // The mode of a socket file comes from the umask at bind(2); set
        // it there so no other user can connect even for an instant.
        let umask = rustix::process::umask(Mode::from_raw_mode(0o177));
        let bound = rustix::net::bind(&fd, &addr);
        rustix::process::umask(umask);
        bound?;
        rustix::net::listen(&fd, BACKLOG)?;
        Ok(Listener {
            fd,
            path: path.to_string(),
        })
    }

    /// A waiting connection, non-blocking; None when there is none.
    pub fn accept(&self) -> io::Result<Option<OwnedFd>> {
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        match rustix::net::accept_with(&self.fd, flags) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::AGAIN | Errno::CONNABORTED | Errno::INTR) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Best effort: a socket file nobody answers on only costs the next
        // start an unlink.
        let _ = rustix::fs::unlink(self.path.as_str());
    }
}

fn socket(kind: SocketType, flags: SocketFlags) -> io::Result<OwnedFd> {
    Ok(rustix::net::socket_with(
        AddressFamily::UNIX,
        kind,
        flags | SocketFlags::CLOEXEC,
        None,
    )?)
}

/// A blocking connection to the status socket at `path`.
pub fn connect(path: &str) -> io::Result<OwnedFd> {
    let fd = socket(SocketType::STREAM, SocketFlags::empty())?;
    rustix::net::connect(&fd, &SocketAddrUnix::new(path)?)?;
    Ok(fd)
}

/// Sends a whole request, then says it is complete, on a blocking socket.
pub fn send_request(fd: &OwnedFd, request: &[u8]) -> io::Result<()> {
    // SIGPIPE is ignored (sys::start): a daemon gone away is EPIPE.
    super::write_all(fd.as_fd(), request)?;
    Ok(rustix::net::shutdown(fd, Shutdown::Write)?)
}

/// Receives until the peer closes, on a blocking socket.
pub fn receive_all(fd: &OwnedFd) -> io::Result<Vec<u8>> {
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match rustix::net::recv(fd, &mut chunk, RecvFlags::empty()) {
            Ok((0, _)) => return Ok(reply),
            Ok((n, _)) => reply.extend_from_slice(&chunk[..n]),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// What a non-blocking read or write on a connection did.
pub enum Progress {
    /// This many bytes; 0 on a read means the peer closed its end.
    Done(usize),
    WouldBlock,
}

pub fn receive_some(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Progress> {
    match rustix::net::recv(fd, buf, RecvFlags::DONTWAIT) {
        Ok((n, _)) => Ok(Progress::Done(n)),
        Err(Errno::AGAIN | Errno::INTR) => Ok(Progress::WouldBlock),
        Err(e) => Err(e.into()),
    }
}

/// Sends what the socket takes now. A client that went away is an error
/// (EPIPE), never a SIGPIPE that would kill the daemon.
pub fn send_some(fd: &OwnedFd, buf: &[u8]) -> io::Result<Progress> {
    match rustix::net::send(fd, buf, SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
        Ok(n) => Ok(Progress::Done(n)),
        Err(Errno::AGAIN | Errno::INTR) => Ok(Progress::WouldBlock),
        Err(e) => Err(e.into()),
    }
}

/// The local syslog socket, `/dev/log`.
const SYSLOG: &str = "/dev/log";

/// A datagram socket connected to `/dev/log`, as syslog(3) uses, kept as
/// its descriptor (-1: none yet). An atomic rather than a `Mutex`, which
/// the logger (shared, so `Sync`) would need and which costs 0.3 KB of the
/// mips image: a send takes the socket out while it uses it, so no two
/// sends ever share one.
pub struct Syslog(AtomicI32);

impl Default for Syslog {
    fn default() -> Syslog {
        Syslog::new()
    }
}

impl Syslog {
    /// Not connected yet: the first [`Syslog::send`] connects.
    pub const fn new() -> Syslog {
        Syslog(AtomicI32::new(-1))
    }

    /// Sends one message, connecting first if need be, and once more after
    /// a failure (syslogd restarted).
    pub fn send(&self, message: &[u8]) -> io::Result<()> {
        for _ in 0..2 {
            let fd = match self.0.swap(-1, Ordering::Acquire) {
                -1 => {
                    let fd = socket(SocketType::DGRAM, SocketFlags::empty())?;
                    rustix::net::connect(&fd, &SocketAddrUnix::new(SYSLOG)?)?;
                    fd
                }
                // SAFETY: a descriptor stored here is a socket this type
                // opened and owns (put there below, from an `OwnedFd`), and
                // the swap took it out: it is ours alone now.
                raw => unsafe { OwnedFd::from_raw_fd(raw) },
            };
            if rustix::net::send(&fd, message, SendFlags::NOSIGNAL).is_ok() {
                // Kept for the next message, unless another send stored
                // one meanwhile: then this one is closed.
                let raw = fd.as_raw_fd();
                if self
                    .0
                    .compare_exchange(-1, raw, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    core::mem::forget(fd);
                }
                return Ok(());
            }
        }
        Err(io::ErrorKind::NotConnected.into())
    }
}
