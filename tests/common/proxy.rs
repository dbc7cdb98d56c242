//! An HTTP `CONNECT` proxy for the tests, as a self-hosted runner's corporate proxy behaves: it
//! requires `Proxy-Authorization: Basic …`, answers `407` without it, logs every `CONNECT`
//! target it is asked for, and tunnels bytes without looking into them (TLS stays end to end).
//!
//! It connects only to the loopback addresses of its route table, so a test that names a
//! host such as `vault.test` reaches the dev server through it and nowhere else: a target not
//! in the table is refused with `403`, never resolved or dialled.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// One `CONNECT` the proxy received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect {
    /// `host:port` as the client asked for it.
    pub target: String,
    /// True when `Proxy-Authorization` carried the expected user and password.
    pub authorized: bool,
}

/// What the proxy answers a `CONNECT` with.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Check the credentials, then tunnel to the routed loopback address.
    Tunnel,
    /// Answer every `CONNECT` with this status line, whatever the credentials.
    Answer(&'static str),
}

pub struct ConnectProxy {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Connect>>>,
}

impl ConnectProxy {
    /// Starts a proxy on 127.0.0.1 that accepts `user:password` and tunnels each target of
    /// `routes` (`vault.test:8200`) to its loopback address.
    pub fn start(
        user_password: &str,
        routes: BTreeMap<String, SocketAddr>,
        behaviour: Behaviour,
    ) -> ConnectProxy {
        assert!(routes.values().all(|a| a.ip().is_loopback()));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let expected = format!("Basic {}", STANDARD.encode(user_password));
        let shared = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, routes, expected, behaviour) = (
                    shared.clone(),
                    routes.clone(),
                    expected.clone(),
                    behaviour.clone(),
                );
                std::thread::spawn(move || serve(stream, &log, &routes, &expected, &behaviour));
            }
        });
        ConnectProxy { addr, log }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every `CONNECT` so far, in order.
    pub fn connects(&self) -> Vec<Connect> {
        self.log.lock().unwrap().clone()
    }
}

fn serve(
    mut client: TcpStream,
    log: &Mutex<Vec<Connect>>,
    routes: &BTreeMap<String, SocketAddr>,
    expected: &str,
    behaviour: &Behaviour,
) {
    let Some(head) = read_head(&mut client) else {
        return;
    };
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or_default();
    let mut parts = request.split(' ');
    let (method, target) = (parts.next().unwrap_or_default(), parts.next());
    let Some(target) = target.filter(|_| method == "CONNECT") else {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let authorized = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("proxy-authorization") && value.trim() == expected
        })
    });
    log.lock().unwrap().push(Connect {
        target: target.to_string(),
        authorized,
    });
    if let Behaviour::Answer(status) = behaviour {
        let _ = write!(client, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
        return;
    }
    if !authorized {
        let _ = client.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
              Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
        );
        return;
    }
    let Some(upstream) = routes.get(target).and_then(|a| TcpStream::connect(a).ok()) else {
        let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let (mut c_read, mut u_write) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut u_write);
        let _ = u_write.shutdown(Shutdown::Write);
    });
    let (mut u_read, mut c_write) = (upstream, client);
    let _ = std::io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = up.join();
}

/// The request head, up to the blank line (8 KiB at most), read byte by byte so that nothing
/// of the tunnelled stream is consumed.
fn read_head(client: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 || client.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}

/// A listener for `vault-addr` that reads the client's first bytes (its TLS ClientHello),
/// answers `answer` and closes its side: with an HTTP answer, a plain-http Vault on an https
/// address; empty, a listener that hangs up on the handshake. It then reads until the client
/// closes, so the client always sees the answer and a clean end of stream, never a reset.
pub fn answering_listener(answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(answer);
                let _ = stream.shutdown(Shutdown::Write);
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    addr
}
