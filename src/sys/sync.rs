//! What file sync needs of the system: a UDP socket on one interface, the
//! shared key's file, the synced files read whole and replaced atomically.

use core::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use super::{error, ffi, write_all};

/// A key shorter than this is refused: 128 bits.
pub const MIN_KEY_LEN: usize = 16;

/// A non-blocking UDP socket bound to our address and the sync port, on
/// one interface (SO_BINDTODEVICE), so it sends from the address peers
/// know us by and hears only that interface.
pub struct SyncSocket {
    fd: OwnedFd,
    port: u16,
    /// The interface, for IPv6 link-local destinations.
    index: u32,
}

/// What [`SyncSocket::recv`] read.
pub enum Datagram {
    /// From this address, this long (in the buffer).
    From(IpAddr, usize),
    /// Longer than the buffer: dropped, to be counted.
    Oversized(IpAddr),
}

impl SyncSocket {
    pub fn open(interface: &str, index: u32, local: IpAddr, port: u16) -> io::Result<SyncSocket> {
        let family = match local {
            IpAddr::V4(_) => AddressFamily::INET,
            IpAddr::V6(_) => AddressFamily::INET6,
        };
        let fd = rustix::net::socket_with(
            family,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None,
        )?;
        ffi::bind_to_device(&fd, interface)?;
        match local {
            IpAddr::V4(a) => rustix::net::bind(&fd, &SocketAddrV4::new(a, port))?,
            IpAddr::V6(a) => rustix::net::bind(&fd, &SocketAddrV6::new(a, port, 0, index))?,
        }
        Ok(SyncSocket { fd, port, index })
    }

    /// One datagram, None when nothing is queued. `buf` is one byte longer
    /// than the largest message, so a longer datagram shows.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Datagram>> {
        loop {
            let (len, full, from) =
                match rustix::net::recvfrom(&self.fd, &mut *buf, RecvFlags::TRUNC) {
                    Ok(read) => read,
                    Err(rustix::io::Errno::AGAIN) => return Ok(None),
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => return Err(e.into()),
                };
            let Some(from) = from.and_then(|a| SocketAddr::try_from(a).ok()) else {
                continue;
            };
            let from = from.ip();
            return Ok(Some(if full > len || len == buf.len() {
                Datagram::Oversized(from)
            } else {
                Datagram::From(from, len)
            }));
        }
    }

    /// Sends one datagram to the peer's sync port; false when the socket's
    /// buffer is full (try again when it is writable).
    pub fn send(&self, to: IpAddr, datagram: &[u8]) -> io::Result<bool> {
        let result = match to {
            IpAddr::V4(a) => rustix::net::sendto(
                &self.fd,
                datagram,
                SendFlags::empty(),
                &SocketAddrV4::new(a, self.port),
            ),
            IpAddr::V6(a) => rustix::net::sendto(
                &self.fd,
                datagram,
                SendFlags::empty(),
                &SocketAddrV6::new(a, self.port, 0, self.index),
            ),
        };
        match result {
            Ok(_) => Ok(true),
            Err(rustix::io::Errno::AGAIN) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

impl AsFd for SyncSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The shared key: the whole file's bytes. Refused, with the reason, if
/// the file is readable by its group or others (a key others can read is
/// no secret) or shorter than [`MIN_KEY_LEN`].
pub fn read_key(path: &str) -> Result<Vec<u8>, String> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| format!("key {path}: {}", io::Error::from(e)))?;
    let mode = mode_of(&fd).map_err(|e| format!("key {path}: {e}"))? & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "key {path} is readable by group or others (mode {mode:o}): chmod 600 it"
        ));
    }
    let key = read_fd(&fd, MIN_KEY_LEN.max(4096))
        .map_err(|e| format!("key {path}: {e}"))?
        .unwrap_or_default();
    if key.len() < MIN_KEY_LEN {
        return Err(format!(
            "key {path} holds {} bytes; a shared secret needs at least {MIN_KEY_LEN}",
            key.len()
        ));
    }
    Ok(key)
}

/// The mode bits of an open file. Through std, not rustix: on mips and
/// mipsel rustix's libc backend looks `statx` up with `dlsym`, which in a
/// static musl binary crashed (under qemu-user) and brings in musl's
/// `printf` (14 KB); std calls the system call itself.
fn mode_of(fd: &OwnedFd) -> io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    let file = std::fs::File::from(fd.try_clone()?);
    Ok(file.metadata()?.permissions().mode())
}

/// At most `max + 1` bytes of `fd` (so a longer file shows as longer than
/// `max`); None past that.
fn read_fd(fd: &OwnedFd, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    loop {
        if bytes.len() > max {
            return Ok(None);
        }
        bytes.reserve((max + 1 - bytes.len()).min(64 * 1024));
        match rustix::io::read(fd, rustix::buffer::spare_capacity(&mut bytes)) {
            Ok(0) => return Ok(Some(bytes)),
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// What reading a synced file found.
pub enum Content {
    Missing,
    /// Longer than the limit asked for.
    TooLarge,
    Bytes(Vec<u8>),
}

/// A synced file, whole, if it is at most `max` bytes.
pub fn read_synced(path: &str, max: usize) -> io::Result<Content> {
    let fd = match rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(Content::Missing),
        Err(e) => return Err(e.into()),
    };
    Ok(match read_fd(&fd, max)? {
        Some(bytes) => Content::Bytes(bytes),
        None => Content::TooLarge,
    })
}

/// Replaces the file at `path` with `data` so that no reader ever sees
/// half of it, and a crash leaves the old file or the new one: written to
/// a temporary file in the same directory (same file system), fsynced,
/// renamed over the original, then the directory fsynced so the rename
/// lasts. The original's mode is kept (0644 for a new file).
pub fn replace_file(path: &str, data: &[u8]) -> io::Result<()> {
    let (dir, name) = match path.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some(split) => split,
        None => {
            return Err(error(
                io::ErrorKind::InvalidInput,
                format!("{path}: not absolute"),
            ))
        }
    };
    // Through std: see `mode_of`.
    let mode = std::fs::metadata(path).map_or(0o644, |m| {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode() & 0o7777
    });
    let temporary = format!("{dir}/.{name}.tinyvrrp-sync");
    let result = (|| {
        let fd = rustix::fs::open(
            temporary.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::from_raw_mode(mode),
        )?;
        // The umask may have narrowed the mode.
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
        write_all(fd.as_fd(), data)?;
        rustix::fs::fsync(&fd)?;
        rustix::fs::rename(temporary.as_str(), path)?;
        let dir = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        rustix::fs::fsync(&dir)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = rustix::fs::unlink(temporary.as_str());
    }
    result
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_key_must_be_private_and_long_enough() {
        let dir = std::env::temp_dir().join(format!("tinyvrrp-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        let name = path.to_str().unwrap();
        std::fs::write(&path, b"0123456789abcdef").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(read_key(name)
            .unwrap_err()
            .contains("readable by group or others (mode 640)"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_key(name).unwrap(), b"0123456789abcdef");
        std::fs::write(&path, b"short").unwrap();
        assert!(read_key(name).unwrap_err().contains("holds 5 bytes"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_replaced_file_keeps_its_mode_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("tinyvrrp-replace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("leases");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let name = path.to_str().unwrap();
        replace_file(name, b"new content").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new content");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        assert!(matches!(read_synced(name, 5).unwrap(), Content::TooLarge));
        assert!(matches!(read_synced(name, 11).unwrap(), Content::Bytes(b) if b == b"new content"));
        let missing = dir.join("missing");
        assert!(matches!(
            read_synced(missing.to_str().unwrap(), 5).unwrap(),
            Content::Missing
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
