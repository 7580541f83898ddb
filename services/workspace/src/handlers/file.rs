//! `workspace.v1.file.*`: a project's files through its directory handle ([`ProjectDir`]).
//! Writes are atomic (a temporary file renamed into place) and checked against the quota first;
//! a conditional write holds the project's lock between its check and its rename. Events are
//! not published here: the watcher sees these writes like any other.

use std::os::unix::fs::FileExt;

use bus::{ErrorCode, RequestContext, ServiceError};
use cap_std::{ambient_authority, fs::Dir};
use contracts::workspace::{
    Bytes64, CHUNK, CommitUpload, DeleteFile, DeletedFile, DirEntry, FileChunk, FileMeta, FileView,
    GetFile, MAX_LIST, MAX_TRANSFER, MakeDirectory, MoveFile, MovedFile, ReadFile, RelPath,
    UploadChunk, UploadProgress, WriteFile,
};

use super::{Handlers, Located, blocking, locate, locked};
use crate::{app::AppState, git, sandbox::ProjectDir};

pub async fn get(
    h: &Handlers,
    ctx: RequestContext,
    req: GetFile,
) -> Result<FileView, ServiceError> {
    let state = h.0.clone();
    let located = locate(&state, &ctx, req.project_id).await?;
    let limit = req.limit.unwrap_or(MAX_LIST);
    if limit == 0 || limit > MAX_LIST {
        return Err(ServiceError::validation(format!(
            "limit must be 1 to {MAX_LIST}"
        )));
    }
    let offset = req.offset.unwrap_or(0);
    blocking(move || {
        let project = ProjectDir::open(&located.dir)?;
        match req.path {
            Some(path) if !project.is_dir(&path)? => {
                let (meta, mut data) = project.read(&path)?;
                data.truncate(CHUNK);
                Ok(FileView::File {
                    meta,
                    data: Bytes64(data),
                })
            }
            path => list(&state, &project, &located, path, offset, limit),
        }
    })
    .await
}

/// A page of a directory's entries: the first page reads the directory and its git marks, a
/// later one takes the listing the first made (see [`crate::listing`]).
fn list(
    state: &AppState,
    project: &ProjectDir,
    located: &Located,
    path: Option<RelPath>,
    offset: u32,
    limit: u32,
) -> Result<FileView, ServiceError> {
    let dir = path.as_ref().map(RelPath::as_str).unwrap_or_default();
    let stamp = project.dir_stamp(path.as_ref())?;
    let kept = (offset > 0)
        .then(|| state.listings.get(located.id(), dir, &stamp))
        .flatten();
    let all = match kept {
        Some(all) => all,
        None => {
            let all = std::sync::Arc::new(read_listing(project, located, path.as_ref())?);
            state.listings.put(located.id(), dir, stamp, all.clone());
            all
        }
    };
    let total = all.len() as u64;
    let entries = all
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .cloned()
        .collect();
    Ok(FileView::Directory {
        path,
        entries,
        total,
        offset: u64::from(offset),
    })
}

/// Every entry of a directory with its git mark.
fn read_listing(
    project: &ProjectDir,
    located: &Located,
    path: Option<&RelPath>,
) -> Result<Vec<DirEntry>, ServiceError> {
    // The directory and its git status are read at once: each walks the directory, and a
    // 10,000-entry directory takes tens of milliseconds either way.
    let (entries, marks) = std::thread::scope(|scope| {
        // Marks are best effort: a project whose repository is gone still lists.
        let marks = scope.spawn(|| {
            git::open(&located.dir)
                .and_then(|repo| git::marks_in(&repo, path))
                .unwrap_or_default()
        });
        let entries = project.list(path);
        (entries, marks.join().unwrap_or_default())
    });
    let entries = entries?;
    Ok(entries
        .into_iter()
        .map(|entry| DirEntry {
            git: marks.get(&entry.name).cloned(),
            name: entry.name,
            kind: entry.kind,
            size: entry.size,
            modified: entry.modified,
        })
        .collect())
}

pub async fn read(
    h: &Handlers,
    ctx: RequestContext,
    req: ReadFile,
) -> Result<FileChunk, ServiceError> {
    let located = locate(&h.0, &ctx, req.project_id).await?;
    blocking(move || {
        let data =
            ProjectDir::open(&located.dir)?.read_at(&req.path, req.offset, CHUNK, &req.version)?;
        Ok(FileChunk {
            offset: req.offset,
            data: Bytes64(data),
        })
    })
    .await
}

pub async fn write(
    h: &Handlers,
    ctx: RequestContext,
    req: WriteFile,
) -> Result<FileMeta, ServiceError> {
    if req.data.0.len() > CHUNK {
        return Err(ServiceError::new(
            ErrorCode::PayloadTooLarge,
            format!("one write carries at most {CHUNK} bytes; upload larger files in chunks"),
        ));
    }
    let state = h.0.clone();
    let located = locate(&state, &ctx, req.project_id).await?;
    locked(&h.0, located.id(), move || {
        let project = ProjectDir::open(&located.dir)?;
        let replaced = project.check_replace(&req.path, req.if_match.as_deref(), req.create)?;
        reserve(&state, &located, req.data.0.len() as u64, replaced)?;
        project.write(&req.path, &req.data.0)
    })
    .await
}

/// Counts a write of `bytes` over a file of `replaced` bytes (`None`: a new file) against the
/// owner's quota.
fn reserve(
    state: &AppState,
    located: &Located,
    bytes: u64,
    replaced: Option<u64>,
) -> Result<(), ServiceError> {
    state.quota.reserve(
        located.owner(),
        &located.home,
        bytes,
        replaced.unwrap_or(0),
        u64::from(replaced.is_none()),
    )
}

/// The staged file of an upload: named by its owner and id, so nobody else's chunk lands in it.
fn staged_name(located: &Located, upload: uuid::Uuid) -> String {
    format!("{}-{}", located.owner(), upload.simple())
}

pub async fn upload_chunk(
    h: &Handlers,
    ctx: RequestContext,
    req: UploadChunk,
) -> Result<UploadProgress, ServiceError> {
    let state = h.0.clone();
    let located = locate(&state, &ctx, req.project_id).await?;
    let len = req.data.0.len() as u64;
    if len > CHUNK as u64 {
        return Err(ServiceError::new(
            ErrorCode::PayloadTooLarge,
            format!("a chunk carries at most {CHUNK} bytes"),
        ));
    }
    if req.offset.saturating_add(len) > MAX_TRANSFER {
        return Err(ServiceError::new(
            ErrorCode::PayloadTooLarge,
            format!("an upload has at most {MAX_TRANSFER} bytes"),
        ));
    }
    blocking(move || {
        // What the user has staged (abandoned uploads included, until they are swept) counts
        // against the quota, so staging cannot fill the disk.
        let staged: u64 = std::fs::read_dir(state.staging_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(&located.owner().to_string())
            })
            .filter_map(|entry| entry.metadata().ok())
            .map(|meta| meta.len())
            .sum();
        state
            .quota
            .check_adding(located.owner(), &located.home, staged + len)?;
        let path = state
            .staging_dir()
            .join(staged_name(&located, req.upload_id));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(ServiceError::internal)?;
        file.write_all_at(&req.data.0, req.offset)
            .map_err(ServiceError::internal)?;
        let staged = file.metadata().map_err(ServiceError::internal)?.len();
        Ok(UploadProgress {
            upload_id: req.upload_id,
            staged,
        })
    })
    .await
}

pub async fn upload_commit(
    h: &Handlers,
    ctx: RequestContext,
    req: CommitUpload,
) -> Result<FileMeta, ServiceError> {
    let state = h.0.clone();
    let located = locate(&state, &ctx, req.project_id).await?;
    locked(&h.0, located.id(), move || {
        let staging = Dir::open_ambient_dir(state.staging_dir(), ambient_authority())
            .map_err(ServiceError::internal)?;
        let name = staged_name(&located, req.upload_id);
        let staged = match staging.metadata(&name) {
            Ok(meta) => meta.len(),
            Err(_) if req.size == 0 => {
                // An empty file sends no chunk.
                staging.write(&name, []).map_err(ServiceError::internal)?;
                0
            }
            Err(_) => {
                return Err(ServiceError::not_found(format!(
                    "no upload {} (it is committed once, and abandoned ones are swept)",
                    req.upload_id
                )));
            }
        };
        if staged != req.size {
            return Err(ServiceError::validation(format!(
                "upload {} has {staged} bytes staged, not {}; send the rest first",
                req.upload_id, req.size
            )));
        }
        let project = ProjectDir::open(&located.dir)?;
        let replaced = project.check_replace(&req.path, req.if_match.as_deref(), req.create)?;
        reserve(&state, &located, staged, replaced)?;
        project.put(&staging, &name, &req.path)
    })
    .await
}

pub async fn mkdir(
    h: &Handlers,
    ctx: RequestContext,
    req: MakeDirectory,
) -> Result<DirEntry, ServiceError> {
    let state = h.0.clone();
    let located = locate(&state, &ctx, req.project_id).await?;
    locked(&h.0, located.id(), move || {
        let project = ProjectDir::open(&located.dir)?;
        state
            .quota
            .reserve(located.owner(), &located.home, 0, 0, 1)?;
        let entry = project.mkdir(&req.path)?;
        Ok(DirEntry {
            name: entry.name,
            kind: entry.kind,
            size: 0,
            modified: entry.modified,
            git: None,
        })
    })
    .await
}

pub async fn delete(
    h: &Handlers,
    ctx: RequestContext,
    req: DeleteFile,
) -> Result<DeletedFile, ServiceError> {
    let state = h.0.clone();
    let located = locate(&state, &ctx, req.project_id).await?;
    locked(&h.0, located.id(), move || {
        ProjectDir::open(&located.dir)?.delete(&req.path, req.recursive)?;
        state.quota.forget(located.owner());
        Ok(DeletedFile { path: req.path })
    })
    .await
}

pub async fn rename(
    h: &Handlers,
    ctx: RequestContext,
    req: MoveFile,
) -> Result<MovedFile, ServiceError> {
    let located = locate(&h.0, &ctx, req.project_id).await?;
    locked(&h.0, located.id(), move || {
        ProjectDir::open(&located.dir)?.rename(&req.from, &req.to, req.overwrite)?;
        Ok(MovedFile {
            from: req.from,
            to: req.to,
        })
    })
    .await
}
