//! HTTPS serving: a TCP accept loop, a TLS handshake per connection (tokio-rustls), and
//! hyper-util serving the axum router over HTTP/1.1 (PVE's server speaks nothing else).
//! Plain HTTP sent to the port is answered the way `pveproxy` answers it since
//! libpve-http-server-perl 4.2-1: a redirect to `https://` (301 for GET/HEAD, 308 otherwise)
//! and the connection closed. On shutdown the server stops accepting, lets each connection
//! finish its request (at most 2 s), then drops the rest.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to send its first bytes and finish the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves until `stop` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    stop: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let mut conns = JoinSet::new();
    let mut stopped = stop.clone();
    loop {
        tokio::select! {
            () = stop_requested(&mut stopped) => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => {
                    conns.spawn(connection(tcp, acceptor.clone(), app.clone(), stop.clone()));
                }
                // Out of file descriptors and the like: try again shortly.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if timeout(Duration::from_secs(2), drain).await.is_err() {
        conns.abort_all();
    }
}

async fn connection(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let mut first = [0u8; 1];
    match timeout(HANDSHAKE_TIMEOUT, tcp.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return,
    }
    // A TLS connection starts with a handshake record (content type 22).
    if first[0] != 0x16 {
        redirect_plain_http(tcp).await;
        return;
    }
    let Ok(Ok(tls)) = timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
        return;
    };
    let builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    let conn = builder.serve_connection(TokioIo::new(tls), TowerToHyperService::new(app));
    tokio::pin!(conn);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            () = stop_requested(&mut stop), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Resolves once the stop flag is set (or its sender is gone).
async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Answers a plain-HTTP request with a redirect to the same URL over HTTPS.
async fn redirect_plain_http(mut tcp: TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 8192 {
            return;
        }
        match timeout(HANDSHAKE_TIMEOUT, tcp.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return,
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut lines = head.lines();
    let mut request = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (
        request.next().unwrap_or("GET"),
        request.next().unwrap_or("/"),
    );
    let host = lines.find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("host")
            .then(|| v.trim().to_string())
    });
    let Some(host) = host.filter(|h| !h.contains(['\r', '\n'])) else {
        return;
    };
    let (code, reason) = if method == "GET" || method == "HEAD" {
        (301, "Moved Permanently")
    } else {
        (308, "Permanent Redirect")
    };
    let target: String = target.chars().filter(|c| !c.is_control()).collect();
    let response = format!(
        "HTTP/1.1 {code} {reason}\r\nLocation: https://{host}{target}\r\nServer: pve-api-daemon/3.0\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    let _ = tcp.write_all(response.as_bytes()).await;
    let _ = tcp.shutdown().await;
}
