//! Continuous load through the proxy: N keep-alive HTTP/1.1 clients, every response recorded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One request's fate: when it was sent, and the body or the error.
#[derive(Debug, Clone)]
pub struct Sample {
    pub sent: Instant,
    pub outcome: Result<String, String>,
}

pub struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    workers: Vec<JoinHandle<()>>,
}

impl Load {
    /// Starts `clients` threads, each on its own keep-alive connection (reconnecting only when
    /// the proxy closes it), sending `GET /` with `Host: host` until stopped. A client never
    /// sends a request again, as a load balancer in front of Berth may not: a request lost to
    /// a connection the proxy closed is an error.
    pub fn start(proxy: SocketAddr, host: &str, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let workers = (0..clients)
            .map(|_| {
                let stop = stop.clone();
                let samples = samples.clone();
                let host = host.to_string();
                std::thread::spawn(move || client(proxy, &host, &stop, &samples))
            })
            .collect();
        Load {
            stop,
            samples,
            workers,
        }
    }

    /// How many requests have completed so far.
    pub fn count(&self) -> usize {
        self.samples.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Waits until at least `more` further requests have completed (bounded).
    pub fn wait_for_more(&self, more: usize) {
        let target = self.count() + more;
        assert!(
            super::eventually(Duration::from_secs(60), || self.count() >= target),
            "the load stalled at {} requests",
            self.count()
        );
    }

    /// Stops, and fails the test if any request failed.
    #[track_caller]
    pub fn stop_without_failures(self) -> Vec<Sample> {
        let samples = self.stop();
        let failures: Vec<_> = samples.iter().filter(|s| s.outcome.is_err()).collect();
        assert!(
            failures.is_empty(),
            "{} of {} failed, e.g. {:?}",
            failures.len(),
            samples.len(),
            failures.first()
        );
        samples
    }

    pub fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        for worker in self.workers {
            let _ = worker.join();
        }
        let samples = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        samples
    }
}

fn client(proxy: SocketAddr, host: &str, stop: &AtomicBool, samples: &Mutex<Vec<Sample>>) {
    let mut connection: Option<BufReader<TcpStream>> = None;
    while !stop.load(Ordering::SeqCst) {
        let sent = Instant::now();
        let outcome = exchange(&mut connection, proxy, host);
        if outcome.is_err() {
            connection = None;
        }
        if let Ok(mut samples) = samples.lock() {
            samples.push(Sample { sent, outcome });
        }
    }
}

fn exchange(
    connection: &mut Option<BufReader<TcpStream>>,
    proxy: SocketAddr,
    host: &str,
) -> Result<String, String> {
    if connection.is_none() {
        let stream = TcpStream::connect(proxy).map_err(|e| format!("connect: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
        *connection = Some(BufReader::new(stream));
    }
    let reader = connection
        .as_mut()
        .ok_or_else(|| "no connection".to_string())?;
    write!(
        reader.get_mut(),
        "GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: berth-load\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut status_line = String::new();
    reader
        .read_line(&mut status_line)
        .map_err(|e| format!("read: {e}"))?;
    if status_line.is_empty() {
        return Err("connection closed before a response".into());
    }
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut length = None;
    let mut close = false;
    loop {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|e| format!("read: {e}"))?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse::<usize>().ok(),
                "connection" => close = value.trim().eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
    let length = length.ok_or_else(|| "response without content-length".to_string())?;
    let mut body = vec![0u8; length];
    reader
        .read_exact(&mut body)
        .map_err(|e| format!("read body: {e}"))?;
    let body = String::from_utf8_lossy(&body).into_owned();
    if close {
        *connection = None;
    }
    if status != 200 {
        return Err(format!("HTTP {status}: {body}"));
    }
    Ok(body)
}
