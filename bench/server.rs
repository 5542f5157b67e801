//! The benchmark's upstream: a tiny keep-alive HTTP/1.1 server with no dependencies, so the
//! proxies, not the app, are what the benchmark measures. A thread per connection; every
//! request gets the same 13-byte body, or an N KiB page of text for `/Nk` (`/64k`: a typical
//! page), words in a fixed pseudo-random order, which gzip shrinks about as much as real HTML.
//! Built by `bench/proxy.sh` with
//! `rustc -O -C target-feature=+crt-static` and run `FROM scratch`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

const WORDS: [&str; 32] = [
    "<p>", "</p>", "<div class=\"item\">", "</div>", "the", "shop", "order", "price", "cart",
    "berth", "deploy", "release", "customer", "<a href=\"/items/", "\">", "</a>", "and", "of",
    "to", "in", "for", "with", "new", "page", "<span>", "</span>", "12.50", "2026", "review",
    "stock", "ships", "today",
];

/// `/Nk`: a response with an N KiB body of text.
fn sized(request_line: &str) -> Option<Vec<u8>> {
    let path = request_line.strip_prefix("GET /")?.split(' ').next()?;
    let size = path.strip_suffix('k')?.parse::<usize>().ok()? * 1024;
    let mut body = Vec::with_capacity(size + 32);
    let mut state: u32 = 1;
    while body.len() < size {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        body.extend_from_slice(WORDS[(state >> 16) as usize % WORDS.len()].as_bytes());
        body.push(b' ');
    }
    body.truncate(size);
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {size}\r\n\r\n"
    )
    .into_bytes();
    response.extend_from_slice(&body);
    Some(response)
}

fn serve(stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        let mut close = false;
        let mut first = true;
        let mut sized_response = None;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if first {
                sized_response = sized(&line);
                first = false;
            }
            if line.eq_ignore_ascii_case("connection: close\r\n") {
                close = true;
            }
            if line == "\r\n" {
                break;
            }
        }
        writer.write_all(sized_response.as_deref().unwrap_or(RESPONSE))?;
        if close {
            return Ok(());
        }
    }
}

fn main() {
    let port = std::env::var("PORT").unwrap_or_else(|_| "5000".to_string());
    let listener = TcpListener::bind(("0.0.0.0", port.parse().expect("PORT is a number")))
        .expect("bind");
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || serve(stream));
    }
}
