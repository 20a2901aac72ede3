//! A TCP proxy in front of a real server that answers the first few requests itself with
//! `503 Slow Down` (what S3 says when overloaded), then forwards bytes untouched, so a client
//! that retries gets through and one that does not, fails. Forwarding raw bytes keeps the
//! Host header, so SigV4 signatures still verify at the real server.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

/// The proxy; stops when dropped.
pub struct FlakyProxy {
    port: u16,
    refused: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

const SLOW_DOWN_BODY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";

fn slow_down() -> String {
    format!(
        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{SLOW_DOWN_BODY}",
        SLOW_DOWN_BODY.len()
    )
}

impl FlakyProxy {
    /// Refuse the first `failures` requests, then forward to `127.0.0.1:upstream`.
    pub fn start(upstream: u16, failures: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let refused = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, halt) = (Arc::clone(&refused), Arc::clone(&stop));
        thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(mut client) = conn else { continue };
                if count.load(Ordering::Relaxed) < failures {
                    count.fetch_add(1, Ordering::Relaxed);
                    thread::spawn(move || refuse(&mut client));
                    continue;
                }
                thread::spawn(move || forward(client, upstream));
            }
        });
        Self {
            port,
            refused,
            stop,
        }
    }

    /// The endpoint to give the client.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many requests were refused so far.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::Relaxed)
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Read the request head (and whatever body arrives with it), then answer 503 and close.
fn refuse(client: &mut TcpStream) {
    let mut buf = [0u8; 16 << 10];
    let mut seen = Vec::new();
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    let _ = client.write_all(slow_down().as_bytes());
    let _ = client.shutdown(Shutdown::Both);
}

fn forward(client: TcpStream, upstream: u16) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(Shutdown::Write);
    });
    let (mut s1, mut c1) = (server, client);
    let _ = std::io::copy(&mut s1, &mut c1);
    let _ = c1.shutdown(Shutdown::Write);
    let _ = up.join();
}
