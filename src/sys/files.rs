//! Files: whole or their start, sysctls under /proc/sys/net, the pid
//! file. Through rustix rather than std::fs, whose code for opening and
//! reading files costs the router image 7.5 KB.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{Mode, OFlags};

use super::error;

/// All of the file at `path` as text, like `std::fs::read_to_string`, with
/// the same errors. Once nothing opens files through std, std's code for
/// opening and reading them leaves the image: 7.5 KB on MIPS.
pub fn read_to_string(path: &str) -> io::Result<String> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut bytes = Vec::new();
    loop {
        bytes.reserve(READ_CHUNK);
        match rustix::io::read(&fd, rustix::buffer::spare_capacity(&mut bytes)) {
            Ok(0) => break,
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    String::from_utf8(bytes).map_err(|_| {
        error(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8".into(),
        )
    })
}

/// How much more room [`read_to_string`] makes before each read.
const READ_CHUNK: usize = 4096;

/// Reads a sysctl under /proc/sys/net, e.g. `ipv4/conf/eth0/arp_ignore`.
pub fn read_sysctl(path: &str) -> io::Result<String> {
    let text = read_to_string(&format!("/proc/sys/net/{path}"))?;
    Ok(text.trim_end_matches('\n').to_string())
}

/// The start of a file, as much as one read gives into `buf` (all of a
/// short file); returns how much that is, None if there is no such file.
pub fn read_prefix(path: &str, buf: &mut [u8]) -> io::Result<Option<usize>> {
    let fd = match rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(rustix::io::read(&fd, buf)?))
}

/// Writes a sysctl under /proc/sys/net.
pub fn write_sysctl(path: &str, value: &str) -> io::Result<()> {
    write_file(&format!("/proc/sys/net/{path}"), value)
}

/// Writes `value` as the whole of the file at `path`, creating it (mode
/// 0644) if need be.
pub fn write_file(path: &str, value: &str) -> io::Result<()> {
    let fd = rustix::fs::open(
        path,
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )?;
    write_all(fd.as_fd(), value.as_bytes())
}

/// Writes all of `rest` to `fd` (a file, or stdout and stderr).
pub fn write_all(fd: BorrowedFd<'_>, mut rest: &[u8]) -> io::Result<()> {
    while !rest.is_empty() {
        match rustix::io::write(fd, rest) {
            Ok(0) => {
                return Err(error(
                    io::ErrorKind::WriteZero,
                    "failed to write whole buffer".into(),
                ))
            }
            Ok(written) => rest = &rest[written..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Removes the file at `path`; one already gone is fine.
pub fn remove_file(path: &str) -> io::Result<()> {
    match rustix::fs::unlink(path) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_read_whole_or_their_start() {
        let dir = std::env::temp_dir().join(format!("tinyvrrp-sys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("long");
        let text: String = (0..3 * READ_CHUNK)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        std::fs::write(&path, &text).unwrap();
        let path = path.to_str().unwrap();
        assert_eq!(read_to_string(path).unwrap(), text);
        let mut start = [0; 5];
        assert_eq!(read_prefix(path, &mut start).unwrap(), Some(5));
        assert_eq!(&start, b"abcde");

        let bad = dir.join("latin1");
        std::fs::write(&bad, b"caf\xe9\n").unwrap();
        let error = read_to_string(bad.to_str().unwrap()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(error.to_string(), "stream did not contain valid UTF-8");
        let missing = dir.join("missing");
        let error = read_to_string(missing.to_str().unwrap()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            read_prefix(missing.to_str().unwrap(), &mut start).unwrap(),
            None
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
