//! Two or three routers' sync on virtual time, wired by an in-memory link
//! that can drop, tamper with and replay datagrams.

use core::net::{IpAddr, Ipv4Addr};
use core::time::Duration;

use super::message::{self, Body, Drop, Key, Message, MAX_MESSAGE};
use super::*;

const INTERVAL: Duration = Duration::from_secs(10);
const KEY: &[u8] = b"a shared secret of 32 bytes long";

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn sync(now: Instant) -> Sync {
    let settings = Settings {
        interval: INTERVAL,
        max_size: 1 << 20,
        peers: Peers::Subnets(vec![(ip(0), 24)]),
    };
    Sync::new(Key::new(KEY), settings, 1_700_000_000_000_000, 2, now)
}

/// A datagram in flight: from, to, bytes.
type Datagram = (IpAddr, IpAddr, Vec<u8>);

struct Net {
    now: Instant,
    nodes: Vec<(IpAddr, Sync)>,
    /// Every datagram delivered, for replays and byte counts.
    log: Vec<Datagram>,
    /// Replacements written, (node, file, content).
    written: Vec<(usize, usize, Vec<u8>)>,
}

impl Net {
    fn new(count: u8) -> Net {
        let now = Instant::from_micros(1_000_000);
        Net {
            now,
            nodes: (1..=count).map(|i| (ip(i), sync(now))).collect(),
            log: Vec::new(),
            written: Vec::new(),
        }
    }

    /// Node 0 is master, the others follow it.
    fn roles(&mut self, master: usize) {
        let master_ip = self.nodes[master].0;
        for (i, (_, node)) in self.nodes.iter_mut().enumerate() {
            let role = if i == master {
                Role::Source
            } else {
                Role::Receiver(master_ip)
            };
            node.set_role(role, self.now);
        }
    }

    fn event(&mut self, node: usize, event: Option<Event>) {
        if let Some(Event::Replace { file, data, digest }) = event {
            assert_eq!(digest, chunk::digest(&data));
            self.written.push((node, file, data.clone()));
            self.nodes[node].1.replaced(file, data, digest, self.now);
        }
    }

    /// Delivers everything queued (and what it causes), and does the
    /// hashing that waits, without moving time.
    fn flush(&mut self) {
        let mut buf = [0u8; MAX_MESSAGE];
        for _ in 0..100_000 {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                if self.nodes[i].1.poll_at().is_some_and(|at| at <= self.now) {
                    moved = true;
                    let event = self.nodes[i].1.handle_timeout(self.now);
                    self.event(i, event);
                }
                let from = self.nodes[i].0;
                let Some(Transmit { to, len, .. }) =
                    self.nodes[i].1.poll_transmit(self.now, &mut buf)
                else {
                    continue;
                };
                moved = true;
                let bytes = buf[..len].to_vec();
                self.log.push((from, to, bytes.clone()));
                if let Some(j) = self.nodes.iter().position(|n| n.0 == to) {
                    let event = self.nodes[j].1.handle_datagram(self.now, from, &bytes);
                    self.event(j, event.unwrap_or(None));
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the nodes never stopped talking");
    }

    /// Runs the timers up to `until`, delivering as it goes.
    fn run_until(&mut self, until: Instant) {
        loop {
            self.flush();
            let next = self.nodes.iter().filter_map(|n| n.1.poll_at()).min();
            match next {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    for i in 0..self.nodes.len() {
                        let event = self.nodes[i].1.handle_timeout(self.now);
                        self.event(i, event);
                    }
                }
                _ => break,
            }
        }
        self.now = until;
    }

    fn digest(&self, node: usize, file: usize) -> Option<Digest> {
        self.nodes[node].1.digest(file).copied()
    }

    fn wire_bytes(&self, since: usize) -> usize {
        // With the IPv4 and UDP headers.
        self.log[since..].iter().map(|d| d.2.len() + 28).sum()
    }
}

fn leases(count: usize) -> Vec<u8> {
    (0..count)
        .flat_map(|i| {
            format!(
                "{} 02:00:00:00:{:02x}:{:02x} 10.0.{}.{} host-{i} *\n",
                1_700_000_000 + i * 37,
                i >> 8,
                i & 255,
                i >> 8,
                i & 255
            )
            .into_bytes()
        })
        .collect()
}

#[test]
fn a_receiver_converges_and_a_one_line_change_costs_little() {
    let mut net = Net::new(2);
    let v1 = leases(2000);
    assert!(v1.len() > 100_000);
    net.nodes[0].1.set_local(0, Some(v1.clone()), net.now);
    net.nodes[1].1.set_local(0, None, net.now);
    net.roles(0);
    net.run_until(net.now + Duration::from_secs(1));
    assert_eq!(net.digest(1, 0), net.digest(0, 0));
    assert_eq!(net.written, [(1, 0, v1.clone())]);

    // A line in the middle changed, the same length, then a longer one.
    let middle = v1.len() / 2;
    let line = middle + v1[middle..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut v2 = v1.clone();
    v2[line..line + 10].copy_from_slice(b"1800000000");
    let mut v3 = v2.clone();
    v3.splice(
        line..line,
        b"1800000001 02:00:00:00:aa:bb 10.0.99.99 new-host *\n".to_vec(),
    );
    for next in [v2, v3] {
        let since = net.log.len();
        net.nodes[0].1.set_local(0, Some(next.clone()), net.now);
        net.flush();
        assert_eq!(net.written.last().unwrap(), &(1, 0, next));
        let bytes = net.wire_bytes(since);
        assert!(bytes < 8192, "{bytes} bytes on the wire");
    }
}

#[test]
fn a_local_edit_on_a_receiver_is_put_back_and_a_receiver_never_sends_its_copy() {
    let mut net = Net::new(2);
    let v1 = leases(300);
    net.nodes[0].1.set_local(0, Some(v1.clone()), net.now);
    net.nodes[1].1.set_local(0, Some(v1.clone()), net.now);
    net.roles(0);
    net.run_until(net.now + Duration::from_secs(1));
    assert!(net.written.is_empty());
    let mut edited = v1.clone();
    edited[100] = b'#';
    // Seen through inotify: the receiver asks at once.
    net.nodes[1].1.set_local(0, Some(edited), net.now);
    net.flush();
    assert_eq!(net.written, [(1, 0, v1.clone())]);
    // Only the source sends chunks.
    assert!(net
        .log
        .iter()
        .all(|d| d.0 == ip(1) || d.2[1] < 4 || d.2[1] == 5));
}

#[test]
fn a_lost_message_is_repaired_within_an_interval() {
    let mut net = Net::new(2);
    net.nodes[0].1.set_local(0, Some(leases(100)), net.now);
    net.roles(0);
    net.run_until(net.now + Duration::from_secs(1));
    // The change's announce is lost.
    net.nodes[0].1.set_local(0, Some(leases(101)), net.now);
    let mut buf = [0u8; MAX_MESSAGE];
    while net.nodes[0].1.poll_transmit(net.now, &mut buf).is_some() {}
    net.run_until(net.now + INTERVAL);
    assert_eq!(net.digest(1, 0), net.digest(0, 0));
}

#[test]
fn tampered_replayed_and_foreign_datagrams_are_dropped_and_counted() {
    let mut net = Net::new(2);
    net.nodes[0].1.set_local(0, Some(leases(100)), net.now);
    net.roles(0);
    net.run_until(net.now + Duration::from_secs(1));
    let before = net.digest(1, 0);
    let (from, _, announce) = net
        .log
        .iter()
        .find(|d| d.0 == ip(1) && d.2[1] == 2)
        .unwrap()
        .clone();
    let receiver = &mut net.nodes[1].1;
    let now = net.now;
    assert_eq!(
        receiver.handle_datagram(now, from, &announce),
        Err(Drop::Replayed)
    );
    let mut tampered = announce.clone();
    tampered[20] ^= 1;
    assert_eq!(
        receiver.handle_datagram(now, from, &tampered),
        Err(Drop::Unauthenticated)
    );
    assert_eq!(
        receiver.handle_datagram(now, IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1)), &announce),
        Err(Drop::NotPeer)
    );
    assert_eq!(
        receiver.handle_datagram(now, from, &announce[..40]),
        Err(Drop::Truncated)
    );
    assert_eq!(
        receiver.handle_datagram(now, from, &[0; 1500]),
        Err(Drop::Oversized)
    );
    // Signed under another key.
    let mut other = sync(now);
    other.key = Key::new(b"not the shared secret at all!!!!");
    other.set_role(Role::Source, now);
    other.push(Out::Announce(ip(2)));
    let mut buf = [0u8; MAX_MESSAGE];
    let len = other.poll_transmit(now, &mut buf).unwrap().len;
    assert_eq!(
        receiver.handle_datagram(now, from, &buf[..len]),
        Err(Drop::Unauthenticated)
    );
    let counts: Vec<u64> = Drop::ALL
        .iter()
        .map(|d| receiver.drops[d.index()])
        .collect();
    assert_eq!(counts, [1, 1, 2, 1, 1, 0]);
    assert_eq!(net.digest(1, 0), before);
}

#[test]
fn a_sender_restarted_later_is_heard_and_a_silent_one_forgotten() {
    let mut net = Net::new(2);
    net.nodes[0].1.set_local(0, Some(leases(10)), net.now);
    net.roles(0);
    net.run_until(net.now + Duration::from_secs(1));
    // Restarted: a new engine, its seed from a later wall clock.
    let later = net.now + Duration::from_secs(2);
    net.nodes[0].1 = sync(later);
    net.nodes[0].1.set_local(0, Some(leases(20)), later);
    net.nodes[0].1.set_role(Role::Source, later);
    net.run_until(later + INTERVAL);
    assert_eq!(net.digest(1, 0), net.digest(0, 0));
}

#[test]
fn mastership_moves_the_direction_and_no_file_goes_back() {
    let mut net = Net::new(3);
    net.nodes[0].1.set_local(0, Some(leases(50)), net.now);
    net.roles(0);
    net.run_until(net.now + Duration::from_secs(1));
    // Node 0 fails; node 1 takes over and its file moves on.
    net.nodes[0].1.set_role(Role::Idle, net.now);
    net.nodes[1].1.set_role(Role::Source, net.now);
    net.nodes[2].1.set_role(Role::Receiver(ip(2)), net.now);
    net.nodes[1].1.set_local(0, Some(leases(60)), net.now);
    net.run_until(net.now + Duration::from_secs(1));
    assert_eq!(net.digest(2, 0), net.digest(1, 0));
    // The old master is back as a backup: it takes the newer copy, and
    // nobody is ever handed the older one again.
    let written = net.written.len();
    net.nodes[0].1.set_role(Role::Receiver(ip(2)), net.now);
    net.run_until(net.now + INTERVAL);
    let newest = net.digest(1, 0);
    assert_eq!(net.digest(0, 0), newest);
    assert_eq!(net.written[written..], [(0, 0, leases(60))]);
}

#[test]
fn a_one_megabyte_file_crosses_in_bounded_windows() {
    let mut net = Net::new(2);
    let big: Vec<u8> = (0..(1u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    net.nodes[0].1.set_local(0, Some(big.clone()), net.now);
    net.roles(0);
    // One datagram at a time in `flush`: the queue never holds more than
    // a window's pieces.
    net.run_until(net.now + Duration::from_secs(1));
    assert_eq!(net.written, [(1, 0, big)]);
    assert!(net.nodes[0].1.queue.capacity() <= MAX_QUEUE);
}

#[test]
fn what_was_queued_for_a_version_that_changed_is_dropped() {
    let now = Instant::from_micros(1_000_000);
    let mut source = sync(now);
    let big = leases(400);
    source.set_local(0, Some(big.clone()), now);
    source.set_role(Role::Source, now);
    let mut buf = [0u8; MAX_MESSAGE];
    while source.poll_transmit(now, &mut buf).is_some() {}
    // A receiver asks for the manifest and the last chunks of this version.
    let digest = chunk::digest(&big);
    let total = chunk::split(&big).len() as u32;
    let indexes: Vec<u8> = (total - 3..total).flat_map(u32::to_be_bytes).collect();
    for (seq, body) in [
        (u64::MAX - 1, Body::ManifestRequest(digest)),
        (
            u64::MAX,
            Body::ChunkRequest {
                version: message::version_of(&digest),
                indexes: &indexes,
            },
        ),
    ] {
        let len = message::emit(&Key::new(KEY), &mut buf, &Message { file: 0, seq, body });
        let request = buf[..len].to_vec();
        assert_eq!(source.handle_datagram(now, ip(2), &request), Ok(None));
    }
    assert!(source.wants_send());
    // The file shrinks before they go: none of them is sent.
    source.set_local(0, Some(leases(3)), now);
    while let Some(Transmit { len, .. }) = source.poll_transmit(now, &mut buf) {
        let kind = message::parse(&buf[..len]).unwrap().body;
        assert!(matches!(kind, Body::Announce(_)), "{kind:?}");
    }
}

#[test]
fn subnets_and_lists_decide_who_is_a_peer() {
    let nets = Peers::Subnets(vec![(ip(1), 24), ("fe80::1".parse().unwrap(), 64)]);
    assert!(nets.contains(ip(77)));
    assert!(!nets.contains("10.0.1.1".parse().unwrap()));
    assert!(nets.contains("fe80::99".parse().unwrap()));
    assert!(!nets.contains("fe81::99".parse().unwrap()));
    let listed = Peers::Listed(vec![ip(2)]);
    assert!(listed.contains(ip(2)) && !listed.contains(ip(3)));
    assert!(Peers::Subnets(vec![(ip(1), 0)]).contains("192.0.2.1".parse().unwrap()));
}
