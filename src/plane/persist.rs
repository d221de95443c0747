//! Writing the config file after a config PUT: owner-only (0600, the file holds the
//! admin token), atomically (temp file, fsync, rename), previous text kept as
//! `<name>.bak`, which is owner-only too.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Mode of the persisted config and its backup: read and write for the owner only.
pub const PRIVATE_MODE: u32 = 0o600;

/// Replace `config_path` with `text`; the previous content, if any, becomes
/// `<name>.bak` first.
pub fn persist(config_path: &Path, text: &str) -> io::Result<()> {
    let dir = config_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = config_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.toml".into());
    match fs::read(config_path) {
        Ok(old) => replace_private(
            &dir.join(format!("{name}.bak")),
            &dir.join(format!(".{name}.bak.tmp")),
            &old,
        )?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    replace_private(
        config_path,
        &dir.join(format!(".{name}.tmp")),
        text.as_bytes(),
    )?;
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Write `bytes` to a fresh owner-only `tmp` (never a leftover one, whose mode could
/// be wider), fsync it and rename it over `dest`.
fn replace_private(dest: &Path, tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    match fs::remove_file(tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_MODE)
        .open(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(tmp, dest)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn config_and_backup_are_owner_only() {
        let dir = std::env::temp_dir().join(format!("sluice-persist-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("config.toml");
        fs::write(&path, "old = 1\n").expect("seed");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        // A leftover world-readable temp file must not be reused.
        fs::write(dir.join(".config.toml.tmp"), "junk").expect("junk");
        persist(&path, "new = 2\n").expect("persist");
        let mode = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(fs::read_to_string(&path).expect("read"), "new = 2\n");
        assert_eq!(mode(&path), 0o600);
        let bak = dir.join("config.toml.bak");
        assert_eq!(fs::read_to_string(&bak).expect("read bak"), "old = 1\n");
        assert_eq!(mode(&bak), 0o600);
        let _ = fs::remove_dir_all(&dir);
    }
}
