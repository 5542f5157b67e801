//! Running one declared check against one instance, with its attempts, timeouts and waits.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::scheduler::Scheduler;
use crate::state::HealthCheck;

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

/// `GET path` with `Connection: close`, reading at most 1 MiB of the answer.
pub async fn http_get(
    address: SocketAddr,
    host: &str,
    path: &str,
    headers: &[(String, String)],
    limit: Duration,
) -> Result<Answer, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(address)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: berth-health\r\nConnection: close\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut raw = Vec::new();
        (&mut stream)
            .take(MAX_BODY as u64)
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("read: {e}"))?;
        parse_answer(&raw).ok_or_else(|| "not an HTTP response".to_string())
    };
    match timeout(limit, exchange).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {}s", limit.as_secs())),
    }
}

fn parse_answer(raw: &[u8]) -> Option<Answer> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status_line = head.lines().next()?;
    let mut parts = status_line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    Some(Answer {
        status: parts.next()?.parse().ok()?,
        body: body.to_string(),
    })
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
        match attempt_once(check, target, scheduler).await {
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

async fn attempt_once(
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

    #[test]
    fn answers_are_parsed() {
        let answer = parse_answer(b"HTTP/1.1 503 Service Unavailable\r\nA: b\r\n\r\nbusy").unwrap();
        assert_eq!(
            answer,
            Answer {
                status: 503,
                body: "busy".into()
            }
        );
        assert!(parse_answer(b"garbage").is_none());
    }
}
