//! Changes to a set of files, seen through inotify(7), never by polling.
//!
//! A file is watched through its parent directory, so that a file replaced
//! by rename (`mv tmp file`, how editors and config tools save), created
//! after we start, deleted, or written in place are all seen. keepalived
//! re-reads its `track_file` on IN_CLOSE_WRITE and IN_MOVED_TO; we also ask
//! for IN_CREATE, IN_DELETE and IN_MOVED_FROM so that a file appearing or
//! going away is seen at once.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::inotify::{self, CreateFlags, WatchFlags};

/// `struct inotify_event` (inotify(7)): `wd` i32, `mask` u32, `cookie` u32,
/// `len` u32, then `len` bytes of name, NUL-padded. Native byte order, the
/// same layout on every architecture.
const EVENT_WD: usize = 0;
const EVENT_MASK: usize = 4;
const EVENT_LEN: usize = 12;
const EVENT_HEADER_LEN: usize = 16;

/// Event bits read back (linux/inotify.h, the same on every architecture).
const IN_MODIFY: u32 = 0x0000_0002;
const IN_CLOSE_WRITE: u32 = 0x0000_0008;
const IN_MOVED_FROM: u32 = 0x0000_0040;
const IN_MOVED_TO: u32 = 0x0000_0080;
const IN_CREATE: u32 = 0x0000_0100;
const IN_DELETE: u32 = 0x0000_0200;
const IN_MOVE_SELF: u32 = 0x0000_0800;
const IN_UNMOUNT: u32 = 0x0000_2000;
const IN_Q_OVERFLOW: u32 = 0x0000_4000;
const IN_IGNORED: u32 = 0x0000_8000;

/// An event on a name in a watched directory that may change what reading
/// that name gives. (IN_MODIFY comes only for [`FileWatch::watch_writes`].)
const NAME_EVENTS: u32 =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MODIFY;
/// An event on the watched directory itself: moved away (IN_MOVE_SELF),
/// its watch gone because it was deleted or its file system unmounted
/// (IN_IGNORED, IN_UNMOUNT). The paths in it no longer name what we watch.
const DIRECTORY_EVENTS: u32 = IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED;

/// One read takes this much: at least one event with the longest name
/// (NAME_MAX 255 plus its NUL), as read(2) on inotify requires, and room
/// for a burst.
const READ_BUFFER_LEN: usize = 4096;

/// What [`FileWatch::read`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    /// These watched paths, spelt as given to [`FileWatch::watch`], may have
    /// changed: each once, in the order they were first watched. Empty when
    /// only other files in the watched directories changed.
    Paths(Vec<String>),
    /// The kernel's event queue overflowed (IN_Q_OVERFLOW) and events were
    /// lost, or it handed us something malformed: re-read every file.
    Overflow,
}

/// A file being watched: the last part of `path`, from `name_at` on, in
/// the directory watched as `wd`.
#[derive(Debug)]
struct Watched {
    path: String,
    name_at: usize,
    /// `None` once the directory's watch is gone (IN_IGNORED).
    wd: Option<i32>,
}

/// An inotify instance that watches a set of files through their parent
/// directories.
#[derive(Debug)]
pub struct FileWatch {
    fd: OwnedFd,
    files: Vec<Watched>,
}

impl FileWatch {
    /// A non-blocking, close-on-exec inotify instance watching nothing yet.
    pub fn open() -> io::Result<FileWatch> {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        Ok(FileWatch {
            fd,
            files: Vec::new(),
        })
    }

    /// Watches `path` (a file that may not exist yet) through its parent
    /// directory, which must exist. A directory holding several watched
    /// files is watched once: the kernel returns the same watch for the
    /// same directory however it is spelt. Watching a path again is a no-op
    /// unless its directory's watch was lost, which this renews.
    pub fn watch(&mut self, path: &str) -> io::Result<()> {
        self.add(path, WatchFlags::empty())
    }

    /// [`FileWatch::watch`], and every write too (IN_MODIFY): for a file
    /// its writer rewrites in place and keeps open, as dnsmasq does its
    /// lease file, which never closes it. Every path of one instance is
    /// watched the one way or the other: a directory has one mask.
    #[cfg(feature = "sync")]
    pub fn watch_writes(&mut self, path: &str) -> io::Result<()> {
        self.add(path, WatchFlags::MODIFY)
    }

    fn add(&mut self, path: &str, more: WatchFlags) -> io::Result<()> {
        let (dir, name) = split(path)?;
        let wd = Some(inotify::add_watch(
            &self.fd,
            dir,
            WatchFlags::CLOSE_WRITE
                | WatchFlags::MOVED_TO
                | WatchFlags::CREATE
                | WatchFlags::DELETE
                | WatchFlags::MOVED_FROM
                | WatchFlags::MOVE_SELF
                | WatchFlags::ONLYDIR
                | more,
        )?);
        match self.files.iter_mut().find(|f| f.path == path) {
            Some(file) => file.wd = wd,
            None => self.files.push(Watched {
                path: path.to_string(),
                name_at: path.len() - name.len(),
                wd,
            }),
        }
        Ok(())
    }

    /// Drains every queued event without blocking and says which watched
    /// paths they touch (an empty list when none, or when nothing was
    /// queued).
    pub fn read(&mut self) -> io::Result<Changes> {
        let mut buf = [0u8; READ_BUFFER_LEN];
        let mut changed = vec![false; self.files.len()];
        let mut overflow = false;
        loop {
            let len = match rustix::io::read(&self.fd, &mut buf) {
                Ok(0) | Err(rustix::io::Errno::AGAIN) => break,
                Ok(len) => len,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            };
            overflow |= self.note_all(&buf[..len], &mut changed);
        }
        Ok(self.changes(overflow, changed))
    }

    /// What [`FileWatch::read`] makes of `events`, bytes as one read(2)
    /// of the inotify descriptor gives them. Only in the fuzz build
    /// (`fuzz/fuzz_targets/inotify_parse.rs`): in the daemon's a second
    /// caller would keep the parser out of line, 300 bytes on MIPS.
    #[cfg(fuzzing)]
    pub fn parse(&mut self, events: &[u8]) -> Changes {
        let mut changed = vec![false; self.files.len()];
        let overflow = self.note_all(events, &mut changed);
        self.changes(overflow, changed)
    }

    /// Marks the files that the events in `buf` touch; true on a queue
    /// overflow or a malformed event.
    fn note_all(&mut self, mut buf: &[u8], changed: &mut [bool]) -> bool {
        let mut overflow = false;
        while !buf.is_empty() {
            let Some((event, len)) = parse_event(buf) else {
                overflow = true;
                break;
            };
            overflow |= self.note(event, changed);
            buf = &buf[len..];
        }
        overflow
    }

    fn changes(&self, overflow: bool, changed: Vec<bool>) -> Changes {
        if overflow {
            return Changes::Overflow;
        }
        let mut paths = Vec::new();
        for (file, changed) in self.files.iter().zip(changed) {
            if changed {
                paths.push(file.path.clone());
            }
        }
        Changes::Paths(paths)
    }

    /// Marks the files that `event` touches; true on a queue overflow.
    fn note(&mut self, event: Event<'_>, changed: &mut [bool]) -> bool {
        if event.mask & IN_Q_OVERFLOW != 0 {
            return true;
        }
        for (file, changed) in self.files.iter_mut().zip(changed) {
            if file.wd != Some(event.wd) {
                continue;
            }
            let on_directory = event.mask & DIRECTORY_EVENTS != 0;
            let on_name = event.mask & NAME_EVENTS != 0
                && event.name == &file.path.as_bytes()[file.name_at..];
            *changed |= on_directory || on_name;
            if event.mask & IN_IGNORED != 0 {
                file.wd = None;
            }
        }
        false
    }
}

impl AsFd for FileWatch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The parent directory and the name of `path`: `.` for a bare name, `/`
/// for a name at the root. A path without a file name (empty, ending in
/// `/`, `.` or `..`) cannot be watched this way.
fn split(path: &str) -> io::Result<(&str, &str)> {
    let (dir, name) = match path.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((dir, name)) => (dir, name),
        None => (".", path),
    };
    if name.is_empty() || name == "." || name == ".." {
        return Err(super::error(
            io::ErrorKind::InvalidInput,
            format!("{path}: not a file name"),
        ));
    }
    Ok((dir, name))
}

/// One `struct inotify_event`, its name without the NUL padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Event<'a> {
    wd: i32,
    mask: u32,
    name: &'a [u8],
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// The event at the start of `buf`, bytes read from an inotify descriptor,
/// and its length; `None` if it does not fit in `buf`. The kernel never
/// writes such an event, so lengths are checked, never trusted.
fn parse_event(buf: &[u8]) -> Option<(Event<'_>, usize)> {
    let header = buf.get(..EVENT_HEADER_LEN)?;
    let len = usize::try_from(u32_at(header, EVENT_LEN))
        .ok()?
        .checked_add(EVENT_HEADER_LEN)?;
    let name = buf.get(EVENT_HEADER_LEN..len)?;
    let event = Event {
        wd: u32_at(header, EVENT_WD) as i32,
        mask: u32_at(header, EVENT_MASK),
        name: name.split(|&b| b == 0).next().unwrap_or(name),
    };
    Some((event, len))
}

#[cfg(test)]
mod tests;
