//! Running one declared check against one instance, with its attempts, timeouts and waits.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;

use super::HealthCheck;
use crate::scheduler::Scheduler;

/// The instance a check runs against.
pub struct Target<'a> {
    pub container: &'a str,
    pub address: SocketAddr,
    /// The Host header when the check names none.
    pub host: &'a str,
}

/// An HTTP response as a check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

const MAX_BODY: usize = 1024 * 1024;

/// What of the answer an exchange reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Status,
    /// The status and at most 1 MiB of the body (chunked or not).
    Body,
}

/// `GET path` over HTTP/1.1 with hyper's client and `Connection: close`.
pub async fn exchange(
    address: SocketAddr,
    host: &str,
    path: &str,
    headers: &[(String, String)],
    read: Read,
) -> Result<Answer, String> {
    use http_body_util::BodyExt;
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
    let mut request = hyper::Request::get(path)
        .header(hyper::header::HOST, host)
        .header(hyper::header::USER_AGENT, "berth-health")
        .header(hyper::header::CONNECTION, "close");
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| format!("request: {e}"))?;
    let answer = async move {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("read: {e}"))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        let mut incoming = response.into_body();
        while read == Read::Body && body.len() < MAX_BODY {
            match incoming.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        body.extend_from_slice(data);
                    }
                }
                Some(Err(e)) => return Err(format!("read: {e}")),
                None => break,
            }
        }
        body.truncate(MAX_BODY);
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    // The connection is driven here, not on a task of its own; it ends with the answer.
    tokio::pin!(answer, connection);
    tokio::select! {
        answer = &mut answer => answer,
        ended = &mut connection => match ended {
            Ok(()) => answer.await,
            Err(e) => Err(format!("read: {e}")),
        },
    }
}

/// `GET path`, reading at most 1 MiB of the answer, within `limit`.
pub async fn http_get(
    address: SocketAddr,
    host: &str,
    path: &str,
    headers: &[(String, String)],
    limit: Duration,
) -> Result<Answer, String> {
    match timeout(limit, exchange(address, host, path, headers, Read::Body)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {}s", limit.as_secs())),
    }
}

/// Runs `check` until it passes or its attempts run out; the error names the check and why.
pub async fn run_check(
    check: &HealthCheck,
    target: &Target<'_>,
    scheduler: &dyn Scheduler,
) -> Result<(), String> {
    tokio::time::sleep(Duration::from_secs(check.initial_delay_secs)).await;
    let mut last = String::new();
    for attempt in 1..=check.attempts {
        match probe_once(check, target, scheduler).await {
            Ok(()) => return Ok(()),
            Err(reason) => last = format!("{reason} (attempt {attempt}/{})", check.attempts),
        }
        if !scheduler
            .is_up_since_start(target.container)
            .await
            .unwrap_or(false)
        {
            return Err(format!(
                "check \"{}\" failed: the container exited; {last}",
                check.name
            ));
        }
        if attempt < check.attempts {
            tokio::time::sleep(Duration::from_secs(check.wait_secs)).await;
        }
    }
    Err(format!("check \"{}\" failed: {last}", check.name))
}

/// One attempt of `check` (`run_check` makes its attempts; the liveness loop runs its own
/// rounds).
pub async fn probe_once(
    check: &HealthCheck,
    target: &Target<'_>,
    scheduler: &dyn Scheduler,
) -> Result<(), String> {
    let limit = Duration::from_secs(check.timeout_secs);
    if let Some(command) = &check.command {
        let status = scheduler
            .exec(target.container, command, limit)
            .await
            .map_err(|err| err.to_string())?;
        return match status {
            0 => Ok(()),
            code => Err(format!("`{}` exited with {code}", command.join(" "))),
        };
    }
    if let Some(uptime) = check.uptime {
        tokio::time::sleep(Duration::from_secs(uptime)).await;
        return match scheduler.is_up_since_start(target.container).await {
            Ok(true) => Ok(()),
            _ => Err(format!("the container did not stay up for {uptime}s")),
        };
    }
    let path = check.path.as_deref().unwrap_or("/");
    let address = SocketAddr::new(
        target.address.ip(),
        check.port.unwrap_or(target.address.port()),
    );
    let host = check.host.as_deref().unwrap_or(target.host);
    let answer = http_get(address, host, path, &check.headers, limit).await?;
    if !(200..400).contains(&answer.status) {
        return Err(format!("GET {path} answered HTTP {}", answer.status));
    }
    match &check.content {
        Some(content) if !answer.body.contains(content.as_str()) => Err(format!(
            "GET {path} answered without the expected content {content:?}"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves one connection with `answer`, whatever was asked.
    async fn answering(answer: &'static [u8]) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(answer).await;
        });
        address
    }

    #[tokio::test]
    async fn answers_are_read_with_their_bodies_chunked_or_not() {
        let plain =
            answering(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy").await;
        let answer = http_get(plain, "x", "/", &[], Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            answer,
            Answer {
                status: 503,
                body: "busy".into()
            }
        );
        let chunked = answering(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nready\r\n4\r\n now\r\n0\r\n\r\n",
        )
        .await;
        let answer = http_get(chunked, "x", "/", &[], Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(answer.body, "ready now");
        let garbage = answering(b"SSH-2.0-OpenSSH\r\n").await;
        assert!(http_get(garbage, "x", "/", &[], Duration::from_secs(5))
            .await
            .is_err());
    }
}
