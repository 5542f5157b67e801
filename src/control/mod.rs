//! The control socket: a unix socket (mode 0600) through which the server's own CLI runs
//! commands and the git pre-receive hook reports pushes to the daemon.

pub mod client;
mod hook;
mod protocol;
mod server;

pub use protocol::Request;
pub use server::{bind, serve};
