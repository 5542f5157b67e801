//! The proxy's end-to-end test app: a dependency-free HTTP/1.1 server on $PORT, built by the
//! test with `rustc -C target-feature=+crt-static` and run `FROM scratch`.
//!
//! - `GET /headers`: the request's headers, one `name: value` line each.
//! - `POST /upload`: reads the body (Content-Length or chunked) and says how many bytes came.
//! - `GET /events`: a server-sent event stream; the first event at once, the next a minute later.
//! - `GET /ws` with `Upgrade: websocket`: a WebSocket echo, frame by frame.
//! - `GET /slow/N`: `slow`, after N seconds.
//! - anything else: `protocol app`.

mod sha1;

use std::io::{BufRead, BufReader, Read, Result, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

struct Head {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_line(reader: &mut BufReader<TcpStream>) -> Result<Option<String>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

fn read_head(reader: &mut BufReader<TcpStream>) -> Result<Option<Head>> {
    let Some(request_line) = read_line(reader)? else {
        return Ok(None);
    };
    let mut words = request_line.split(' ');
    let method = words.next().unwrap_or("").to_string();
    let path = words.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    while let Some(line) = read_line(reader)? {
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    Ok(Some(Head {
        method,
        path,
        headers,
    }))
}

/// Reads and counts the request body.
fn read_body(reader: &mut BufReader<TcpStream>, head: &Head) -> Result<usize> {
    let mut sink = vec![0u8; 64 * 1024];
    let mut take = |reader: &mut BufReader<TcpStream>, mut left: usize| -> Result<usize> {
        let total = left;
        while left > 0 {
            let n = reader.read(&mut sink[..left.min(64 * 1024)])?;
            if n == 0 {
                break;
            }
            left -= n;
        }
        Ok(total - left)
    };
    if head
        .header("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        let mut total = 0;
        loop {
            let size = read_line(reader)?.unwrap_or_default();
            let size = usize::from_str_radix(size.split(';').next().unwrap_or("0").trim(), 16)
                .unwrap_or(0);
            if size == 0 {
                while read_line(reader)?.is_some_and(|l| !l.is_empty()) {}
                return Ok(total);
            }
            total += take(reader, size)?;
            read_line(reader)?;
        }
    }
    let length = head
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    take(reader, length)
}

fn respond(writer: &mut TcpStream, body: &str) -> Result<()> {
    write!(
        writer,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn events(writer: &mut TcpStream) -> Result<()> {
    writer.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
    )?;
    for event in ["data: first\n\n", "data: second\n\n"] {
        write!(writer, "{:x}\r\n{event}\r\n", event.len())?;
        writer.flush()?;
        std::thread::sleep(Duration::from_secs(60));
    }
    writer.write_all(b"0\r\n\r\n")
}

/// Echoes WebSocket frames until the client closes.
fn websocket(reader: &mut BufReader<TcpStream>, writer: &mut TcpStream, key: &str) -> Result<()> {
    let accept = sha1::base64(&sha1::digest(
        format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
    ));
    write!(
        writer,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )?;
    loop {
        let mut start = [0u8; 2];
        reader.read_exact(&mut start)?;
        let opcode = start[0] & 0x0f;
        let mut length = u64::from(start[1] & 0x7f);
        if length == 126 {
            let mut ext = [0u8; 2];
            reader.read_exact(&mut ext)?;
            length = u64::from(u16::from_be_bytes(ext));
        } else if length == 127 {
            let mut ext = [0u8; 8];
            reader.read_exact(&mut ext)?;
            length = u64::from_be_bytes(ext);
        }
        let mut mask = [0u8; 4];
        if start[1] & 0x80 != 0 {
            reader.read_exact(&mut mask)?;
        }
        let mut payload = vec![0u8; length as usize];
        reader.read_exact(&mut payload)?;
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
        let mut frame = vec![0x80 | opcode];
        if payload.len() < 126 {
            frame.push(payload.len() as u8);
        } else {
            frame.push(126);
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        frame.extend_from_slice(&payload);
        writer.write_all(&frame)?;
        if opcode == 8 {
            return Ok(());
        }
    }
}

fn serve(stream: TcpStream) -> Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut answered = 0;
    while let Some(head) = read_head(&mut reader)? {
        answered += 1;
        match (head.method.as_str(), head.path.as_str()) {
            // An app whose keep-alive timeout ran out just as the request came: it closes the
            // connection without reading it (here: any request after the first).
            (_, "/drop-reused") if answered > 1 => return Ok(()),
            ("GET", "/headers") => {
                let lines: String = head
                    .headers
                    .iter()
                    .map(|(n, v)| format!("{n}: {v}\n"))
                    .collect();
                respond(&mut writer, &lines)?;
            }
            ("POST", "/upload") => {
                let received = read_body(&mut reader, &head)?;
                respond(&mut writer, &format!("received {received} bytes\n"))?;
            }
            ("GET", "/events") => return events(&mut writer),
            ("GET", path) if path.starts_with("/slow/") => {
                let secs = path["/slow/".len()..].parse().unwrap_or(1);
                std::thread::sleep(Duration::from_secs(secs));
                respond(&mut writer, "slow\n")?;
            }
            ("GET", path) if path.starts_with("/bytes/") => {
                let length: usize = path["/bytes/".len()..].parse().unwrap_or(0);
                write!(
                    writer,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                     Content-Length: {length}\r\n\r\n"
                )?;
                let chunk = [b'x'; 65536];
                let mut left = length;
                while left > 0 {
                    let n = left.min(chunk.len());
                    writer.write_all(&chunk[..n])?;
                    left -= n;
                }
            }
            ("GET", path) if path.starts_with("/text/") => {
                let length: usize = path["/text/".len()..].parse().unwrap_or(0);
                let text: String = "berth ".chars().cycle().take(length).collect();
                respond(&mut writer, &text)?;
            }
            ("GET", "/ws") => {
                let key = head.header("sec-websocket-key").unwrap_or("").to_string();
                return websocket(&mut reader, &mut writer, &key);
            }
            _ => {
                read_body(&mut reader, &head)?;
                respond(&mut writer, "protocol app\n")?;
            }
        }
    }
    Ok(())
}

fn main() {
    let port = std::env::var("PORT").unwrap_or_else(|_| "5000".to_string());
    let listener =
        TcpListener::bind(("0.0.0.0", port.parse().expect("PORT is a number"))).expect("bind");
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || serve(stream));
    }
}
