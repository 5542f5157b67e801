//! Is a new instance alive? The default check: the port accepts a connection and answers an HTTP
//! request to `/` with any HTTP response (a 404 is alive; a refused or reset connection is not).
//!
//! Declared checks (app.json `healthchecks`, the legacy `CHECKS` file) are read by `spec` and run
//! by `run`. Checks are polled with a deadline, never by sleeping a fixed time and hoping.

mod check;
mod run;
mod spec;

pub use check::{CheckKind, HealthCheck};

pub use run::{http_get, probe_once, run_check, Answer, Target};
pub use spec::{app_json_checks, from_checks_file, AppJsonCheck, SpecError};

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::{timeout, Instant};

/// How one probe went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// An HTTP status line came back.
    Answered(u16),
    /// Nothing usable came back; the reason is for the deploy log.
    Failed(String),
}

/// One HTTP probe: connect, `GET /`, read the status.
pub async fn probe_http(addr: SocketAddr, host: &str, limit: Duration) -> Probe {
    match timeout(
        limit,
        run::exchange(addr, host, "/", &[], run::Read::Status),
    )
    .await
    {
        Ok(Ok(answer)) => Probe::Answered(answer.status),
        Ok(Err(reason)) => Probe::Failed(reason),
        Err(_) => Probe::Failed(format!("no answer within {}s", limit.as_secs())),
    }
}

/// Polls `probe_http` until it answers or `deadline` passes; `still_running` is asked between
/// probes so a crashed container fails at once instead of at the deadline, and after an answer:
/// the engine hands an exited container's address to the next container it starts, so an
/// answer there after the container exited came from someone else.
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
            Probe::Answered(status) if still_running().await => return Ok(status),
            Probe::Answered(status) => {
                return Err(format!(
                    "the container exited (HTTP {status} came from another holder of its address)"
                ))
            }
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

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
