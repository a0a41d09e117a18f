//! keepalived's `notify_fifo`: a named pipe that gets one line per event,
//! written without ever blocking the daemon.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use rustix::fs::{FileType, Mode, OFlags, CWD};

/// The notify FIFO, held open for reading and writing.
#[derive(Debug)]
pub struct NotifyFifo {
    file: File,
    path: String,
    /// We made the FIFO, so we remove it when done.
    created: bool,
}

impl NotifyFifo {
    /// Opens the FIFO at `path`, creating it (mode 0600, less the umask) if
    /// nothing is there. Anything there that is not a FIFO is refused.
    ///
    /// Like keepalived, we open it for reading too: the open does not wait
    /// or fail for want of a reader, and with a reader always there a write
    /// never raises SIGPIPE or EPIPE. Lines nobody reads stay in the pipe
    /// until it is full.
    pub fn open(path: &str) -> io::Result<NotifyFifo> {
        let created =
            match rustix::fs::mknodat(CWD, path, FileType::Fifo, Mode::RUSR | Mode::WUSR, 0) {
                Ok(()) => true,
                Err(rustix::io::Errno::EXIST) => false,
                Err(e) => return Err(e.into()),
            };
        let fifo = Self::open_created(path, created);
        if fifo.is_err() && created {
            // rustix's unlink, in the image anyway, rather than std's
            // remove_file and its own path code (0.5 KB of the mips image).
            let _ = rustix::fs::unlink(path);
        }
        fifo
    }

    fn open_created(path: &str, created: bool) -> io::Result<NotifyFifo> {
        let not_fifo = || super::error(io::ErrorKind::InvalidInput, format!("{path}: not a FIFO"));
        // Checked before opening, so that we never open a device or a
        // regular file, and again on what we opened, in case the path
        // changed in between.
        if !std::fs::metadata(path)?.file_type().is_fifo() {
            return Err(not_fifo());
        }
        let fd: OwnedFd = rustix::fs::open(
            path,
            OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )?;
        let file = File::from(fd);
        if !file.metadata()?.file_type().is_fifo() {
            return Err(not_fifo());
        }
        Ok(NotifyFifo {
            file,
            path: path.to_string(),
            created,
        })
    }

    /// Writes `line` and a newline with one write(2): atomic for lines
    /// shorter than PIPE_BUF (4096 bytes on Linux), never interleaved with
    /// another writer's. A full pipe (nobody reading) is
    /// [`io::ErrorKind::WouldBlock`] and the line is dropped; a partial
    /// write, possible only for longer lines, is an error too.
    pub fn write_line(&self, line: &str) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        match rustix::io::write(&self.file, &bytes) {
            Ok(written) if written == bytes.len() => Ok(()),
            Ok(written) => Err(super::error(
                io::ErrorKind::WriteZero,
                format!("{}: wrote {written} of {} bytes", self.path, bytes.len()),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The path it was opened at.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl AsFd for NotifyFifo {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl Drop for NotifyFifo {
    /// Removes the FIFO if we created it and it is still the one at the
    /// path (nobody replaced it meanwhile).
    fn drop(&mut self) {
        if !self.created {
            return;
        }
        let (Ok(ours), Ok(there)) = (self.file.metadata(), std::fs::metadata(&self.path)) else {
            return;
        };
        if ours.dev() == there.dev() && ours.ino() == there.ino() {
            let _ = rustix::fs::unlink(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::path::PathBuf;
    use std::time::Instant;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tinyvrrp-fifo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn created_written_read_back_and_removed() {
        let dir = scratch("create");
        let path = dir.join("notify");
        let path_text = path.to_str().unwrap();
        let fifo = NotifyFifo::open(path_text).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_fifo());
        assert_eq!(meta.mode() & 0o077, 0, "mode {:o}", meta.mode());
        // Our read-write descriptor is a writer, so this open does not wait.
        let mut reader = File::open(&path).unwrap();
        fifo.write_line("INSTANCE \"lan\" MASTER 150").unwrap();
        fifo.write_line("GROUP \"g\" BACKUP 0").unwrap();
        let mut buf = [0u8; 256];
        let len = reader.read(&mut buf).unwrap();
        assert_eq!(
            &buf[..len],
            b"INSTANCE \"lan\" MASTER 150\nGROUP \"g\" BACKUP 0\n"
        );
        drop(fifo);
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_existing_fifo_is_used_and_kept() {
        let dir = scratch("existing");
        let path = dir.join("notify");
        let path_text = path.to_str().unwrap();
        rustix::fs::mknodat(CWD, path_text, FileType::Fifo, Mode::RUSR | Mode::WUSR, 0).unwrap();
        let fifo = NotifyFifo::open(path_text).unwrap();
        let mut reader = File::open(&path).unwrap();
        fifo.write_line("x").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(reader.read(&mut buf).unwrap(), 2);
        drop(fifo);
        assert!(std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_fifo());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn anything_but_a_fifo_is_refused_and_left_alone() {
        let dir = scratch("refused");
        let file = dir.join("regular");
        std::fs::write(&file, "keep\n").unwrap();
        let error = NotifyFifo::open(file.to_str().unwrap()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep\n");
        let error = NotifyFifo::open(dir.to_str().unwrap()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        let missing = dir.join("no/such/dir");
        assert!(NotifyFifo::open(missing.to_str().unwrap()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_full_pipe_would_block_and_does_not_block() {
        let dir = scratch("full");
        let path = dir.join("notify");
        let fifo = NotifyFifo::open(path.to_str().unwrap()).unwrap();
        let line = "x".repeat(99);
        let started = Instant::now();
        let mut written = 0usize;
        let error = loop {
            match fifo.write_line(&line) {
                Ok(()) => written += 100,
                Err(e) => break e,
            }
            assert!(written <= 16 << 20, "the pipe never filled");
        };
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
        assert!(written >= 4096, "only {written} bytes fit");
        // Still full, still not blocking.
        assert_eq!(
            fifo.write_line(&line).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        assert!(started.elapsed().as_secs() < 5);
        // Reading makes room again.
        let mut reader = File::open(&path).unwrap();
        let mut buf = vec![0u8; 8192];
        assert_eq!(reader.read(&mut buf).unwrap(), 8192);
        assert!(buf.starts_with(line.as_bytes()));
        fifo.write_line(&line).unwrap();
        drop(fifo);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
