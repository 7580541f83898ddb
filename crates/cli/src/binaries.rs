//! Where the installed server binaries are: PATH first, then the places Debian puts them
//! (`/usr/sbin` for nats-server, `/usr/lib/postgresql/<version>/bin` for initdb and pg_ctl,
//! which are not on PATH there).

use std::path::{Path, PathBuf};

/// `initdb` and `pg_ctl`, from the same installation when possible: PATH first, then Debian's
/// `/usr/lib/postgresql/<version>/bin`, newest version first.
pub(crate) fn postgres_binaries() -> Option<(PathBuf, PathBuf)> {
    let versioned = postgres_bin_dirs(Path::new("/usr/lib/postgresql"));
    let initdb = find_binary("initdb", &versioned)?;
    let sibling = initdb.with_file_name("pg_ctl");
    let pg_ctl = if is_executable(&sibling) {
        sibling
    } else {
        find_binary("pg_ctl", &versioned)?
    };
    Some((initdb, pg_ctl))
}

/// `<root>/<version>/bin` directories, the highest version first.
fn postgres_bin_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version = name
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
                .ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// The first executable `name` in PATH, then in `extra_dirs`.
pub(crate) fn find_binary(name: &str, extra_dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra_dirs.iter().cloned())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_bin_dirs_are_newest_first_and_skip_non_versions() {
        let root = std::env::temp_dir().join(format!("bourse-pgdirs-{}", std::process::id()));
        for dir in ["13", "15", "9.6", "common"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        let dirs = postgres_bin_dirs(&root);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            dirs,
            vec![
                root.join("15/bin"),
                root.join("13/bin"),
                root.join("9.6/bin")
            ]
        );
    }

    #[test]
    fn find_binary_looks_in_the_extra_directories() {
        let dir = std::env::temp_dir().join(format!("bourse-find-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("bourse-test-binary-that-is-nowhere-else");
        std::fs::write(&binary, "#!/bin/sh\n").unwrap();
        let found_before_chmod = find_binary(
            "bourse-test-binary-that-is-nowhere-else",
            std::slice::from_ref(&dir),
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = find_binary(
            "bourse-test-binary-that-is-nowhere-else",
            std::slice::from_ref(&dir),
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            found_before_chmod, None,
            "a file that is not executable is not a binary"
        );
        assert_eq!(found, Some(binary));
    }
}
