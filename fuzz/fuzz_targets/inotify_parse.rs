//! Bytes as read(2) gives them from an inotify descriptor, through the
//! parser `FileWatch::read` uses: event lengths are checked, never
//! trusted, and the names in the events (anyone who can write to a
//! watched directory picks them) are only compared. It must never panic,
//! must say `Overflow` exactly when an event is malformed or the kernel
//! reports one, and must otherwise name only watched paths, once each,
//! in the order they were watched.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use tinyvrrp::sys::inotify::{Changes, FileWatch};

/// Watched as a real tracker would: two files in one directory (one
/// watch, so one wd for both) and one in another.
const WATCHED: [&str; 3] = ["/tmp/track", "/tmp/tracked.d", "/track"];
const EVENT_HEADER_LEN: usize = 16;
const IN_Q_OVERFLOW: u32 = 0x4000;

thread_local! {
    static WATCH: RefCell<FileWatch> = RefCell::new({
        let mut watch = FileWatch::open().expect("inotify");
        for path in WATCHED {
            watch.watch(path).expect("a watch on /tmp and /");
        }
        watch
    });
}

fuzz_target!(|data: &[u8]| {
    let changes = WATCH.with(|watch| watch.borrow_mut().parse(data));
    match changes {
        Changes::Overflow => assert!(
            malformed_or_overflow(data),
            "Overflow from well-formed events: {data:02x?}"
        ),
        Changes::Paths(paths) => {
            assert!(!malformed_or_overflow(data), "no Overflow: {data:02x?}");
            let mut order = paths.iter().map(|p| {
                WATCHED
                    .iter()
                    .position(|w| w == p)
                    .unwrap_or_else(|| panic!("{p} is not watched"))
            });
            let mut previous = order.next();
            for next in order {
                assert!(previous < Some(next), "{paths:?}: repeated or out of order");
                previous = Some(next);
            }
        }
    }
});

/// The framing of inotify(7), walked independently: `struct inotify_event`
/// is `wd`, `mask`, `cookie`, `len`, then `len` octets of name.
fn malformed_or_overflow(mut data: &[u8]) -> bool {
    while !data.is_empty() {
        if data.len() < EVENT_HEADER_LEN {
            return true;
        }
        let word = |at: usize| u32::from_ne_bytes(data[at..at + 4].try_into().unwrap());
        let Some(end) = (word(12) as usize).checked_add(EVENT_HEADER_LEN) else {
            return true;
        };
        if end > data.len() || word(4) & IN_Q_OVERFLOW != 0 {
            return true;
        }
        data = &data[end..];
    }
    false
}
