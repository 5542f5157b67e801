//! Keeping the host sshd's `authorized_keys` (`[ssh] authorized_keys_file`) in step with the
//! keys, after every change to them.

use super::CommandError;
use crate::context::Ctx;

pub fn sync(ctx: &Ctx) -> Result<(), CommandError> {
    crate::ssh::sync_authorized_keys(ctx).map_err(|err| {
        CommandError::Internal(format!(
            "the keys changed, but the authorized_keys file could not be rewritten: {err}"
        ))
    })
}
