//! A terminal for a plugin's command when the client has one (`ssh -t`): the program gets a
//! pseudo-terminal as stdin, stdout and stderr, and as its controlling terminal, so interactive
//! programs (psql, redis-cli, a shell) behave as they do on a terminal.

use std::os::fd::{FromRawFd, OwnedFd};

/// A new pseudo-terminal of 80 columns and 24 rows (a size of zero makes programs such as psql
/// page every answer): its master side (Berth's) and its slave side (the program's).
pub fn open() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two new descriptors into the integers given and reads the window
    // size given; the name and terminal settings may be null.
    let result = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and belong to nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) })
}

/// Makes `command`'s process lead a new session with its stdin (the slave side) as its
/// controlling terminal.
pub fn controlled_by_stdin(command: &mut tokio::process::Command) {
    // SAFETY: between fork and exec this calls only setsid and ioctl, which are
    // async-signal-safe, and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 || libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
