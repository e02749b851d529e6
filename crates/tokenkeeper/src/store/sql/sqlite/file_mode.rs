//! The database file holds every member's access and refresh tokens: only the service's own
//! user may read it. SQLite creates its `-wal` and `-shm` files (and a rollback `-journal`)
//! with the main file's permissions, so the main file is created 0600 here, before SQLite
//! opens it, instead of SQLite's default 0644 less the umask.
//!
//! An existing file that others may read is tightened to owner-only, with a warning naming
//! it and its old mode. A warning alone would leave every token readable by any local user
//! until somebody reads the log; tightening is what a vault owes its members, and an
//! operator who really wants group access (a backup agent, say) sees in the log why it went
//! and can grant it another way (a copy made by the service's user, ACLs on a backup).

use std::io;
use std::path::{Path, PathBuf};

/// Files beside the database that SQLite may leave behind, holding the same data.
const COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Makes sure the database at `path` and its companions are readable by their owner only.
#[cfg(unix)]
pub(super) fn restrict_to_owner(path: &Path) -> io::Result<()> {
    use std::fs::OpenOptions;
    use std::os::unix::fs::OpenOptionsExt;
    // `create_new` never follows a symlink planted in our place, and a zero-length file is an
    // empty database to SQLite.
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            tighten(path);
            for suffix in COMPANIONS {
                tighten(&with_suffix(path, suffix));
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
pub(super) fn restrict_to_owner(_path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn tighten(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return;
    }
    let owner_only = mode & 0o700;
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(owner_only)) {
        Ok(()) => tracing::warn!(
            file = %path.display(),
            was = format!("{mode:o}"),
            now = format!("{owner_only:o}"),
            "the database file was readable by other users; it holds tokens, so it is now readable by its owner only"
        ),
        Err(e) => tracing::warn!(
            file = %path.display(),
            mode = format!("{mode:o}"),
            error = %e,
            "the database file is readable by other users and cannot be restricted; it holds tokens: restrict it to the service's user"
        ),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
