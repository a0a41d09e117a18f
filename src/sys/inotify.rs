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
/// that name gives.
const NAME_EVENTS: u32 = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM;
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
                | WatchFlags::ONLYDIR,
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
            let mut rest = &buf[..len];
            while !rest.is_empty() {
                let Some((event, len)) = parse_event(rest) else {
                    overflow = true;
                    break;
                };
                overflow |= self.note(event, &mut changed);
                rest = &rest[len..];
            }
        }
        if overflow {
            return Ok(Changes::Overflow);
        }
        let mut paths = Vec::new();
        for (file, changed) in self.files.iter().zip(changed) {
            if changed {
                paths.push(file.path.clone());
            }
        }
        Ok(Changes::Paths(paths))
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
mod tests {
    use super::*;
    use std::fs;
    use std::path::{Path, PathBuf};

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tinyvrrp-inotify-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn text(path: &Path) -> String {
        path.to_str().unwrap().to_string()
    }

    fn paths(list: &[&Path]) -> Changes {
        Changes::Paths(list.iter().map(|p| text(p)).collect())
    }

    /// An event as the kernel writes it, its name padded with `pad` NULs.
    fn raw_event(wd: i32, mask: u32, name: &str, pad: usize) -> Vec<u8> {
        let len = if name.is_empty() && pad == 0 {
            0
        } else {
            name.len() + pad
        };
        let mut out = Vec::new();
        out.extend_from_slice(&wd.to_ne_bytes());
        out.extend_from_slice(&mask.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.extend_from_slice(&(len as u32).to_ne_bytes());
        out.extend_from_slice(name.as_bytes());
        out.resize(out.len() + pad, 0);
        out
    }

    #[test]
    fn writing_in_place_renaming_over_deleting_and_creating_are_seen() {
        let dir = scratch("kinds");
        let file = dir.join("track");
        fs::write(&file, "0\n").unwrap();
        let mut watch = FileWatch::open().unwrap();
        watch.watch(&text(&file)).unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[]));

        fs::write(&file, "10\n").unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[&file]));

        let tmp = dir.join("track.tmp");
        fs::write(&tmp, "20\n").unwrap();
        fs::rename(&tmp, &file).unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[&file]));

        fs::remove_file(&file).unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[&file]));

        // Created empty and never closed after writing: IN_CREATE alone.
        let created = fs::File::create(&file).unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[&file]));
        drop(created);
        assert_eq!(watch.read().unwrap(), paths(&[&file]));

        // Renamed away: the path no longer names it.
        fs::rename(&file, &tmp).unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[&file]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn other_files_in_the_directory_are_not_reported() {
        let dir = scratch("others");
        let file = dir.join("track");
        let mut watch = FileWatch::open().unwrap();
        watch.watch(&text(&file)).unwrap();
        fs::write(dir.join("other"), "1\n").unwrap();
        fs::write(dir.join("track2"), "1\n").unwrap();
        fs::write(dir.join("trac"), "1\n").unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn two_files_in_one_directory_share_a_watch_and_are_told_apart() {
        let dir = scratch("two");
        let (a, b) = (dir.join("a"), dir.join("b"));
        let mut watch = FileWatch::open().unwrap();
        watch.watch(&text(&a)).unwrap();
        watch.watch(&text(&b)).unwrap();
        // The same path again changes nothing.
        watch.watch(&text(&a)).unwrap();
        assert_eq!(watch.files.len(), 2);
        assert_eq!(watch.files[0].wd, watch.files[1].wd);

        fs::write(&b, "1\n").unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[&b]));
        // Several events on both, reported once each, in watch order.
        fs::write(&b, "2\n").unwrap();
        fs::write(&a, "1\n").unwrap();
        fs::write(&b, "3\n").unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[&a, &b]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_in_two_directories() {
        let (one, two) = (scratch("dir1"), scratch("dir2"));
        let (a, b) = (one.join("f"), two.join("f"));
        let mut watch = FileWatch::open().unwrap();
        watch.watch(&text(&a)).unwrap();
        watch.watch(&text(&b)).unwrap();
        assert_ne!(watch.files[0].wd, watch.files[1].wd);
        fs::write(&b, "1\n").unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[&b]));
        fs::write(&a, "1\n").unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[&a]));
        fs::remove_dir_all(&one).unwrap();
        fs::remove_dir_all(&two).unwrap();
    }

    #[test]
    fn a_removed_directory_reports_its_files_and_can_be_watched_again() {
        let dir = scratch("rmdir");
        let file = dir.join("f");
        let mut watch = FileWatch::open().unwrap();
        watch.watch(&text(&file)).unwrap();
        fs::remove_dir(&dir).unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[&file]));
        assert_eq!(watch.files[0].wd, None);
        fs::create_dir(&dir).unwrap();
        watch.watch(&text(&file)).unwrap();
        fs::write(&file, "1\n").unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[&file]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_or_a_path_without_a_name_is_an_error() {
        let dir = scratch("missing");
        let mut watch = FileWatch::open().unwrap();
        let missing = watch.watch(&text(&dir.join("nope/f"))).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        fs::write(dir.join("file"), "").unwrap();
        assert!(watch.watch(&text(&dir.join("file/f"))).is_err());
        for bad in ["", "/", "dir/", "dir/.", ".."] {
            let error = watch.watch(bad).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        assert!(watch.files.is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn paths_split_into_directory_and_name() {
        assert_eq!(split("/etc/track").unwrap(), ("/etc", "track"));
        assert_eq!(split("/track").unwrap(), ("/", "track"));
        assert_eq!(split("track").unwrap(), (".", "track"));
        assert_eq!(split("a/b/c").unwrap(), ("a/b", "c"));
    }

    #[test]
    fn a_full_queue_reports_overflow() {
        // Past max_queued_events (16384 by default) the kernel drops
        // events and queues IN_Q_OVERFLOW. Identical consecutive events are
        // merged, so alternate creating and deleting.
        let limit: usize = fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(usize::MAX);
        if limit > 20_000 {
            eprintln!("max_queued_events is {limit}: overflow test skipped");
            return;
        }
        let dir = scratch("overflow");
        let file = dir.join("f");
        let mut watch = FileWatch::open().unwrap();
        watch.watch(&text(&file)).unwrap();
        let other = dir.join("g");
        for _ in 0..limit / 2 + 1 {
            fs::File::create(&other).unwrap();
            fs::remove_file(&other).unwrap();
        }
        assert_eq!(watch.read().unwrap(), Changes::Overflow);
        // Drained: the next read sees only new events.
        fs::write(&file, "1\n").unwrap();
        assert_eq!(watch.read().unwrap(), paths(&[&file]));
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The events in `buf` as [`FileWatch::read`] takes them, and whether
    /// it stopped at a malformed one.
    fn parse_all(mut buf: &[u8]) -> (Vec<Event<'_>>, bool) {
        let mut events = Vec::new();
        while !buf.is_empty() {
            let Some((event, len)) = parse_event(buf) else {
                return (events, true);
            };
            events.push(event);
            buf = &buf[len..];
        }
        (events, false)
    }

    #[test]
    fn events_parse_from_crafted_buffers() {
        let mut buf = raw_event(1, IN_CREATE, "track", 11);
        buf.extend(raw_event(-1, IN_Q_OVERFLOW, "", 0));
        buf.extend(raw_event(2, IN_IGNORED, "", 0));
        buf.extend(raw_event(1, IN_CLOSE_WRITE, "abcdefghijklmnop", 16));
        let (got, malformed) = parse_all(&buf);
        assert_eq!(
            got,
            [
                Event {
                    wd: 1,
                    mask: IN_CREATE,
                    name: b"track"
                },
                Event {
                    wd: -1,
                    mask: IN_Q_OVERFLOW,
                    name: b""
                },
                Event {
                    wd: 2,
                    mask: IN_IGNORED,
                    name: b""
                },
                Event {
                    wd: 1,
                    mask: IN_CLOSE_WRITE,
                    name: b"abcdefghijklmnop"
                },
            ]
        );
        assert!(!malformed);
    }

    #[test]
    fn truncated_buffers_stop_the_parse_and_say_so() {
        let whole = [
            raw_event(1, IN_CREATE, "a", 15),
            raw_event(1, IN_DELETE, "b", 15),
        ]
        .concat();
        let first = EVENT_HEADER_LEN + 16;
        for cut in 1..whole.len() {
            let (got, malformed) = parse_all(&whole[..cut]);
            assert_eq!(got.len(), usize::from(cut >= first), "cut at {cut}");
            assert_eq!(malformed, cut != first, "cut at {cut}");
        }
        // A name length far past the buffer, even one that overflows.
        for len in [u32::MAX, u32::MAX - 15, 1 << 31] {
            let mut buf = raw_event(1, IN_CREATE, "a", 3);
            buf[EVENT_LEN..EVENT_HEADER_LEN].copy_from_slice(&len.to_ne_bytes());
            assert_eq!(parse_event(&buf), None);
        }
    }

    #[test]
    fn malformed_or_overflowing_reads_mean_re_read_everything() {
        let mut watch = FileWatch::open().unwrap();
        watch.files.push(Watched {
            path: "/x/track".into(),
            name_at: 3,
            wd: Some(3),
        });
        let mut changed = vec![false];
        assert!(!watch.note(
            Event {
                wd: 3,
                mask: IN_MOVED_TO,
                name: b"track"
            },
            &mut changed
        ));
        assert_eq!(changed, [true]);
        assert!(watch.note(
            Event {
                wd: -1,
                mask: IN_Q_OVERFLOW,
                name: b""
            },
            &mut changed
        ));
        // An event for another watch or name, or one we did not ask for.
        let mut changed = vec![false];
        for (wd, mask, name) in [
            (4, IN_CREATE, &b"track"[..]),
            (3, IN_CREATE, b"other"),
            (3, 0x1, b"track"),
        ] {
            assert!(!watch.note(Event { wd, mask, name }, &mut changed));
        }
        assert_eq!(changed, [false]);
    }
}
