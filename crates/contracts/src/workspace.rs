//! The workspace: a user's projects on disk (`<workspace root>/<user id>/<project name>`, the
//! same directory the terminal's sessions start in), their files, and git.
//!
//! Paths are relative to the project ([`RelPath`]): the rule here refuses what can never be
//! right (absolute, `..`, NUL, backslashes, `.git`) with a clear error at the edge, and the
//! service resolves every path again through a directory handle, which also refuses symlinks
//! that lead out.
//!
//! NATS carries at most 1 MB a message, so file contents travel in chunks of at most
//! [`CHUNK`] bytes, base64 ([`Bytes64`]): [`GetFile`] answers the first, [`ReadFile`] the
//! rest, checked against the version read first; [`UploadChunk`]s are staged beside the
//! projects and [`CommitUpload`] puts the whole file in place at once.
//!
//! Events ([`WorkspaceEvent`], stream `WORKSPACE`): `evt.workspace.<project_id>.<kind>` for
//! files created, updated and deleted (by the API or by anything else writing in the project,
//! seen by watching it) and for commits, pushes and pulls.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Event, InvalidValue, Request, Secret};

/// Bytes of a file one message carries at most: base64 of it stays well inside a 1 MB message.
pub const CHUNK: usize = 512 * 1024;

/// The largest file that goes through the gateway, up or down.
pub const MAX_TRANSFER: u64 = 20 * 1024 * 1024;

/// The largest text file answered inline (as JSON) rather than as a download.
pub const MAX_INLINE_TEXT: u64 = 10 * 1024 * 1024;

/// Characters of a project name.
pub const PROJECT_NAME_MAX: usize = 100;

/// Bytes of a relative path.
pub const PATH_MAX: usize = 1024;

fn parse_project_name(raw: &str) -> Result<String, InvalidValue> {
    let name = raw.trim();
    let fail = |why: &str| {
        Err(InvalidValue::new(
            "name",
            format!(
                "project name {:?} {why}",
                name.chars().take(60).collect::<String>()
            ),
        ))
    };
    if name.is_empty() || name.chars().count() > PROJECT_NAME_MAX {
        return fail(&format!("must have 1 to {PROJECT_NAME_MAX} characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return fail("may only have letters, digits, '-', '_' and '.'");
    }
    if name.starts_with('.') || name.starts_with('-') {
        return fail("must not start with '.' or '-'");
    }
    Ok(name.to_owned())
}

crate::string_value!(
    /// A project's name, which is also its directory: letters, digits, `-`, `_`, `.`, not
    /// starting with `.` or `-`, at most 100 characters.
    ProjectName,
    parse = parse_project_name,
    schema = { "type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$" }
);

fn parse_rel_path(raw: &str) -> Result<String, InvalidValue> {
    let fail = |why: &str| {
        Err(InvalidValue::new(
            "path",
            format!("path {:?} {why}", raw.chars().take(100).collect::<String>()),
        ))
    };
    if raw.len() > PATH_MAX {
        return fail(&format!("is longer than {PATH_MAX} bytes"));
    }
    if raw.contains('\0') {
        return fail("contains a NUL byte");
    }
    if raw.contains('\\') {
        return fail("contains a backslash; separate directories with '/'");
    }
    if raw.starts_with('/') {
        return fail("must be relative to the project, not absolute");
    }
    if raw.chars().any(char::is_control) {
        return fail("contains control characters");
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return fail("must not contain '..'"),
            part if part.eq_ignore_ascii_case(".git") => {
                return fail("is inside .git, which only git commands change");
            }
            part if part.starts_with('-') => {
                return fail("must not have a name starting with '-'");
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return fail("names no file; the project itself has no path");
    }
    Ok(parts.join("/"))
}

crate::string_value!(
    /// A path inside a project, `/`-separated: never absolute, never `..`, `.git`, NUL,
    /// backslashes, control characters or names starting with `-`; `.` and empty parts are
    /// dropped (`./a//b` is `a/b`).
    RelPath,
    parse = parse_rel_path,
    schema = { "type": "string", "minLength": 1, "maxLength": 1024 }
);

impl RelPath {
    /// The last part: the file's name.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The directory holding it; `None` for the project itself.
    pub fn parent(&self) -> Option<RelPath> {
        self.0.rsplit_once('/').map(|(dir, _)| Self(dir.to_owned()))
    }

    /// `self/name`, checked.
    pub fn join(&self, name: &str) -> Result<RelPath, InvalidValue> {
        Self::parse(&format!("{}/{name}", self.0))
    }
}

/// Bytes carried in JSON as a base64 string (standard alphabet, padded).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Bytes64(pub Vec<u8>);

impl std::fmt::Debug for Bytes64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes64({} bytes)", self.0.len())
    }
}

impl Serialize for Bytes64 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes64 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Self)
            .map_err(|err| serde::de::Error::custom(format!("not base64: {err}")))
    }
}

impl JsonSchema for Bytes64 {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Bytes64".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "contentEncoding": "base64" })
    }
}

impl utoipa::PartialSchema for Bytes64 {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .content_encoding("base64")
            .into()
    }
}

impl utoipa::ToSchema for Bytes64 {}

// ---------------------------------------------------------------------------------------------
// Projects

/// A template a project can start from, shipped with Bourse.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// A README and a `.gitignore`.
    #[default]
    Empty,
    /// A trading strategy that reads prices from the Bourse API.
    Strategy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub name: ProjectName,
    /// The template it started from; `None` for a clone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    /// The remote push and pull use (credentials are never kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ProjectList {
    pub projects: Vec<Project>,
}

/// `workspace.v1.project.list`: the caller's projects, by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListProjects {}

impl Request for ListProjects {
    const SUBJECT: &'static str = "workspace.v1.project.list";
    type Reply = ProjectList;
}

/// `workspace.v1.project.create`: a directory from a template, a git repository on branch
/// `main` with nothing committed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    pub name: ProjectName,
    #[serde(default)]
    pub template: Option<Template>,
}

impl Request for CreateProject {
    const SUBJECT: &'static str = "workspace.v1.project.create";
    type Reply = Project;
}

/// Credentials for one git call over https: a user name (many hosts take any with a token)
/// and a password or token. Used for that call only, never stored, logged or put in a URL.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GitCredentials {
    pub username: String,
    pub password: Secret,
}

/// `workspace.v1.project.clone`: a new project cloned from an https git URL.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloneProject {
    pub name: ProjectName,
    pub url: String,
    #[serde(default)]
    pub credentials: Option<GitCredentials>,
}

impl Request for CloneProject {
    const SUBJECT: &'static str = "workspace.v1.project.clone";
    type Reply = Project;
}

/// `workspace.v1.project.get`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetProject {
    pub project_id: Uuid,
}

impl Request for GetProject {
    const SUBJECT: &'static str = "workspace.v1.project.get";
    type Reply = Project;
}

/// `workspace.v1.project.update`: a new name (the directory moves) and/or remote; absent
/// fields stay, `remote_url: null` forgets the remote.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    pub project_id: Uuid,
    #[serde(default)]
    pub name: Option<ProjectName>,
    #[serde(
        default,
        deserialize_with = "crate::assistant::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    #[schema(value_type = Option<String>)]
    pub remote_url: Option<Option<String>>,
}

impl Request for UpdateProject {
    const SUBJECT: &'static str = "workspace.v1.project.update";
    type Reply = Project;
}

/// `workspace.v1.project.delete`: the project and every file in it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteProject {
    pub project_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct DeletedProject {
    pub project_id: Uuid,
}

impl Request for DeleteProject {
    const SUBJECT: &'static str = "workspace.v1.project.delete";
    type Reply = DeletedProject;
}

/// `workspace.v1.project.stats`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetProjectStats {
    pub project_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ProjectStats {
    /// Files in the project, outside `.git`.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_commit: Option<Commit>,
    /// What the caller's quota allows and what all their projects use.
    pub usage: Usage,
}

/// A user's disk use against the quota, over everything in their workspace directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Usage {
    pub bytes: u64,
    pub files: u64,
    pub max_bytes: u64,
    pub max_files: u64,
}

impl Request for GetProjectStats {
    const SUBJECT: &'static str = "workspace.v1.project.stats";
    type Reply = ProjectStats;
}

// ---------------------------------------------------------------------------------------------
// Files

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
}

/// A file's state in git, as `git status --short` shows it: index then working tree, e.g.
/// `??` untracked, ` M` modified, `A ` added, `!!` ignored; absent when unchanged.
pub type GitMark = String;

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct DirEntry {
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
    pub modified: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitMark>,
}

/// A file's metadata. `etag` is a hash of the content; `version` identifies the bytes on disk
/// between two reads (size, modification time, inode), so chunks of one read cannot mix two
/// versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct FileMeta {
    pub path: RelPath,
    pub size: u64,
    pub modified: DateTime<Utc>,
    pub etag: String,
    pub version: String,
    /// UTF-8 without NUL and at most [`MAX_INLINE_TEXT`] bytes: shown inline.
    pub text: bool,
}

/// What [`GetFile`] finds at a path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileView {
    /// A directory's entries, `.git` left out: directories first, then by name.
    Directory {
        /// `None` for the project's own directory.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<RelPath>,
        entries: Vec<DirEntry>,
        /// Entries in the directory; more than `entries` holds when paged.
        total: u64,
        offset: u64,
    },
    /// A file: its metadata and its first [`CHUNK`] bytes; [`ReadFile`] has the rest.
    File {
        #[serde(flatten)]
        meta: FileMeta,
        data: Bytes64,
    },
}

/// Entries one listing answers at most: a page stays well inside a 1 MB message.
pub const MAX_LIST: u32 = 5_000;

/// `workspace.v1.file.get`: a directory's listing (the project's own without `path`), a page
/// of at most `limit` entries (default and cap [`MAX_LIST`]) from `offset`; or a file's
/// metadata and first chunk. Files over [`MAX_TRANSFER`] are `payload_too_large`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetFile {
    pub project_id: Uuid,
    #[serde(default)]
    pub path: Option<RelPath>,
    #[serde(default)]
    pub offset: Option<u32>,
    #[serde(default)]
    pub limit: Option<u32>,
}

impl Request for GetFile {
    const SUBJECT: &'static str = "workspace.v1.file.get";
    type Reply = FileView;
}

/// `workspace.v1.file.read`: the next chunk of a file, from `offset`, as long as it is still
/// `version` (else `conflict`: it changed between two chunks).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadFile {
    pub project_id: Uuid,
    pub path: RelPath,
    pub offset: u64,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct FileChunk {
    pub offset: u64,
    pub data: Bytes64,
}

impl Request for ReadFile {
    const SUBJECT: &'static str = "workspace.v1.file.read";
    type Reply = FileChunk;
}

/// `workspace.v1.file.write`: a whole file of at most [`CHUNK`] bytes, written atomically
/// (readers see the old or the new content, never a mix). With `if_match` (an HTTP `If-Match`
/// value: an etag, quoted or not, a comma-separated list of them, or `*` for any existing file;
/// weak `W/` tags never match), only while the file matches (`precondition_failed` otherwise);
/// with `create`, only when nothing is there yet (`conflict` otherwise). Missing parent
/// directories are created.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteFile {
    pub project_id: Uuid,
    pub path: RelPath,
    pub data: Bytes64,
    #[serde(default)]
    pub if_match: Option<String>,
    #[serde(default)]
    pub create: bool,
}

impl Request for WriteFile {
    const SUBJECT: &'static str = "workspace.v1.file.write";
    type Reply = FileMeta;
}

/// `workspace.v1.file.upload_chunk`: part of a file of up to [`MAX_TRANSFER`] bytes, staged
/// (outside the project) under an upload id the sender chose, at `offset`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadChunk {
    pub project_id: Uuid,
    pub upload_id: Uuid,
    pub offset: u64,
    pub data: Bytes64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct UploadProgress {
    pub upload_id: Uuid,
    /// Bytes staged so far.
    pub staged: u64,
}

impl Request for UploadChunk {
    const SUBJECT: &'static str = "workspace.v1.file.upload_chunk";
    type Reply = UploadProgress;
}

/// `workspace.v1.file.upload_commit`: puts a staged upload of exactly `size` bytes in place at
/// `path`, atomically, with [`WriteFile`]'s `if_match` and `create`; the staged file goes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitUpload {
    pub project_id: Uuid,
    pub upload_id: Uuid,
    pub path: RelPath,
    pub size: u64,
    #[serde(default)]
    pub if_match: Option<String>,
    #[serde(default)]
    pub create: bool,
}

impl Request for CommitUpload {
    const SUBJECT: &'static str = "workspace.v1.file.upload_commit";
    type Reply = FileMeta;
}

/// `workspace.v1.file.mkdir`: a directory (and missing parents); `conflict` when something
/// is already there.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MakeDirectory {
    pub project_id: Uuid,
    pub path: RelPath,
}

impl Request for MakeDirectory {
    const SUBJECT: &'static str = "workspace.v1.file.mkdir";
    type Reply = DirEntry;
}

/// `workspace.v1.file.delete`: a file, a symlink (not what it points to), or a directory —
/// with what is in it only when `recursive` (`conflict` for a directory that is not empty).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteFile {
    pub project_id: Uuid,
    pub path: RelPath,
    #[serde(default)]
    pub recursive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct DeletedFile {
    pub path: RelPath,
}

impl Request for DeleteFile {
    const SUBJECT: &'static str = "workspace.v1.file.delete";
    type Reply = DeletedFile;
}

/// `workspace.v1.file.move`: renames a file or directory inside the project; `conflict` when
/// the target exists unless `overwrite` (a file over a file only).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveFile {
    pub project_id: Uuid,
    pub from: RelPath,
    pub to: RelPath,
    #[serde(default)]
    pub overwrite: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct MovedFile {
    pub from: RelPath,
    pub to: RelPath,
}

impl Request for MoveFile {
    const SUBJECT: &'static str = "workspace.v1.file.move";
    type Reply = MovedFile;
}

// ---------------------------------------------------------------------------------------------
// Git

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Commit {
    pub id: String,
    pub summary: String,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    pub time: DateTime<Utc>,
    pub parents: Vec<String>,
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct StatusEntry {
    pub path: String,
    /// `git status --short`'s two letters: index, then working tree.
    pub mark: GitMark,
    /// Staged (the index differs from HEAD).
    pub staged: bool,
    /// Changed in the working tree (or untracked).
    pub unstaged: bool,
    /// Both sides changed it in a merge.
    #[serde(default)]
    pub conflicted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct GitStatus {
    /// `None` on a detached HEAD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// `None` before the first commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// At most [`MAX_STATUS`], by path.
    pub entries: Vec<StatusEntry>,
    /// More paths changed than `entries` holds.
    #[serde(default)]
    pub truncated: bool,
}

/// Paths one status (or diff) answers at most: the reply must fit in one message.
pub const MAX_STATUS: usize = 5_000;

/// `workspace.v1.git.status`: changed, staged and untracked paths (ignored ones left out).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetGitStatus {
    pub project_id: Uuid,
}

impl Request for GetGitStatus {
    const SUBJECT: &'static str = "workspace.v1.git.status";
    type Reply = GitStatus;
}

/// `workspace.v1.git.diff`: the working tree against the index, or (`staged`) the index
/// against HEAD; of one path or of all.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetGitDiff {
    pub project_id: Uuid,
    #[serde(default)]
    pub path: Option<RelPath>,
    #[serde(default)]
    pub staged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct FileDiff {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// `added`, `deleted`, `modified`, `renamed`, `typechange`, `untracked`.
    pub status: String,
    pub binary: bool,
    pub additions: u64,
    pub deletions: u64,
    /// The unified diff (empty for binary files); cut at 1 MiB over all files.
    pub patch: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct GitDiff {
    /// At most [`MAX_STATUS`].
    pub files: Vec<FileDiff>,
    /// Files or patches were cut to stay inside one message.
    pub truncated: bool,
}

impl Request for GetGitDiff {
    const SUBJECT: &'static str = "workspace.v1.git.diff";
    type Reply = GitDiff;
}

/// `workspace.v1.git.log`: commits reachable from HEAD (or `branch`), newest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetGitLog {
    pub project_id: Uuid,
    #[serde(default)]
    pub branch: Option<BranchName>,
    /// Only commits that changed this path.
    #[serde(default)]
    pub path: Option<RelPath>,
    /// 1 to 500, default 50.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Skip this many first.
    #[serde(default)]
    pub skip: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct GitLog {
    pub commits: Vec<Commit>,
}

impl Request for GetGitLog {
    const SUBJECT: &'static str = "workspace.v1.git.log";
    type Reply = GitLog;
}

fn parse_branch(raw: &str) -> Result<String, InvalidValue> {
    let name = raw.trim();
    let fail = |why: &str| {
        Err(InvalidValue::new(
            "branch",
            format!(
                "branch {:?} {why}",
                name.chars().take(60).collect::<String>()
            ),
        ))
    };
    if name.is_empty() || name.len() > 200 {
        return fail("must have 1 to 200 characters");
    }
    // git check-ref-format's rules, and never an option: no leading '-'.
    if name.starts_with('-') || name.starts_with('/') || name.ends_with('/') {
        return fail("must not start with '-' or '/', nor end with '/'");
    }
    if name.ends_with('.') || name.ends_with(".lock") || name == "@" || name.contains("@{") {
        return fail("is not a valid branch name");
    }
    if name.contains("..") || name.contains("//") || name.split('/').any(|p| p.starts_with('.')) {
        return fail("must not contain '..', '//' or parts starting with '.'");
    }
    if name
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
    {
        return fail("must not contain spaces, control characters or any of ~^:?*[\\");
    }
    Ok(name.to_owned())
}

crate::string_value!(
    /// A branch name by `git check-ref-format`'s rules; never starting with `-`.
    BranchName,
    parse = parse_branch,
    schema = { "type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^-/.]" }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Branch {
    pub name: String,
    pub current: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct BranchList {
    pub branches: Vec<Branch>,
}

/// `workspace.v1.git.branches`: local branches.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBranches {
    pub project_id: Uuid,
}

impl Request for ListBranches {
    const SUBJECT: &'static str = "workspace.v1.git.branches";
    type Reply = BranchList;
}

/// `workspace.v1.git.branch_create`: a branch at HEAD (or at `from`, a branch).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBranch {
    pub project_id: Uuid,
    pub name: BranchName,
    #[serde(default)]
    pub from: Option<BranchName>,
}

impl Request for CreateBranch {
    const SUBJECT: &'static str = "workspace.v1.git.branch_create";
    type Reply = Branch;
}

/// `workspace.v1.git.checkout`: switches to a branch; local changes it would overwrite make
/// it `conflict`, naming them, and change nothing.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBranch {
    pub project_id: Uuid,
    pub name: BranchName,
}

impl Request for CheckoutBranch {
    const SUBJECT: &'static str = "workspace.v1.git.checkout";
    type Reply = Branch;
}

/// `workspace.v1.git.commit`: stages `paths` (or, with `all`, every change, untracked files
/// included) and commits what is staged, as the caller (name and email of their account).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitChanges {
    pub project_id: Uuid,
    pub message: String,
    #[serde(default)]
    pub paths: Vec<RelPath>,
    #[serde(default)]
    pub all: bool,
}

impl Request for CommitChanges {
    const SUBJECT: &'static str = "workspace.v1.git.commit";
    type Reply = Commit;
}

macro_rules! sync_request {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            pub project_id: Uuid,
            /// Default: the current branch.
            #[serde(default)]
            pub branch: Option<BranchName>,
            /// For this call only.
            #[serde(default)]
            pub credentials: Option<GitCredentials>,
        }
    };
}

sync_request!(
    /// `workspace.v1.git.push`: the branch to the project's remote; `conflict` when the remote
    /// has commits the branch lacks (pull first).
    Push
);

sync_request!(
    /// `workspace.v1.git.pull`: fetches the branch from the project's remote, then
    /// fast-forwards, or merges when both sides have commits that touch different lines;
    /// otherwise `conflict` listing the files, and nothing changes.
    Pull
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Synced {
    pub branch: String,
    /// The branch's commit afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// `up_to_date`, `fast_forward`, `merged` (pull) or `pushed`.
    pub outcome: String,
}

impl Request for Push {
    const SUBJECT: &'static str = "workspace.v1.git.push";
    type Reply = Synced;
}

impl Request for Pull {
    const SUBJECT: &'static str = "workspace.v1.git.pull";
    type Reply = Synced;
}

// ---------------------------------------------------------------------------------------------
// Events

/// What happened in a project; every variant is one event subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkspaceEventKind {
    FileCreated {
        path: String,
        entry: EntryKind,
        size: u64,
    },
    FileUpdated {
        path: String,
        size: u64,
    },
    FileDeleted {
        path: String,
        entry: EntryKind,
    },
    Committed {
        branch: Option<String>,
        commit: Commit,
    },
    Pushed {
        branch: String,
        head: Option<String>,
    },
    Pulled {
        branch: String,
        head: Option<String>,
        outcome: String,
    },
}

impl WorkspaceEventKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::FileCreated { .. } => "file_created",
            Self::FileUpdated { .. } => "file_updated",
            Self::FileDeleted { .. } => "file_deleted",
            Self::Committed { .. } => "committed",
            Self::Pushed { .. } => "pushed",
            Self::Pulled { .. } => "pulled",
        }
    }
}

/// `evt.workspace.<project_id>.<file_created|file_updated|file_deleted|committed|pushed|pulled>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct WorkspaceEvent {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub project_id: Uuid,
    pub owner_id: Uuid,
    #[serde(flatten)]
    pub kind: WorkspaceEventKind,
}

impl Event for WorkspaceEvent {
    const SUBJECT_PATTERN: &'static str = "evt.workspace.{project_id}.{event}";
    const STREAM: &'static str = "WORKSPACE";

    fn subject(&self) -> String {
        format!("evt.workspace.{}.{}", self.project_id, self.kind.name())
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

impl WorkspaceEvent {
    /// Every workspace event subject.
    pub const ALL_SUBJECTS: &'static str = "evt.workspace.>";

    /// The project id of an `evt.workspace.<id>.<event>` subject.
    pub fn project_of(subject: &str) -> Option<&str> {
        subject.strip_prefix("evt.workspace.")?.split('.').next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_project_are_refused() {
        for bad in [
            "",
            ".",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a\\b",
            "a\0b",
            ".git/config",
            "sub/.GIT/hooks",
            "-rf",
            "a/--x",
            "a\nb",
        ] {
            assert!(RelPath::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(RelPath::parse("./a//b/").unwrap().as_str(), "a/b");
        assert_eq!(RelPath::parse("a/b.txt").unwrap().file_name(), "b.txt");
        assert_eq!(
            RelPath::parse("a/b.txt")
                .unwrap()
                .parent()
                .unwrap()
                .as_str(),
            "a"
        );
        assert!(RelPath::parse("a").unwrap().parent().is_none());
        assert!(RelPath::parse("..data/x.git-ignore").is_ok());
    }

    #[test]
    fn names_and_branches_cannot_become_options() {
        for bad in ["-x", ".hidden", "a/b", "", "a b"] {
            assert!(ProjectName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ProjectName::parse("momentum-2.0_x").is_ok());
        for bad in [
            "-f",
            "--upload-pack=x",
            "a..b",
            "a b",
            "x.lock",
            "a/.b",
            "@",
            "a~1",
        ] {
            assert!(BranchName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(BranchName::parse("feature/momentum-2").is_ok());
    }

    #[test]
    fn bytes_travel_as_base64() {
        let json = serde_json::to_string(&Bytes64(b"hi\0".to_vec())).unwrap();
        assert_eq!(json, "\"aGkA\"");
        let back: Bytes64 = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0, b"hi\0");
        assert!(serde_json::from_str::<Bytes64>("\"***\"").is_err());
    }
}
