//! `/api/v1/workspace/projects…` and `/api/v1/git…`: the caller's projects and git in them
//! (workspace service). Every route needs a token; another user's project is 404. The files
//! themselves are `/api/v1/files` (`files.rs`).

use axum::extract::State;
use contracts::{
    Request as _,
    workspace::{
        Branch, BranchList, BranchName, CheckoutBranch, CloneProject, Commit, CommitChanges,
        CreateBranch, CreateProject, DeleteProject, DeletedProject, GetGitDiff, GetGitLog,
        GetGitStatus, GetProject, GetProjectStats, GitDiff, GitLog, GitStatus, ListBranches,
        ListProjects, Project, ProjectList, ProjectName, ProjectStats, Pull, Push, RelPath, Synced,
        UpdateProject,
    },
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{call, forward};
use crate::{
    app::AppState,
    context::Ctx,
    envelope::{Envelope, Reply},
    error::ApiResult,
    extract::{ApiJson, ApiQuery, IdPath},
    openapi::ErrorEnvelope,
};

/// Your projects, by name.
#[utoipa::path(
    get, path = "/api/v1/workspace/projects", tag = "workspace", security(("bearer" = [])),
    responses((status = 200, description = "Your projects", body = Envelope<ProjectList>))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
) -> ApiResult<Reply<ProjectList>> {
    forward(&state, &ctx, &ListProjects {}).await
}

/// Create a project from a template (`empty`, the default, or `strategy`): a directory in your
/// workspace and a git repository on branch `main`.
#[utoipa::path(
    post, path = "/api/v1/workspace/projects", tag = "workspace", security(("bearer" = [])),
    request_body = CreateProject,
    responses(
        (status = 201, description = "The project", body = Envelope<Project>),
        (status = 409, description = "You have a project or directory of this name", body = ErrorEnvelope),
        (status = 507, description = "Your storage quota is used up", body = ErrorEnvelope),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreateProject>,
) -> ApiResult<Reply<Project>> {
    let project = call(&state, &ctx, &request).await?;
    Ok(Reply::created(CreateProject::service(), project))
}

/// Clone a git repository (https only) into a new project; `credentials` are used for this
/// call only.
#[utoipa::path(
    post, path = "/api/v1/workspace/projects/clone", tag = "workspace", security(("bearer" = [])),
    request_body = CloneProject,
    responses(
        (status = 201, description = "The project, cloned", body = Envelope<Project>),
        (status = 403, description = "The remote refused the credentials", body = ErrorEnvelope),
        (status = 409, description = "You have a project or directory of this name", body = ErrorEnvelope),
        (status = 507, description = "The repository does not fit in your quota", body = ErrorEnvelope),
    )
)]
pub(crate) async fn clone(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CloneProject>,
) -> ApiResult<Reply<Project>> {
    let project = call(&state, &ctx, &request).await?;
    Ok(Reply::created(CloneProject::service(), project))
}

/// One of your projects.
#[utoipa::path(
    get, path = "/api/v1/workspace/projects/{id}", tag = "workspace", security(("bearer" = [])),
    params(IdPath),
    responses(
        (status = 200, description = "The project", body = Envelope<Project>),
        (status = 404, description = "No project of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(project_id): IdPath,
) -> ApiResult<Reply<Project>> {
    forward(&state, &ctx, &GetProject { project_id }).await
}

/// What an update may change: a new name (the directory moves) and the remote push and pull
/// use (`null` forgets it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectChanges {
    #[serde(default)]
    name: Option<ProjectName>,
    #[serde(default, deserialize_with = "contracts::assistant::double_option")]
    #[schema(value_type = Option<String>)]
    remote_url: Option<Option<String>>,
}

/// Rename one of your projects or set its remote.
#[utoipa::path(
    put, path = "/api/v1/workspace/projects/{id}", tag = "workspace", security(("bearer" = [])),
    params(IdPath), request_body = ProjectChanges,
    responses(
        (status = 200, description = "The project as it is now", body = Envelope<Project>),
        (status = 404, description = "No project of yours has this id", body = ErrorEnvelope),
        (status = 409, description = "The new name is taken", body = ErrorEnvelope),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(project_id): IdPath,
    ApiJson(changes): ApiJson<ProjectChanges>,
) -> ApiResult<Reply<Project>> {
    let request = UpdateProject {
        project_id,
        name: changes.name,
        remote_url: changes.remote_url,
    };
    forward(&state, &ctx, &request).await
}

/// Delete one of your projects with all its files.
#[utoipa::path(
    delete, path = "/api/v1/workspace/projects/{id}", tag = "workspace", security(("bearer" = [])),
    params(IdPath),
    responses(
        (status = 200, description = "The project is gone", body = Envelope<DeletedProject>),
        (status = 404, description = "No project of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(project_id): IdPath,
) -> ApiResult<Reply<DeletedProject>> {
    forward(&state, &ctx, &DeleteProject { project_id }).await
}

/// Files, bytes and last commit of one of your projects, and your quota.
#[utoipa::path(
    get, path = "/api/v1/workspace/projects/{id}/stats", tag = "workspace", security(("bearer" = [])),
    params(IdPath),
    responses(
        (status = 200, description = "The project's figures", body = Envelope<ProjectStats>),
        (status = 404, description = "No project of yours has this id", body = ErrorEnvelope),
    )
)]
pub(crate) async fn stats(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    IdPath(project_id): IdPath,
) -> ApiResult<Reply<ProjectStats>> {
    forward(&state, &ctx, &GetProjectStats { project_id }).await
}

/// The project a git read is about.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProjectParam {
    pub(crate) project_id: Uuid,
}

/// Changed, staged, untracked and conflicted files of one of your projects.
#[utoipa::path(
    get, path = "/api/v1/git/status", tag = "git", security(("bearer" = [])),
    params(ProjectParam),
    responses(
        (status = 200, description = "The status", body = Envelope<GitStatus>),
        (status = 404, description = "No project of yours has this id", body = ErrorEnvelope),
        (status = 409, description = "The project is not a git repository", body = ErrorEnvelope),
    )
)]
pub(crate) async fn status(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<ProjectParam>,
) -> ApiResult<Reply<GitStatus>> {
    let request = GetGitStatus {
        project_id: params.project_id,
    };
    forward(&state, &ctx, &request).await
}

/// Which diff to show.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DiffParams {
    project_id: Uuid,
    /// One file (default: all).
    #[param(value_type = Option<String>)]
    path: Option<RelPath>,
    /// The index against HEAD (default: the working tree against the index).
    #[serde(default)]
    staged: bool,
}

/// Unified diffs of one of your projects, per file.
#[utoipa::path(
    get, path = "/api/v1/git/diff", tag = "git", security(("bearer" = [])),
    params(DiffParams),
    responses(
        (status = 200, description = "The diff", body = Envelope<GitDiff>),
        (status = 404, description = "No project of yours has this id", body = ErrorEnvelope),
        (status = 409, description = "The project is not a git repository", body = ErrorEnvelope),
    )
)]
pub(crate) async fn diff(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<DiffParams>,
) -> ApiResult<Reply<GitDiff>> {
    let request = GetGitDiff {
        project_id: params.project_id,
        path: params.path,
        staged: params.staged,
    };
    forward(&state, &ctx, &request).await
}

/// Which commits to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogParams {
    project_id: Uuid,
    /// Default: HEAD.
    #[param(value_type = Option<String>)]
    branch: Option<BranchName>,
    /// Only commits that changed this path.
    #[param(value_type = Option<String>)]
    path: Option<RelPath>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    skip: Option<u32>,
}

/// Commits of one of your projects, newest first.
#[utoipa::path(
    get, path = "/api/v1/git/log", tag = "git", security(("bearer" = [])),
    params(LogParams),
    responses(
        (status = 200, description = "The commits", body = Envelope<GitLog>),
        (status = 404, description = "No project (or branch) of yours has this name", body = ErrorEnvelope),
        (status = 409, description = "The project is not a git repository", body = ErrorEnvelope),
    )
)]
pub(crate) async fn log(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<LogParams>,
) -> ApiResult<Reply<GitLog>> {
    let request = GetGitLog {
        project_id: params.project_id,
        branch: params.branch,
        path: params.path,
        limit: params.limit,
        skip: params.skip,
    };
    forward(&state, &ctx, &request).await
}

/// The local branches of one of your projects.
#[utoipa::path(
    get, path = "/api/v1/git/branches", tag = "git", security(("bearer" = [])),
    params(ProjectParam),
    responses(
        (status = 200, description = "The branches", body = Envelope<BranchList>),
        (status = 404, description = "No project of yours has this id", body = ErrorEnvelope),
        (status = 409, description = "The project is not a git repository", body = ErrorEnvelope),
    )
)]
pub(crate) async fn branches(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiQuery(params): ApiQuery<ProjectParam>,
) -> ApiResult<Reply<BranchList>> {
    let request = ListBranches {
        project_id: params.project_id,
    };
    forward(&state, &ctx, &request).await
}

/// Create a branch at HEAD (or at `from`).
#[utoipa::path(
    post, path = "/api/v1/git/branches", tag = "git", security(("bearer" = [])),
    request_body = CreateBranch,
    responses(
        (status = 201, description = "The branch", body = Envelope<Branch>),
        (status = 404, description = "No project (or branch) of yours has this name", body = ErrorEnvelope),
        (status = 409, description = "The branch exists, or there is no commit yet", body = ErrorEnvelope),
    )
)]
pub(crate) async fn create_branch(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreateBranch>,
) -> ApiResult<Reply<Branch>> {
    let branch = call(&state, &ctx, &request).await?;
    Ok(Reply::created(CreateBranch::service(), branch))
}

/// Switch to a branch; local changes it would overwrite are a 409 listing them.
#[utoipa::path(
    post, path = "/api/v1/git/checkout", tag = "git", security(("bearer" = [])),
    request_body = CheckoutBranch,
    responses(
        (status = 200, description = "The branch, now current", body = Envelope<Branch>),
        (status = 404, description = "No project (or branch) of yours has this name", body = ErrorEnvelope),
        (status = 409, description = "Local changes would be overwritten (details.files)", body = ErrorEnvelope),
    )
)]
pub(crate) async fn checkout(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CheckoutBranch>,
) -> ApiResult<Reply<Branch>> {
    forward(&state, &ctx, &request).await
}

/// Commit `paths` (or, with `all`, every change) as you: your account's name and email.
#[utoipa::path(
    post, path = "/api/v1/git/commit", tag = "git", security(("bearer" = [])),
    request_body = CommitChanges,
    responses(
        (status = 201, description = "The commit", body = Envelope<Commit>),
        (status = 404, description = "No project of yours has this id, or a path is missing", body = ErrorEnvelope),
        (status = 409, description = "Nothing to commit", body = ErrorEnvelope),
    )
)]
pub(crate) async fn commit(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CommitChanges>,
) -> ApiResult<Reply<Commit>> {
    let commit = call(&state, &ctx, &request).await?;
    Ok(Reply::created(CommitChanges::service(), commit))
}

/// Push a branch (default: the current one) to the project's remote; `credentials` are used
/// for this call only.
#[utoipa::path(
    post, path = "/api/v1/git/push", tag = "git", security(("bearer" = [])),
    request_body = Push,
    responses(
        (status = 200, description = "Pushed", body = Envelope<Synced>),
        (status = 403, description = "The remote refused the credentials", body = ErrorEnvelope),
        (status = 404, description = "No project (or branch) of yours has this name", body = ErrorEnvelope),
        (status = 409, description = "No remote set, or the remote has commits you lack (pull first)", body = ErrorEnvelope),
    )
)]
pub(crate) async fn push(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<Push>,
) -> ApiResult<Reply<Synced>> {
    forward(&state, &ctx, &request).await
}

/// Pull the current branch from the project's remote: fast-forward, or merge changes that do
/// not overlap; overlapping ones are a 409 listing the files (`details.files`), and nothing
/// changes.
#[utoipa::path(
    post, path = "/api/v1/git/pull", tag = "git", security(("bearer" = [])),
    request_body = Pull,
    responses(
        (status = 200, description = "Pulled", body = Envelope<Synced>),
        (status = 403, description = "The remote refused the credentials", body = ErrorEnvelope),
        (status = 404, description = "No project (or remote branch) of yours has this name", body = ErrorEnvelope),
        (status = 409, description = "No remote set, or conflicting changes (details.files)", body = ErrorEnvelope),
        (status = 507, description = "What the remote sends does not fit in your quota", body = ErrorEnvelope),
    )
)]
pub(crate) async fn pull(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<Pull>,
) -> ApiResult<Reply<Synced>> {
    forward(&state, &ctx, &request).await
}
