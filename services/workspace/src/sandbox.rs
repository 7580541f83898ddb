//! A project's files, reached only through the project's directory handle (cap-std): every
//! path is resolved by the kernel relative to that handle, one component at a time, and a
//! path that would leave it — `..`, an absolute path, a symlink pointing outside, however deep
//! — fails with an escape error instead of being followed. The string rules of
//! [`RelPath`] refuse the obvious cases earlier with a clearer message; this is what makes them
//! safe.
//!
//! Blocking: call from `spawn_blocking`.

use std::{
    io::{self, Read, Seek, SeekFrom, Write},
    path::Path,
};

use bus::{ErrorCode, ServiceError};
use cap_std::{
    ambient_authority,
    fs::{Dir, Metadata, MetadataExt, OpenOptions},
};
use chrono::{DateTime, Utc};
use contracts::workspace::{EntryKind, FileMeta, MAX_INLINE_TEXT, MAX_TRANSFER, RelPath};
use sha2::{Digest, Sha256};

/// Names the service writes before renaming them into place: never listed, never events.
pub const TEMP_PREFIX: &str = ".bourse-tmp-";

/// Whether a file name is the service's own temporary file, or `.git`.
pub fn hidden(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) || name.eq_ignore_ascii_case(".git")
}

/// A project's directory, opened.
#[derive(Debug)]
pub struct ProjectDir {
    dir: Dir,
}

/// One directory entry as the disk has it.
#[derive(Debug, Clone)]
pub struct RawEntry {
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
    pub modified: DateTime<Utc>,
}

impl ProjectDir {
    /// Opens the project at `path` (a directory the service made; trusted).
    /// A symlink put in the project's place (from a terminal) is refused, not followed: the
    /// directory is checked not to be a link, opened, and checked to be the one seen.
    pub fn open(path: &Path) -> Result<Self, ServiceError> {
        let gone = || {
            ServiceError::not_found(
                "the project's directory is gone; delete the project or create it again",
            )
        };
        let seen = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(gone()),
            Err(err) => return Err(internal("open the project directory", &err)),
        };
        if !seen.is_dir() {
            return Err(not_a_directory());
        }
        let dir =
            Dir::open_ambient_dir(path, ambient_authority()).map_err(|err| match err.kind() {
                io::ErrorKind::NotFound => gone(),
                _ => internal("open the project directory", &err),
            })?;
        let opened = dir
            .dir_metadata()
            .map_err(|err| internal("open the project directory", &err))?;
        use std::os::unix::fs::MetadataExt as _;
        if (opened.dev(), opened.ino()) != (seen.dev(), seen.ino()) {
            return Err(not_a_directory());
        }
        Ok(Self { dir })
    }

    /// The entries of a directory (`None`: the project's own), `.git` and temporary files left
    /// out, directories first, then by name.
    pub fn list(&self, path: Option<&RelPath>) -> Result<Vec<RawEntry>, ServiceError> {
        let entries = match path {
            None => self.dir.entries(),
            Some(path) => self.dir.read_dir(path.as_str()),
        }
        .map_err(|err| fs_error(path, &err))?;
        let mut listed = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|err| fs_error(path, &err))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if hidden(&name) {
                continue;
            }
            // An entry removed while the directory is read is simply not listed.
            let Ok(meta) = entry.metadata() else { continue };
            listed.push(RawEntry {
                name,
                kind: kind_of(&meta),
                size: if meta.is_dir() { 0 } else { meta.len() },
                modified: modified(&meta),
            });
        }
        listed.sort_by(|a, b| {
            (a.kind != EntryKind::Directory, &a.name)
                .cmp(&(b.kind != EntryKind::Directory, &b.name))
        });
        Ok(listed)
    }

    /// What is at `path`, not following a final symlink; `None` when nothing is.
    pub fn entry(&self, path: &RelPath) -> Result<Option<Metadata>, ServiceError> {
        match self.dir.symlink_metadata(path.as_str()) {
            Ok(meta) => Ok(Some(meta)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(fs_error(Some(path), &err)),
        }
    }

    /// Opens a regular file to read. Anything else (a FIFO, a device, a socket, which could
    /// block a thread for good on open or read) is refused before it is opened.
    fn open_file(&self, path: &RelPath) -> Result<cap_std::fs::File, ServiceError> {
        let meta = self
            .dir
            .metadata(path.as_str())
            .map_err(|err| fs_error(Some(path), &err))?;
        if meta.is_dir() {
            return Err(ServiceError::validation(format!("{path} is a directory")));
        }
        if !meta.is_file() {
            return Err(ServiceError::validation(format!(
                "{path} is not a regular file (a pipe, socket or device) and is not read"
            )));
        }
        self.dir
            .open(path.as_str())
            .map_err(|err| fs_error(Some(path), &err))
    }

    /// A whole file (at most [`MAX_TRANSFER`] bytes) with its metadata.
    pub fn read(&self, path: &RelPath) -> Result<(FileMeta, Vec<u8>), ServiceError> {
        let mut file = self.open_file(path)?;
        let meta = file.metadata().map_err(|err| fs_error(Some(path), &err))?;
        if meta.is_dir() {
            return Err(ServiceError::validation(format!("{path} is a directory")));
        }
        if meta.len() > MAX_TRANSFER {
            return Err(ServiceError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "{path} has {} bytes; files of more than {MAX_TRANSFER} bytes are read in a terminal",
                    meta.len()
                ),
            ));
        }
        let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        // No more than it had when it was measured, should it be growing.
        (&mut file)
            .take(meta.len())
            .read_to_end(&mut data)
            .map_err(|err| fs_error(Some(path), &err))?;
        Ok((describe(path, &meta, &data), data))
    }

    /// Up to `max` bytes of a file from `offset`, while it is still `version`.
    pub fn read_at(
        &self,
        path: &RelPath,
        offset: u64,
        max: usize,
        expected: &str,
    ) -> Result<Vec<u8>, ServiceError> {
        let mut file = self.open_file(path)?;
        let meta = file.metadata().map_err(|err| fs_error(Some(path), &err))?;
        if version(&meta) != expected {
            return Err(ServiceError::conflict(format!(
                "{path} changed while it was being read; read it again"
            )));
        }
        if offset > meta.len() {
            return Err(ServiceError::validation(format!(
                "offset {offset} is past the end of {path} ({} bytes)",
                meta.len()
            )));
        }
        file.seek(SeekFrom::Start(offset))
            .map_err(|err| fs_error(Some(path), &err))?;
        let mut data = Vec::with_capacity(max);
        file.take(max as u64)
            .read_to_end(&mut data)
            .map_err(|err| fs_error(Some(path), &err))?;
        Ok(data)
    }

    /// What changes when a directory gains or loses an entry: its modification time and inode.
    pub fn dir_stamp(&self, path: Option<&RelPath>) -> Result<String, ServiceError> {
        match path {
            None => self.dir.dir_metadata(),
            Some(path) => self.dir.metadata(path.as_str()),
        }
        .map(|meta| version(&meta))
        .map_err(|err| fs_error(path, &err))
    }

    /// Whether `path` is a directory, following symlinks inside the project.
    pub fn is_dir(&self, path: &RelPath) -> Result<bool, ServiceError> {
        self.dir
            .metadata(path.as_str())
            .map(|meta| meta.is_dir())
            .map_err(|err| fs_error(Some(path), &err))
    }

    /// Checks what a write may replace: with `create`, nothing may be there; with `if_match`,
    /// a file whose etag is that. Answers the size of the file replaced (`None`: a new file).
    pub fn check_replace(
        &self,
        path: &RelPath,
        if_match: Option<&str>,
        create: bool,
    ) -> Result<Option<u64>, ServiceError> {
        let existing = self.entry(path)?;
        match (&existing, create) {
            (Some(_), true) => {
                return Err(ServiceError::conflict(format!("{path} already exists")));
            }
            (Some(meta), false) if meta.is_dir() => {
                return Err(ServiceError::conflict(format!("{path} is a directory")));
            }
            _ => {}
        }
        if let Some(condition) = if_match {
            let Some(_) = existing else {
                return Err(precondition(path, "does not exist"));
            };
            let (meta, _) = self.read(path)?;
            if !admits(condition, &meta.etag) {
                return Err(precondition(path, "changed since you read it"));
            }
        }
        Ok(existing.map(|meta| meta.len()))
    }

    /// Writes `data` to `path` atomically: a temporary file in the same directory, renamed
    /// over the old one. Missing parent directories are created.
    pub fn write(&self, path: &RelPath, data: &[u8]) -> Result<FileMeta, ServiceError> {
        let parent = self.parent_dir(path)?;
        let temp = format!("{TEMP_PREFIX}{}", uuid::Uuid::now_v7().simple());
        let written = (|| {
            let mut file =
                parent.open_with(&temp, OpenOptions::new().write(true).create_new(true))?;
            file.write_all(data)?;
            // A script stays executable: the new file gets the permissions of the one it replaces.
            if let Ok(old) = parent.symlink_metadata(path.file_name())
                && old.is_file()
            {
                file.set_permissions(old.permissions())?;
            }
            parent.rename(&temp, &parent, path.file_name())
        })();
        if let Err(err) = written {
            let _ = parent.remove_file(&temp);
            return Err(fs_error(Some(path), &err));
        }
        // The content is in hand: only the metadata is read back, not the file.
        let meta = parent
            .metadata(path.file_name())
            .map_err(|err| fs_error(Some(path), &err))?;
        Ok(describe(path, &meta, data))
    }

    /// Moves `staged` (a file in `staging`, outside the project) to `path` atomically.
    pub fn put(
        &self,
        staging: &Dir,
        staged: &str,
        path: &RelPath,
    ) -> Result<FileMeta, ServiceError> {
        let parent = self.parent_dir(path)?;
        staging
            .rename(staged, &parent, path.file_name())
            .map_err(|err| fs_error(Some(path), &err))?;
        self.meta(path)
    }

    /// `path`'s metadata and etag (reading the file).
    pub fn meta(&self, path: &RelPath) -> Result<FileMeta, ServiceError> {
        self.read(path).map(|(meta, _)| meta)
    }

    /// A directory and its missing parents; `conflict` when something is there already.
    pub fn mkdir(&self, path: &RelPath) -> Result<RawEntry, ServiceError> {
        if self.entry(path)?.is_some() {
            return Err(ServiceError::conflict(format!("{path} already exists")));
        }
        self.dir
            .create_dir_all(path.as_str())
            .map_err(|err| fs_error(Some(path), &err))?;
        let meta = self
            .dir
            .symlink_metadata(path.as_str())
            .map_err(|err| fs_error(Some(path), &err))?;
        Ok(RawEntry {
            name: path.file_name().to_owned(),
            kind: EntryKind::Directory,
            size: 0,
            modified: modified(&meta),
        })
    }

    /// Removes a file or symlink, or a directory (with its contents only when `recursive`).
    pub fn delete(&self, path: &RelPath, recursive: bool) -> Result<(), ServiceError> {
        let Some(meta) = self.entry(path)? else {
            return Err(not_found(path));
        };
        let removed = if !meta.is_dir() {
            self.dir.remove_file(path.as_str())
        } else if recursive {
            self.dir.remove_dir_all(path.as_str())
        } else {
            self.dir.remove_dir(path.as_str())
        };
        removed.map_err(|err| match err.kind() {
            io::ErrorKind::DirectoryNotEmpty => ServiceError::conflict(format!(
                "{path} is a directory that is not empty; delete it with recursive"
            )),
            _ => fs_error(Some(path), &err),
        })
    }

    /// Renames `from` to `to` inside the project.
    pub fn rename(
        &self,
        from: &RelPath,
        to: &RelPath,
        overwrite: bool,
    ) -> Result<(), ServiceError> {
        let Some(source) = self.entry(from)? else {
            return Err(not_found(from));
        };
        if to.as_str().starts_with(&format!("{from}/")) {
            return Err(ServiceError::validation(format!(
                "{from} cannot move into itself"
            )));
        }
        if let Some(target) = self.entry(to)? {
            if !overwrite {
                return Err(ServiceError::conflict(format!("{to} already exists")));
            }
            if target.is_dir() || source.is_dir() {
                return Err(ServiceError::conflict(format!(
                    "{to} exists and only a file may replace a file"
                )));
            }
        }
        let (from_dir, to_dir) = (self.parent_of(from)?, self.parent_dir(to)?);
        from_dir
            .rename(from.file_name(), &to_dir, to.file_name())
            .map_err(|err| fs_error(Some(from), &err))
    }

    /// The directory holding `path`, created when missing.
    fn parent_dir(&self, path: &RelPath) -> Result<Dir, ServiceError> {
        match path.parent() {
            None => self.dir.try_clone(),
            Some(parent) => {
                // Followed (inside the project only): a symlink to a directory of the project
                // is a directory; one leading out is refused here.
                match self.dir.metadata(parent.as_str()) {
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => {
                        return Err(ServiceError::conflict(format!(
                            "{parent} is a file, not a directory"
                        )));
                    }
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => return Err(fs_error(Some(&parent), &err)),
                }
                self.dir
                    .create_dir_all(parent.as_str())
                    .and_then(|()| self.dir.open_dir(parent.as_str()))
            }
        }
        .map_err(|err| fs_error(Some(path), &err))
    }

    /// The existing directory holding `path`.
    fn parent_of(&self, path: &RelPath) -> Result<Dir, ServiceError> {
        match path.parent() {
            None => self.dir.try_clone(),
            Some(parent) => self.dir.open_dir(parent.as_str()),
        }
        .map_err(|err| fs_error(Some(path), &err))
    }
}

/// A file's metadata for the API, `data` being its whole content.
fn describe(path: &RelPath, meta: &Metadata, data: &[u8]) -> FileMeta {
    let text =
        meta.len() <= MAX_INLINE_TEXT && !data.contains(&0) && std::str::from_utf8(data).is_ok();
    FileMeta {
        path: path.clone(),
        size: meta.len(),
        modified: modified(meta),
        etag: etag(data),
        version: version(meta),
        text,
    }
}

/// Whether an `If-Match` condition admits a file whose etag is `etag` (RFC 9110 13.1.1): `*`
/// admits any file; otherwise one of its comma-separated tags must equal it, quoted or not,
/// compared strongly (a weak `W/` tag never matches).
pub fn admits(condition: &str, etag: &str) -> bool {
    condition
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || (!tag.starts_with("W/") && tag.trim_matches('"') == etag))
}

/// A hash of the content: equal contents, equal etags, wherever they were written.
pub fn etag(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// What tells two versions of the bytes on disk apart between two reads without reading
/// them: size, modification time and inode (an atomic write makes a new inode).
pub fn version(meta: &Metadata) -> String {
    format!(
        "{}-{}.{:09}-{}",
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ino()
    )
}

pub fn kind_of(meta: &Metadata) -> EntryKind {
    if meta.file_type().is_symlink() {
        EntryKind::Symlink
    } else if meta.is_dir() {
        EntryKind::Directory
    } else {
        EntryKind::File
    }
}

pub fn modified(meta: &Metadata) -> DateTime<Utc> {
    let nanos = u32::try_from(meta.mtime_nsec()).unwrap_or(0);
    DateTime::from_timestamp(meta.mtime(), nanos).unwrap_or_default()
}

fn not_a_directory() -> ServiceError {
    ServiceError::validation(
        "the project's directory was replaced by something that is not a directory (a symlink?); \
         the service will not follow it",
    )
}

fn not_found(path: &RelPath) -> ServiceError {
    ServiceError::not_found(format!("no file or directory {path} in the project"))
}

fn precondition(path: &RelPath, why: &str) -> ServiceError {
    ServiceError::new(
        ErrorCode::PreconditionFailed,
        format!("{path} {why}: read it again, then write"),
    )
}

/// What an IO error at `path` means to the caller; details of unexpected ones are logged.
pub fn fs_error(path: Option<&RelPath>, err: &io::Error) -> ServiceError {
    let shown = path.map_or_else(|| "the project".to_owned(), ToString::to_string);
    match err.kind() {
        io::ErrorKind::NotFound => {
            ServiceError::not_found(format!("no file or directory {shown} in the project"))
        }
        // cap-std's answer to a path (or a symlink on it) that leads out of the project.
        io::ErrorKind::PermissionDenied => ServiceError::validation(format!(
            "{shown} leads outside the project (a symlink or '..'), or may not be read"
        )),
        io::ErrorKind::AlreadyExists => ServiceError::conflict(format!("{shown} already exists")),
        io::ErrorKind::NotADirectory => {
            ServiceError::validation(format!("a part of {shown} is a file, not a directory"))
        }
        io::ErrorKind::IsADirectory => ServiceError::validation(format!("{shown} is a directory")),
        io::ErrorKind::InvalidFilename => {
            ServiceError::validation(format!("{shown} is not a valid file name"))
        }
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => ServiceError::new(
            ErrorCode::QuotaExceeded,
            "the disk is full; delete files and try again",
        ),
        // ELOOP: a symlink loop, or cap-std refusing to follow a link out.
        _ if err.raw_os_error() == Some(40) => ServiceError::validation(format!(
            "{shown} leads outside the project through a symlink"
        )),
        _ => internal(&format!("access {shown}"), err),
    }
}

fn internal(what: &str, err: &io::Error) -> ServiceError {
    ServiceError::internal(format!("cannot {what}: {err}"))
}
