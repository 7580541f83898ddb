//! Where a session may start: inside its owner's workspace directory, `<root>/<user id>`.
//!
//! The directory a client names is resolved by the filesystem (`canonicalize`, which follows
//! every symlink) and must land inside the owner's directory, also resolved; the name itself
//! may not be absolute nor hold `..`, so nothing depends on string checks alone.

use std::path::{Component, Path, PathBuf};

use bus::ServiceError;
use uuid::Uuid;

/// The owner's workspace directory, created when missing (owner-only permissions), resolved.
pub fn user_dir(root: &Path, user: Uuid) -> Result<PathBuf, ServiceError> {
    let dir = root.join(user.to_string());
    if !dir.is_dir() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|err| {
                ServiceError::internal(format!("cannot create a workspace directory: {err}"))
            })?;
    }
    dir.canonicalize()
        .map_err(|err| ServiceError::internal(format!("cannot open a workspace directory: {err}")))
}

/// `cwd` (relative to `home`, the resolved workspace directory) resolved, and as shown to the
/// owner (relative, `.` for `home` itself).
pub fn resolve_cwd(home: &Path, cwd: Option<&str>) -> Result<(PathBuf, String), ServiceError> {
    let Some(raw) = cwd
        .map(str::trim)
        .filter(|raw| !raw.is_empty() && *raw != ".")
    else {
        return Ok((home.to_owned(), ".".into()));
    };
    let refuse = |why: &str| {
        ServiceError::validation(format!(
            "cwd {:?} {why}",
            raw.chars().take(100).collect::<String>()
        ))
    };
    if raw.contains('\0') {
        return Err(refuse("contains a NUL byte"));
    }
    let path = Path::new(raw);
    for component in path.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(refuse("must not contain `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(
                    "must be relative to your workspace directory, not absolute",
                ));
            }
        }
    }
    let resolved = home
        .join(path)
        .canonicalize()
        .map_err(|_| refuse("is not a directory in your workspace"))?;
    if !resolved.starts_with(home) {
        return Err(refuse("leads out of your workspace directory"));
    }
    if !resolved.is_dir() {
        return Err(refuse("is not a directory"));
    }
    let shown = match resolved.strip_prefix(home) {
        Ok(rest) if rest.as_os_str().is_empty() => ".".to_owned(),
        Ok(rest) => rest.to_string_lossy().into_owned(),
        Err(_) => ".".to_owned(),
    };
    Ok((resolved, shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cwd_cannot_leave_the_workspace() {
        let root = std::env::temp_dir().join(format!("bourse-cwd-{}", Uuid::now_v7()));
        let user = Uuid::now_v7();
        let home = user_dir(&root, user).unwrap();
        std::fs::create_dir_all(home.join("strategies/momentum")).unwrap();
        std::os::unix::fs::symlink("/etc", home.join("etc")).unwrap();
        std::fs::write(home.join("notes.txt"), "x").unwrap();

        assert_eq!(resolve_cwd(&home, None).unwrap().1, ".");
        let (path, shown) = resolve_cwd(&home, Some("strategies/./momentum")).unwrap();
        assert_eq!(shown, "strategies/momentum");
        assert!(path.ends_with("strategies/momentum"));
        for bad in [
            "../..",
            "..",
            "strategies/../..",
            "/etc",
            "etc",
            "notes.txt",
            "nope",
            "a\0b",
        ] {
            let err = resolve_cwd(&home, Some(bad)).unwrap_err();
            assert_eq!(err.code, bus::ErrorCode::ValidationFailed, "{bad:?}");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
}
