//! `workspace.v1.git.*`: git in the caller's project (see [`crate::git`]). Changing
//! operations hold the project's lock; commits, pushes and pulls are events.

use bus::{RequestContext, ServiceError};
use contracts::{
    identity::GetUser,
    workspace::{
        Branch, BranchList, CheckoutBranch, Commit, CommitChanges, CreateBranch, GetGitDiff,
        GetGitLog, GetGitStatus, GitDiff, GitLog, GitStatus, ListBranches, Pull, Push, Synced,
        WorkspaceEventKind,
    },
};

use super::{Handlers, Located, blocking, locate, locked, publish};
use crate::{
    app::AppState,
    git::{self, remote},
};

pub async fn status(
    h: &Handlers,
    ctx: RequestContext,
    req: GetGitStatus,
) -> Result<GitStatus, ServiceError> {
    let located = locate(&h.0, &ctx, req.project_id).await?;
    blocking(move || git::status(&git::open(&located.dir)?)).await
}

pub async fn diff(
    h: &Handlers,
    ctx: RequestContext,
    req: GetGitDiff,
) -> Result<GitDiff, ServiceError> {
    let located = locate(&h.0, &ctx, req.project_id).await?;
    blocking(move || git::diff(&git::open(&located.dir)?, req.path.as_ref(), req.staged)).await
}

pub async fn log(
    h: &Handlers,
    ctx: RequestContext,
    req: GetGitLog,
) -> Result<GitLog, ServiceError> {
    let limit = req.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ServiceError::validation("limit must be 1 to 500"));
    }
    let located = locate(&h.0, &ctx, req.project_id).await?;
    blocking(move || {
        let repo = git::open(&located.dir)?;
        let commits = git::log(
            &repo,
            req.branch.as_ref(),
            req.path.as_ref(),
            req.skip.unwrap_or(0) as usize,
            limit as usize,
        )?;
        Ok(GitLog { commits })
    })
    .await
}

pub async fn branches(
    h: &Handlers,
    ctx: RequestContext,
    req: ListBranches,
) -> Result<BranchList, ServiceError> {
    let located = locate(&h.0, &ctx, req.project_id).await?;
    blocking(move || {
        Ok(BranchList {
            branches: git::branches(&git::open(&located.dir)?)?,
        })
    })
    .await
}

pub async fn create_branch(
    h: &Handlers,
    ctx: RequestContext,
    req: CreateBranch,
) -> Result<Branch, ServiceError> {
    let located = locate(&h.0, &ctx, req.project_id).await?;
    locked(&h.0, located.id(), move || {
        git::create_branch(&git::open(&located.dir)?, &req.name, req.from.as_ref())
    })
    .await
}

pub async fn checkout(
    h: &Handlers,
    ctx: RequestContext,
    req: CheckoutBranch,
) -> Result<Branch, ServiceError> {
    let located = locate(&h.0, &ctx, req.project_id).await?;
    locked(&h.0, located.id(), move || {
        git::checkout(&git::open(&located.dir)?, &req.name)
    })
    .await
}

/// The caller as a git author: their account's name and email, asked of identity.
async fn author(
    state: &AppState,
    ctx: &RequestContext,
    located: &Located,
) -> Result<(String, String), ServiceError> {
    let user = state
        .bus
        .request(
            ctx,
            &GetUser {
                user_id: located.owner(),
            },
        )
        .await
        .map_err(|err| {
            ServiceError::unavailable("cannot read your name and email for the commit", err)
        })?;
    Ok((user.name, user.email))
}

pub async fn commit(
    h: &Handlers,
    ctx: RequestContext,
    req: CommitChanges,
) -> Result<Commit, ServiceError> {
    let message = req.message.trim().to_owned();
    if message.is_empty() || message.chars().count() > git::MAX_MESSAGE || message.contains('\0') {
        return Err(ServiceError::validation(format!(
            "a commit message has 1 to {} characters and no NUL",
            git::MAX_MESSAGE
        )));
    }
    if !req.all && req.paths.is_empty() {
        return Err(ServiceError::validation(
            "name the paths to commit, or commit all changes with all: true",
        ));
    }
    let located = locate(&h.0, &ctx, req.project_id).await?;
    let (name, email) = author(&h.0, &ctx, &located).await?;
    let at = located.clone();
    let commit = locked(&h.0, located.id(), move || {
        let repo = git::open(&at.dir)?;
        let commit = git::commit(
            &repo,
            &message,
            &req.paths,
            req.all,
            &git::signature(&name, &email)?,
        )?;
        Ok((commit, git::head_of(&repo).0))
    })
    .await;
    let (commit, branch) = commit?;
    let kind = WorkspaceEventKind::Committed {
        branch,
        commit: commit.clone(),
    };
    publish(&h.0, &ctx, &located, kind).await;
    Ok(commit)
}

/// The remote, the branch (default: the current one) and the limits of a push or pull.
fn target(
    state: &AppState,
    located: &Located,
    repo: &git2::Repository,
    branch: Option<&contracts::workspace::BranchName>,
) -> Result<(String, String, remote::Limits), ServiceError> {
    let url = located.owned.project.remote_url.clone().ok_or_else(|| {
        ServiceError::conflict("the project has no remote; set remote_url on the project first")
    })?;
    let branch = match branch {
        Some(branch) => branch.to_string(),
        None => git::head_of(repo)
            .0
            .ok_or_else(|| ServiceError::conflict("HEAD is detached; name the branch"))?,
    };
    let usage = state.quota.usage(located.owner(), &located.home);
    let limits = remote::Limits {
        allow_local: state.config.workspace_allow_local_remotes,
        timeout: state.config.workspace_git_timeout,
        max_bytes: usage.max_bytes.saturating_sub(usage.bytes),
    };
    Ok((url, branch, limits))
}

pub async fn push(h: &Handlers, ctx: RequestContext, req: Push) -> Result<Synced, ServiceError> {
    let state = h.0.clone();
    let located = locate(&state, &ctx, req.project_id).await?;
    let at = located.clone();
    let synced = locked(&h.0, located.id(), move || {
        let repo = git::open(&at.dir)?;
        let (url, branch, limits) = target(&state, &at, &repo, req.branch.as_ref())?;
        let head = remote::push(&repo, &url, &branch, req.credentials.as_ref(), limits)?;
        Ok(Synced {
            branch,
            head,
            outcome: "pushed".into(),
        })
    })
    .await?;
    let kind = WorkspaceEventKind::Pushed {
        branch: synced.branch.clone(),
        head: synced.head.clone(),
    };
    publish(&h.0, &ctx, &located, kind).await;
    Ok(synced)
}

pub async fn pull(h: &Handlers, ctx: RequestContext, req: Pull) -> Result<Synced, ServiceError> {
    let state = h.0.clone();
    let located = locate(&state, &ctx, req.project_id).await?;
    let (name, email) = author(&h.0, &ctx, &located).await?;
    let at = located.clone();
    let synced = locked(&h.0, located.id(), move || {
        let repo = git::open(&at.dir)?;
        let (url, branch, limits) = target(&state, &at, &repo, req.branch.as_ref())?;
        if git::head_of(&repo).0.as_deref() != Some(branch.as_str()) {
            return Err(ServiceError::validation(format!(
                "a pull merges into the current branch; check out {branch} first"
            )));
        }
        let author = git::signature(&name, &email)?;
        let (pulled, head) = remote::pull(
            &repo,
            &url,
            &branch,
            req.credentials.as_ref(),
            &author,
            limits,
        )?;
        state.quota.forget(at.owner());
        Ok(Synced {
            branch,
            head,
            outcome: pulled.name().into(),
        })
    })
    .await?;
    if synced.outcome != remote::Pulled::UpToDate.name() {
        let kind = WorkspaceEventKind::Pulled {
            branch: synced.branch.clone(),
            head: synced.head.clone(),
            outcome: synced.outcome.clone(),
        };
        publish(&h.0, &ctx, &located, kind).await;
    }
    Ok(synced)
}
