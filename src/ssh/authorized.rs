//! The host sshd's `authorized_keys` for Berth (`[ssh] authorized_keys_file`): one line per key,
//! forcing `berth ssh-command --key NAME` with `restrict`, so OpenSSH on port 22 runs the same
//! commands and pushes, with the same rights, as the embedded server. Rewritten whole, atomically,
//! whenever the keys change and at start.

use std::path::Path;

use crate::context::Ctx;
use crate::state::SshKey;

/// Rewrites the file, if one is configured.
pub fn sync(ctx: &Ctx) -> std::io::Result<()> {
    let Some(file) = &ctx.config.ssh.authorized_keys_file else {
        return Ok(());
    };
    let berth = ctx.store.layout().bin_dir().join("berth");
    let text = render(&ctx.store.keys(), &berth, &ctx.config.control_socket());
    crate::state::write_atomic(file, text.as_bytes(), 0o600)
}

/// `command="…",restrict <key> berth:<name>` per key.
pub fn render(keys: &[SshKey], berth: &Path, socket: &Path) -> String {
    let mut text = String::from(
        "# Written by Berth (ssh-keys:add, ssh-keys:remove, ssh-keys:set-role): edits are lost.\n",
    );
    for key in keys {
        let command = format!(
            "{} ssh-command --socket {} --key {}",
            quoted(berth),
            quoted(socket),
            key.name
        );
        let command = command.replace('\\', "\\\\").replace('"', "\\\"");
        text.push_str(&format!(
            "command=\"{command}\",restrict {} berth:{}\n",
            key.public_key, key.name
        ));
    }
    text
}

/// A path as one word of the shell sshd runs the forced command with.
fn quoted(path: &Path) -> String {
    shell_words::quote(&path.to_string_lossy()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::KeyName;
    use crate::state::Role;

    #[test]
    fn one_forced_command_per_key() {
        let key = SshKey {
            name: KeyName::parse("alice").unwrap(),
            public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA".into(),
            fingerprint: "SHA256:abc".into(),
            added_at: 0,
            role: Role::Developer,
        };
        let text = render(
            &[key],
            Path::new("/var/lib/berth/bin/berth"),
            Path::new("/var/lib/my berth/berth.sock"),
        );
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "command=\"/var/lib/berth/bin/berth ssh-command --socket '/var/lib/my berth/berth.sock' --key alice\",restrict ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA berth:alice"
        );
    }
}
