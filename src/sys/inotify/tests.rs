//! FileWatch against a real inotify, and the event parser on crafted
//! buffers.

use super::*;
use std::fs;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tinyvrrp-inotify-{name}-{}", std::process::id()));
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

#[cfg(feature = "sync")]
#[test]
fn writes_to_a_file_kept_open_show_only_when_watched_for_writes() {
    use std::io::{Seek, Write};
    let dir = scratch("writes");
    let file = dir.join("dhcp.leases");
    fs::write(&file, "old\n").unwrap();
    // As dnsmasq writes its lease file: rewound, truncated and written
    // again through a descriptor it never closes.
    let mut open = fs::OpenOptions::new().write(true).open(&file).unwrap();
    let mut plain = FileWatch::open().unwrap();
    plain.watch(&text(&file)).unwrap();
    let mut writes = FileWatch::open().unwrap();
    writes.watch_writes(&text(&file)).unwrap();
    open.rewind().unwrap();
    open.set_len(0).unwrap();
    open.write_all(b"new lease\n").unwrap();
    open.sync_all().unwrap();
    assert_eq!(plain.read().unwrap(), paths(&[]));
    assert_eq!(writes.read().unwrap(), paths(&[&file]));
    drop(open);
    fs::remove_dir_all(&dir).unwrap();
}
