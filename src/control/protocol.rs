//! The control socket's wire format: length-prefixed frames, a JSON request first.
//!
//! Frame: one kind byte, a big-endian u32 length, then the payload. The client sends a `REQUEST`
//! frame, then `STDIN` frames and one `STDIN_EOF`; the daemon answers with `STDOUT`/`STDERR`
//! frames and one `EXIT` frame holding the exit status as a big-endian i32.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::git::RefUpdate;

pub const REQUEST: u8 = 0;
pub const STDIN: u8 = 1;
pub const STDIN_EOF: u8 = 2;
pub const STDOUT: u8 = 3;
pub const STDERR: u8 = 4;
pub const EXIT: u8 = 5;

const MAX_FRAME: u32 = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// A command line from the local CLI.
    Command { argv: Vec<String>, tty: bool },
    /// An exec request the host's sshd took for a Berth key (`berth ssh-command`): its
    /// `SSH_ORIGINAL_COMMAND` (none for a login without a command) and the client's address.
    SshCommand {
        key: String,
        command: Option<String>,
        source: String,
        tty: bool,
    },
    /// The pre-receive hook of a push in flight.
    Hook {
        push_id: String,
        updates: Vec<RefUpdate>,
        object_dirs: Vec<PathBuf>,
    },
}

pub async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    kind: u8,
    payload: &[u8],
) -> std::io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|len| *len <= MAX_FRAME)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame too large"))?;
    let mut head = [0u8; 5];
    head[0] = kind;
    head[1..].copy_from_slice(&len.to_be_bytes());
    writer.write_all(&head).await?;
    writer.write_all(payload).await?;
    writer.flush().await
}

/// The next frame, or `None` at a clean end of stream.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match reader.read_exact(&mut head).await {
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err),
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut payload = vec![0u8; len as usize];
    reader.read_exact(&mut payload).await?;
    Ok(Some((head[0], payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip() {
        let mut buf = Vec::new();
        let request = Request::Command {
            argv: vec!["config:set".into(), "K=a b".into()],
            tty: false,
        };
        let json = serde_json::to_vec(&request).unwrap();
        write_frame(&mut buf, REQUEST, &json).await.unwrap();
        write_frame(&mut buf, EXIT, &20i32.to_be_bytes())
            .await
            .unwrap();
        let mut reader = buf.as_slice();
        let (kind, payload) = read_frame(&mut reader).await.unwrap().unwrap();
        assert_eq!(kind, REQUEST);
        assert_eq!(
            serde_json::from_slice::<Request>(&payload).unwrap(),
            request
        );
        let (kind, payload) = read_frame(&mut reader).await.unwrap().unwrap();
        assert_eq!((kind, payload), (EXIT, 20i32.to_be_bytes().to_vec()));
        assert!(read_frame(&mut reader).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn oversized_frames_are_refused() {
        let mut head = vec![STDIN];
        head.extend_from_slice(&(MAX_FRAME + 1).to_be_bytes());
        let err = read_frame(&mut head.as_slice()).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }
}
