//! Is a new instance alive? The default check: the port accepts a connection and answers an HTTP
//! request to `/` with any HTTP response (a 404 is alive; a refused or reset connection is not).
//!
//! Declared checks (app.json `healthchecks`, the legacy `CHECKS` file) are read by `spec` and run
//! by `run`. Checks are polled with a deadline, never by sleeping a fixed time and hoping.

mod run;
mod spec;

pub use run::{http_get, run_check, Answer, Target};
pub use spec::{from_app_json, from_checks_file, SpecError};

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

/// How one probe went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// An HTTP status line came back.
    Answered(u16),
    /// Nothing usable came back; the reason is for the deploy log.
    Failed(String),
}

/// One HTTP probe: connect, `GET /`, read the status line.
pub async fn probe_http(addr: SocketAddr, host: &str, limit: Duration) -> Probe {
    let attempt = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: berth-health\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut head = Vec::with_capacity(64);
        let mut buf = [0u8; 64];
        while !head.contains(&b'\n') && head.len() < 1024 {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed without a response".to_string());
            }
            head.extend_from_slice(&buf[..n]);
        }
        parse_status_line(&head).ok_or_else(|| "not an HTTP response".to_string())
    };
    match timeout(limit, attempt).await {
        Ok(Ok(status)) => Probe::Answered(status),
        Ok(Err(reason)) => Probe::Failed(reason),
        Err(_) => Probe::Failed(format!("no answer within {}s", limit.as_secs())),
    }
}

fn parse_status_line(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    parts.next()?.parse().ok()
}

/// Polls `probe_http` until it answers or `deadline` passes; `still_running` is asked between
/// probes so a crashed container fails at once instead of at the deadline.
pub async fn wait_until_answers<F, Fut>(
    addr: SocketAddr,
    host: &str,
    deadline: Instant,
    mut still_running: F,
) -> Result<u16, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    loop {
        let last = match probe_http(addr, host, Duration::from_secs(5)).await {
            Probe::Answered(status) => return Ok(status),
            Probe::Failed(reason) => reason,
        };
        if !still_running().await {
            return Err(format!("the container exited ({last})"));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no HTTP answer on {addr} before the deadline ({last})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line(b"HTTP/1.1 404 Not Found\r\n"), Some(404));
        assert_eq!(parse_status_line(b"HTTP/1.0 200 OK\n"), Some(200));
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH\r\n"), None);
    }

    #[tokio::test]
    async fn a_404_is_alive_and_a_closed_port_is_not() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 512];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                .await;
        });
        assert_eq!(
            probe_http(addr, "x", Duration::from_secs(5)).await,
            Probe::Answered(404)
        );
        assert!(matches!(
            probe_http(addr, "x", Duration::from_secs(5)).await,
            Probe::Failed(_)
        ));
    }

    #[tokio::test]
    async fn a_dead_container_fails_before_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let deadline = Instant::now() + Duration::from_secs(3600);
        let result = wait_until_answers(addr, "x", deadline, || async { false }).await;
        assert!(result.unwrap_err().starts_with("the container exited"));
    }
}
