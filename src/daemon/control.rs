//! The status socket: `tinyvrrp status` and `tinyvrrp reload` connect, send
//! one request line and read the answer until the daemon closes. Every
//! descriptor is non-blocking and each client is bounded (its request, how
//! many clients, how long one may take), so a slow or hostile client costs
//! memory we chose and never delays an advert.

use core::time::Duration;
use std::os::fd::OwnedFd;

use super::{earliest, Daemon};
use crate::proto::time::Instant;
use crate::sys;
use crate::sys::unix::{self, Listener, Progress};

/// A request is one short line (`status`, `status json`, `reload`).
const MAX_REQUEST: usize = 64;
/// Connections beyond this many are closed at once.
const MAX_CLIENTS: usize = 16;
/// A client that has not sent its request and read the answer by then is
/// closed.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// The listening socket and the clients being served.
pub(super) struct Control {
    pub(super) listener: Option<Listener>,
    pub(super) clients: Vec<Client>,
    next_id: u32,
}

pub(super) struct Client {
    pub(super) id: u32,
    pub(super) fd: OwnedFd,
    request: Vec<u8>,
    /// The answer, once the request is complete; then the client is
    /// polled for writing.
    pub(super) answer: Option<Vec<u8>>,
    sent: usize,
    deadline: Instant,
}

impl Control {
    /// Listens on `path`; a socket a running daemon answers on is an error,
    /// any other failure is logged and the daemon runs without a socket.
    pub(super) fn open(path: &str) -> std::io::Result<Control> {
        if unix::connect(path).is_ok() {
            return Err(sys::error(
                std::io::ErrorKind::AddrInUse,
                format!("{path}: another daemon is answering there"),
            ));
        }
        let listener = match Listener::bind(path) {
            Ok(listener) => Some(listener),
            Err(e) => {
                log_at!(Warn, "status socket {path}: {e}; running without it");
                None
            }
        };
        Ok(Control {
            listener,
            clients: Vec::new(),
            next_id: 0,
        })
    }

    /// When the oldest client runs out of time.
    pub(super) fn poll_at(&self) -> Option<Instant> {
        let mut next = None;
        for client in &self.clients {
            next = earliest(next, Some(client.deadline));
        }
        next
    }

    /// Closes the clients whose time is up.
    pub(super) fn expire(&mut self, now: Instant) {
        self.clients.retain(|c| c.deadline > now);
    }

    /// Accepts what is waiting.
    fn accept(&mut self, now: Instant) {
        let Some(listener) = &self.listener else {
            return;
        };
        loop {
            match listener.accept() {
                Ok(Some(fd)) if self.clients.len() < MAX_CLIENTS => {
                    self.next_id = self.next_id.wrapping_add(1);
                    self.clients.push(Client {
                        id: self.next_id,
                        fd,
                        request: Vec::new(),
                        answer: None,
                        sent: 0,
                        deadline: now + CLIENT_TIMEOUT,
                    });
                }
                // Dropped: closed at once.
                Ok(Some(_)) => {}
                Ok(None) => return,
                Err(e) => {
                    log_at!(Warn, "status socket: accept: {e}");
                    return;
                }
            }
        }
    }
}

/// What a client asked for.
enum Request {
    Status { json: bool },
    Reload,
}

fn parse_request(line: &[u8]) -> Option<Request> {
    match line {
        b"status" => Some(Request::Status { json: false }),
        b"status json" => Some(Request::Status { json: true }),
        b"reload" => Some(Request::Reload),
        _ => None,
    }
}

impl Daemon {
    /// The listening socket is readable.
    pub(super) fn accept_clients(&mut self, now: Instant) {
        self.control.accept(now);
    }

    /// Client `id` is readable (its request) or writable (its answer).
    pub(super) fn serve_client(&mut self, id: u32, now: Instant) {
        let Some(index) = self.control.clients.iter().position(|c| c.id == id) else {
            return;
        };
        let client = &mut self.control.clients[index];
        let keep = match &client.answer {
            Some(answer) => match unix::send_some(&client.fd, &answer[client.sent..]) {
                Ok(Progress::Done(n)) => {
                    client.sent += n;
                    client.sent < answer.len()
                }
                Ok(Progress::WouldBlock) => true,
                Err(_) => false,
            },
            None => {
                let mut chunk = [0u8; MAX_REQUEST];
                match unix::receive_some(&client.fd, &mut chunk) {
                    Ok(Progress::Done(n)) => {
                        client.request.extend_from_slice(&chunk[..n]);
                        let ended = n == 0 || client.request.contains(&b'\n');
                        if ended || client.request.len() > MAX_REQUEST {
                            let request = client.request.split(|&b| b == b'\n').next();
                            let request = request.and_then(parse_request);
                            let answer = self.answer(request, now);
                            self.control.clients[index].answer = Some(answer);
                        }
                        true
                    }
                    Ok(Progress::WouldBlock) => true,
                    Err(_) => false,
                }
            }
        };
        if !keep {
            self.control.clients.remove(index);
        }
    }

    fn answer(&mut self, request: Option<Request>, now: Instant) -> Vec<u8> {
        match request {
            Some(Request::Status { json }) => {
                let status = self.status(now);
                match json {
                    true => status.json().into_bytes(),
                    false => status.tables().into_bytes(),
                }
            }
            Some(Request::Reload) => {
                log_at!(
                    Info,
                    "reload requested on the status socket: reloading {}",
                    self.file
                );
                match self.reload() {
                    Ok(()) => b"reloaded\n".to_vec(),
                    Err(errors) => {
                        let mut answer = errors.join("\n");
                        answer.push('\n');
                        answer.into_bytes()
                    }
                }
            }
            None => b"error: unknown request (status, status json or reload)\n".to_vec(),
        }
    }
}
