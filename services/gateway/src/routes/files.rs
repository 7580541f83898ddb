//! `/api/v1/files…`: the files of the caller's projects (workspace service). Paths are relative
//! to the project and refused at the edge when they could never be right (`..`, `%2e%2e`,
//! absolute, NUL, backslashes, `.git`); the service resolves them again inside the project.
//!
//! NATS carries at most 1 MB a message, so file contents cross it in chunks of 512 KiB: a
//! download is streamed to the client chunk by chunk as the service reads them (each checked
//! against the version read first, so a file changing midway fails the download rather than
//! mixing two versions); an upload is streamed to the service's staging area chunk by chunk
//! as it arrives and put in place atomically once complete. The gateway holds at most one chunk
//! of a transfer, whatever the file's size (up to 20 MB).

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use bus::{ErrorCode, RequestContext, ServiceError};
use chrono::{DateTime, Utc};
use contracts::{
    Request as _,
    workspace::{
        Bytes64, CHUNK, CommitUpload, DeleteFile, DeletedFile, DirEntry, FileMeta, FileView,
        GetFile, MAX_TRANSFER, MakeDirectory, MoveFile, MovedFile, ReadFile, RelPath, UploadChunk,
        WriteFile,
    },
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use super::call;
use crate::{
    app::AppState,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiQuery, FilePath},
    openapi::ErrorEnvelope,
};

/// The routes of one file, `/api/v1/files/{path}`, where the path may have any number of
/// parts: axum needs the catch-all `{*path}`, which utoipa-axum would put verbatim into the
/// document, so the document names the parameter `{path}` and the router gets the catch-all.
pub(super) fn by_path() -> OpenApiRouter<AppState> {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(put, delete, rename))]
    struct ByPath;

    OpenApiRouter::with_openapi(ByPath::openapi()).route(
        "/api/v1/files/{*path}",
        axum::routing::put(put).delete(delete).patch(rename),
    )
}

/// What to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct GetParams {
    project_id: Uuid,
    /// A file or directory in the project; none for the project's own directory.
    path: Option<String>,
    /// Of a directory: the first entry to list (default 0).
    offset: Option<u32>,
    /// Of a directory: entries to list, 1 to 5,000 (default 5,000).
    #[param(minimum = 1, maximum = 5000)]
    limit: Option<u32>,
    /// Of a text file: send it as a download, not inline.
    #[serde(default)]
    download: bool,
}

/// A directory's listing, or a text file's content.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum FileResponse {
    /// Entries, directories first, then by name; `.git` left out.
    Directory {
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>)]
        path: Option<RelPath>,
        entries: Vec<DirEntry>,
        /// Entries in the directory (more than `entries` holds when paged).
        total: u64,
        offset: u64,
    },
    /// A UTF-8 file of at most 10 MB; send `etag` back as `If-Match` to update it.
    File(TextFile),
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TextFile {
    #[schema(value_type = String)]
    path: RelPath,
    size: u64,
    modified: DateTime<Utc>,
    etag: String,
    content: String,
}

fn parse_path(raw: Option<&str>) -> Result<Option<RelPath>, ApiError> {
    match raw {
        None | Some("") => Ok(None),
        Some(raw) => Ok(Some(RelPath::parse(raw)?)),
    }
}

/// A directory's listing, a text file inline (with its `ETag`), or any other file as a
/// download (up to 20 MB).
#[utoipa::path(
    get, path = "/api/v1/files", tag = "files", security(("bearer" = [])),
    params(GetParams),
    responses(
        (status = 200, description = "A listing or a text file (JSON), or the file itself", content(
            (Envelope<FileResponse> = "application/json"),
            (String = "application/octet-stream"),
        )),
        (status = 404, description = "No project of yours has this id, or nothing is at the path", body = ErrorEnvelope),
        (status = 409, description = "The file changed while it was read; read it again", body = ErrorEnvelope),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<GetParams>,
) -> ApiResult<Response> {
    let request = GetFile {
        project_id: params.project_id,
        path: parse_path(params.path.as_deref())?,
        offset: params.offset,
        limit: params.limit,
    };
    match call(&state, &ctx, &request).await? {
        FileView::Directory {
            path,
            entries,
            total,
            offset,
        } => {
            let listing = FileResponse::Directory {
                path,
                entries,
                total,
                offset,
            };
            Ok(Reply::ok(GetFile::service(), listing).into_response())
        }
        FileView::File { meta, data } if meta.text && !params.download => {
            let bytes = read_rest(&state, &ctx, params.project_id, &meta, data.0).await?;
            let content = String::from_utf8(bytes).map_err(|_| changed(&meta.path))?;
            let etag = meta.etag.clone();
            let file = TextFile {
                path: meta.path,
                size: meta.size,
                modified: meta.modified,
                etag: meta.etag,
                content,
            };
            let mut response =
                Reply::ok(GetFile::service(), FileResponse::File(file)).into_response();
            set_etag(response.headers_mut(), &etag);
            Ok(response)
        }
        FileView::File { meta, data } => Ok(download(state, ctx, params.project_id, meta, data.0)),
    }
}

fn changed(path: &RelPath) -> ApiError {
    ServiceError::conflict(format!(
        "{path} changed while it was being read; read it again"
    ))
    .into()
}

fn set_etag(headers: &mut HeaderMap, etag: &str) {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        headers.insert(header::ETAG, value);
    }
}

/// The rest of a file after its first chunk, whole (text files: at most 10 MB).
async fn read_rest(
    state: &AppState,
    ctx: &RequestContext,
    project_id: Uuid,
    meta: &FileMeta,
    mut data: Vec<u8>,
) -> ApiResult<Vec<u8>> {
    while (data.len() as u64) < meta.size {
        let chunk = call(state, ctx, &next_chunk(project_id, meta, data.len() as u64)).await?;
        if chunk.data.0.is_empty() {
            return Err(changed(&meta.path));
        }
        data.extend_from_slice(&chunk.data.0);
    }
    Ok(data)
}

fn next_chunk(project_id: Uuid, meta: &FileMeta, offset: u64) -> ReadFile {
    ReadFile {
        project_id,
        path: meta.path.clone(),
        offset,
        version: meta.version.clone(),
    }
}

/// The file as a download, streamed: each chunk is asked for when the client has taken the
/// one before. A failure midway ends the body early, which the client sees as a short read
/// (`Content-Length` says how much was due).
fn download(
    state: AppState,
    ctx: RequestContext,
    project_id: Uuid,
    meta: FileMeta,
    first: Vec<u8>,
) -> Response {
    let (size, name, etag) = (
        meta.size,
        meta.path.file_name().to_owned(),
        meta.etag.clone(),
    );
    let start = (Some(Bytes::from(first)), 0u64);
    let body = futures::stream::unfold(start, move |(pending, sent)| {
        let (state, ctx, meta) = (state.clone(), ctx.clone(), meta.clone());
        async move {
            if let Some(first) = pending {
                let sent = first.len() as u64;
                return Some((Ok::<_, std::io::Error>(first), (None, sent)));
            }
            if sent >= size {
                return None;
            }
            match state
                .bus
                .request(&ctx, &next_chunk(project_id, &meta, sent))
                .await
            {
                Ok(chunk) if !chunk.data.0.is_empty() => {
                    let sent = sent + chunk.data.0.len() as u64;
                    Some((Ok(Bytes::from(chunk.data.0)), (None, sent)))
                }
                Ok(_) => Some((
                    Err(std::io::Error::other("the file shrank while it was read")),
                    (None, size),
                )),
                Err(err) => {
                    tracing::warn!(error = %err, "a download ended early");
                    Some((Err(std::io::Error::other(err.to_string())), (None, size)))
                }
            }
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    set_etag(headers, &etag);
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        name.replace(['"', '\\'], "_")
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A new file (with `content`, UTF-8) or directory.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewEntry {
    project_id: Uuid,
    #[schema(value_type = String)]
    path: RelPath,
    /// Default `file`.
    #[serde(default)]
    kind: NewKind,
    /// A file's content (default empty); at most 512 KiB here, larger files are `PUT`.
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NewKind {
    #[default]
    File,
    Directory,
}

/// What was created.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Created {
    #[schema(value_type = String)]
    path: RelPath,
    #[schema(value_type = String)]
    kind: &'static str,
    size: u64,
    /// Of a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
}

/// Create a file or a directory (and missing parents); 409 when something is there already.
#[utoipa::path(
    post, path = "/api/v1/files", tag = "files", security(("bearer" = [])),
    request_body = NewEntry,
    responses(
        (status = 201, description = "Created", body = Envelope<Created>),
        (status = 404, description = "No project of yours has this id", body = ErrorEnvelope),
        (status = 409, description = "Something is at the path already", body = ErrorEnvelope),
        (status = 507, description = "Your storage quota is used up", body = ErrorEnvelope),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(entry): ApiJson<NewEntry>,
) -> ApiResult<Reply<Created>> {
    let created = match entry.kind {
        NewKind::Directory => {
            if entry.content.is_some() {
                return Err(ServiceError::validation("a directory has no content").into());
            }
            let request = MakeDirectory {
                project_id: entry.project_id,
                path: entry.path.clone(),
            };
            call(&state, &ctx, &request).await?;
            Created {
                path: entry.path,
                kind: "directory",
                size: 0,
                etag: None,
            }
        }
        NewKind::File => {
            let request = WriteFile {
                project_id: entry.project_id,
                path: entry.path,
                data: Bytes64(entry.content.unwrap_or_default().into_bytes()),
                if_match: None,
                create: true,
            };
            let meta = call(&state, &ctx, &request).await?;
            Created {
                path: meta.path,
                kind: "file",
                size: meta.size,
                etag: Some(meta.etag),
            }
        }
    };
    Ok(Reply::created(WriteFile::service(), created))
}

/// The project of a file route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProjectParam {
    project_id: Uuid,
}

/// `If-Match` (`"<etag>"`, a list of them, or `*`; a stale one is 412, weak tags never match),
/// passed to the service as sent, and `If-None-Match: *` (only when nothing is there: 409
/// otherwise).
fn conditions(headers: &HeaderMap) -> Result<(Option<String>, bool), ApiError> {
    let if_match = match headers.get(header::IF_MATCH) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| ServiceError::bad_request("If-Match is not text"))?
                .trim()
                .to_owned(),
        ),
    };
    let create = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|value| value.as_bytes() == b"*");
    Ok((if_match, create))
}

/// Write a file (the body is its new content, any type, up to 20 MB), created when missing.
/// With `If-Match: "<etag>"` only while the file is that version (412 otherwise); with
/// `If-None-Match: *` only when nothing is there (409 otherwise). The file changes at once
/// when the whole body has arrived, never half-written.
#[utoipa::path(
    put, path = "/api/v1/files/{path}", tag = "files", security(("bearer" = [])),
    params(FilePath, ProjectParam,
        ("If-Match" = Option<String>, Header, description = "The etag you read: refuse the write (412) if the file changed since"),
        ("If-None-Match" = Option<String>, Header, description = "`*`: only create (409 if the file exists)"),
    ),
    request_body(description = "The file's content", content((String = "application/octet-stream"))),
    responses(
        (status = 200, description = "Written", body = Envelope<FileMeta>),
        (status = 404, description = "No project of yours has this id", body = ErrorEnvelope),
        (status = 409, description = "If-None-Match: * and the file exists, or the path is a directory", body = ErrorEnvelope),
        (status = 412, description = "If-Match: the file changed since you read it", body = ErrorEnvelope),
        (status = 507, description = "Your storage quota is used up", body = ErrorEnvelope),
    )
)]
pub(crate) async fn put(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    FilePath(path): FilePath,
    ApiQuery(params): ApiQuery<ProjectParam>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Reply<FileMeta>> {
    let (if_match, create) = conditions(&headers)?;
    let project_id = params.project_id;
    let mut stream = body.into_data_stream();
    let mut pending: Vec<u8> = Vec::new();
    let mut upload: Option<(Uuid, u64)> = None;
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|err| body_error(&err))?;
        pending.extend_from_slice(&piece);
        // More than one chunk starts an upload; a body of at most one chunk is one write.
        while pending.len() > CHUNK || (upload.is_some() && pending.len() >= CHUNK) {
            let rest = pending.split_off(CHUNK);
            let chunk = std::mem::replace(&mut pending, rest);
            let (id, offset) = *upload.get_or_insert((contracts::new_id(), 0));
            send_chunk(&state, &ctx, project_id, id, offset, chunk).await?;
            upload = Some((id, offset + CHUNK as u64));
        }
    }
    let meta = match upload {
        // Small enough for one message: one write.
        None => {
            let request = WriteFile {
                project_id,
                path,
                data: Bytes64(pending),
                if_match,
                create,
            };
            call(&state, &ctx, &request).await?
        }
        Some((id, offset)) => {
            let size = offset + pending.len() as u64;
            if !pending.is_empty() {
                send_chunk(&state, &ctx, project_id, id, offset, pending).await?;
            }
            let request = CommitUpload {
                project_id,
                upload_id: id,
                path,
                size,
                if_match,
                create,
            };
            call(&state, &ctx, &request).await?
        }
    };
    Ok(Reply::ok(WriteFile::service(), meta))
}

async fn send_chunk(
    state: &AppState,
    ctx: &RequestContext,
    project_id: Uuid,
    upload_id: Uuid,
    offset: u64,
    data: Vec<u8>,
) -> ApiResult<()> {
    if offset + data.len() as u64 > MAX_TRANSFER {
        return Err(ServiceError::new(
            ErrorCode::PayloadTooLarge,
            format!("a file has at most {MAX_TRANSFER} bytes here"),
        )
        .into());
    }
    let request = UploadChunk {
        project_id,
        upload_id,
        offset,
        data: Bytes64(data),
    };
    call(state, ctx, &request).await.map(drop)
}

/// A body that could not be read: over the limit (413) or cut off (400).
fn body_error(err: &axum::Error) -> ApiError {
    let too_large = std::error::Error::source(err)
        .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
    if too_large {
        ServiceError::new(
            ErrorCode::PayloadTooLarge,
            format!("a file has at most {MAX_TRANSFER} bytes here"),
        )
        .into()
    } else {
        ServiceError::bad_request(format!("the body could not be read: {err}")).into()
    }
}

/// How to delete.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeleteParams {
    project_id: Uuid,
    /// A directory with what is in it (otherwise only an empty one).
    #[serde(default)]
    recursive: bool,
}

/// Delete a file, a symlink, or a directory (with its contents only when `recursive`).
#[utoipa::path(
    delete, path = "/api/v1/files/{path}", tag = "files", security(("bearer" = [])),
    params(FilePath, DeleteParams),
    responses(
        (status = 200, description = "Deleted", body = Envelope<DeletedFile>),
        (status = 404, description = "No project of yours has this id, or nothing is at the path", body = ErrorEnvelope),
        (status = 409, description = "A directory that is not empty, without recursive", body = ErrorEnvelope),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    FilePath(path): FilePath,
    ApiQuery(params): ApiQuery<DeleteParams>,
) -> ApiResult<Reply<DeletedFile>> {
    let request = DeleteFile {
        project_id: params.project_id,
        path,
        recursive: params.recursive,
    };
    super::forward(&state, &ctx, &request).await
}

/// Where a file or directory moves.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Destination {
    #[schema(value_type = String)]
    to: RelPath,
    /// Replace a file at `to` (a file only).
    #[serde(default)]
    overwrite: bool,
}

/// Move or rename a file or directory inside its project.
#[utoipa::path(
    patch, path = "/api/v1/files/{path}", tag = "files", security(("bearer" = [])),
    params(FilePath, ProjectParam),
    request_body = Destination,
    responses(
        (status = 200, description = "Moved", body = Envelope<MovedFile>),
        (status = 404, description = "No project of yours has this id, or nothing is at the path", body = ErrorEnvelope),
        (status = 409, description = "Something is at `to` already", body = ErrorEnvelope),
    )
)]
pub(crate) async fn rename(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    FilePath(from): FilePath,
    ApiQuery(params): ApiQuery<ProjectParam>,
    ApiJson(destination): ApiJson<Destination>,
) -> ApiResult<Reply<MovedFile>> {
    let request = MoveFile {
        project_id: params.project_id,
        from,
        to: destination.to,
        overwrite: destination.overwrite,
    };
    super::forward(&state, &ctx, &request).await
}
