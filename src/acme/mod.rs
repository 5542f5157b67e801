//! Automatic certificates by ACME (RFC 8555, Let's Encrypt): orders validated by http-01
//! challenges the proxy answers itself (`proxy::Challenges`), and the renewal loop that
//! replaces certificates before they expire, without a restart.

mod client;
mod renew;

pub use client::Issuer;
pub use renew::{current, domains_of, obtain, renew_due, revoke, run_loop, RenewError, Settings};
