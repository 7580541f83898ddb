//! `workspace.v1.project.*`: a project is a row (who owns it) and a directory with a git
//! repository. The row and the directory change together: the directory work happens inside
//! the row's transaction and undoes itself when it fails, so neither is left without the other.

use std::path::{Path, PathBuf};

use bus::{RequestContext, ServiceError};
use contracts::workspace::{
    CloneProject, CreateProject, DeleteProject, DeletedProject, GetProject, GetProjectStats,
    ListProjects, Project, ProjectList, ProjectName, ProjectStats, Template, UpdateProject,
};

use super::{Handlers, Located, blocking, locate, locked, owner, place};
use crate::{
    git::{self, remote},
    sandbox::TEMP_PREFIX,
    store::{self, project::InsertError},
    templates,
};

fn name_taken(name: &ProjectName) -> ServiceError {
    ServiceError::conflict(format!("you have a project named {name} already"))
}

fn insert_error(name: &ProjectName, err: InsertError) -> ServiceError {
    match err {
        InsertError::NameTaken => name_taken(name),
        InsertError::Db(err) => err.into(),
    }
}

pub async fn list(
    h: &Handlers,
    ctx: RequestContext,
    _req: ListProjects,
) -> Result<ProjectList, ServiceError> {
    let owner = owner(&ctx)?;
    let projects = store::project::list(&mut *h.0.db.acquire().await?, owner).await?;
    Ok(ProjectList {
        projects: projects.into_iter().map(|owned| owned.project).collect(),
    })
}

pub async fn create(
    h: &Handlers,
    ctx: RequestContext,
    req: CreateProject,
) -> Result<Project, ServiceError> {
    let state = &h.0;
    let owner = owner(&ctx)?;
    let template = req.template.unwrap_or_default();
    let mut tx = state.db.begin().await?;
    let owned = store::project::insert(
        &mut tx,
        owner,
        contracts::new_id(),
        &req.name,
        Some(templates::name(template)),
        None,
    )
    .await
    .map_err(|err| insert_error(&req.name, err))?;
    let located = place(state, owned);
    let (state2, at) = (state.clone(), located.clone());
    blocking(move || {
        let home = state2.user_dir(at.owner())?;
        let files = templates::files(template);
        let bytes = files.iter().map(|(_, c)| c.len() as u64).sum();
        state2
            .quota
            .reserve(at.owner(), &home, bytes, 0, files.len() as u64 + 2)?;
        make_project(&at.dir, &req.name, template)
    })
    .await?;
    if let Err(err) = tx.commit().await {
        remove_quietly(located.dir.clone()).await;
        return Err(err.into());
    }
    watch(state, &located).await;
    Ok(located.owned.project)
}

/// The directory, its template files and its repository; on failure nothing is left.
fn make_project(dir: &Path, name: &ProjectName, template: Template) -> Result<(), ServiceError> {
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ServiceError::conflict(format!(
                "your workspace has a directory named {name} already (made in a terminal?); pick another name"
            )));
        }
        Err(err) => return Err(ServiceError::internal(err)),
    }
    let filled = (|| {
        for (path, content) in templates::files(template) {
            std::fs::write(dir.join(path), content).map_err(ServiceError::internal)?;
        }
        git::init(dir)
    })();
    if filled.is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
    filled
}

pub async fn clone(
    h: &Handlers,
    ctx: RequestContext,
    req: CloneProject,
) -> Result<Project, ServiceError> {
    let state = &h.0;
    let owner = owner(&ctx)?;
    remote::check_url(&req.url, state.config.workspace_allow_local_remotes)?;
    let mut tx = state.db.begin().await?;
    let owned = store::project::insert(
        &mut tx,
        owner,
        contracts::new_id(),
        &req.name,
        None,
        Some(&req.url),
    )
    .await
    .map_err(|err| insert_error(&req.name, err))?;
    let located = place(state, owned);
    let (state2, at) = (state.clone(), located.clone());
    blocking(move || {
        let home = state2.user_dir(at.owner())?;
        if at.dir.symlink_metadata().is_ok() {
            return Err(ServiceError::conflict(format!(
                "your workspace has a directory named {} already; pick another name",
                req.name
            )));
        }
        let usage = state2.quota.usage(at.owner(), &home);
        let limits = remote::Limits {
            allow_local: state2.config.workspace_allow_local_remotes,
            timeout: state2.config.workspace_git_timeout,
            max_bytes: usage.max_bytes.saturating_sub(usage.bytes),
        };
        // Cloned beside the projects under a temporary name, moved in place when complete.
        let temp = home.join(format!(
            "{TEMP_PREFIX}clone-{}",
            uuid::Uuid::now_v7().simple()
        ));
        let cloned = remote::clone(&req.url, &temp, req.credentials.as_ref(), limits)
            .and_then(|()| {
                // What was fetched is bounded by the quota left; what the checkout made is
                // counted now (a small pack can check out a large tree).
                state2.quota.forget(at.owner());
                state2.quota.check(at.owner(), &home)
            })
            .and_then(|()| std::fs::rename(&temp, &at.dir).map_err(ServiceError::internal));
        if cloned.is_err() {
            let _ = std::fs::remove_dir_all(&temp);
        }
        cloned
    })
    .await?;
    if let Err(err) = tx.commit().await {
        remove_quietly(located.dir.clone()).await;
        return Err(err.into());
    }
    tracing::info!(project = %located.id(), "a project was cloned");
    watch(state, &located).await;
    Ok(located.owned.project)
}

pub async fn get(
    h: &Handlers,
    ctx: RequestContext,
    req: GetProject,
) -> Result<Project, ServiceError> {
    Ok(locate(&h.0, &ctx, req.project_id).await?.owned.project)
}

pub async fn update(
    h: &Handlers,
    ctx: RequestContext,
    req: UpdateProject,
) -> Result<Project, ServiceError> {
    let state = &h.0;
    let before = locate(state, &ctx, req.project_id).await?;
    if let Some(Some(url)) = &req.remote_url {
        remote::check_url(url, state.config.workspace_allow_local_remotes)?;
    }
    let mut tx = state.db.begin().await?;
    let owned = store::project::update(
        &mut tx,
        before.owner(),
        before.id(),
        req.name.as_ref(),
        req.remote_url.as_ref().map(|url| url.as_deref()),
    )
    .await
    .map_err(|err| match &req.name {
        Some(name) => insert_error(name, err),
        None => ServiceError::internal(err),
    })?
    .ok_or_else(|| super::project_not_found(before.id()))?;
    let after = place(state, owned);
    let moved = before.dir != after.dir;
    if moved {
        state.watcher.unwatch(before.id());
        let (from, to) = (before.dir.clone(), after.dir.clone());
        let renamed = locked(state, before.id(), move || {
            if to.symlink_metadata().is_ok() {
                return Err(ServiceError::conflict(format!(
                    "your workspace has a directory named {} already",
                    to.file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default()
                )));
            }
            std::fs::rename(&from, &to).map_err(ServiceError::internal)
        })
        .await;
        if let Err(err) = renamed {
            watch(state, &before).await;
            return Err(err);
        }
        if let Err(err) = tx.commit().await {
            let (from, to) = (after.dir.clone(), before.dir.clone());
            let _ =
                blocking(move || std::fs::rename(&from, &to).map_err(ServiceError::internal)).await;
            watch(state, &before).await;
            return Err(err.into());
        }
        watch(state, &after).await;
    } else {
        tx.commit().await?;
    }
    Ok(after.owned.project)
}

pub async fn delete(
    h: &Handlers,
    ctx: RequestContext,
    req: DeleteProject,
) -> Result<DeletedProject, ServiceError> {
    let state = &h.0;
    let located = locate(state, &ctx, req.project_id).await?;
    // Out of sight first (one rename), so the deletion is all or nothing; then removed.
    state.watcher.unwatch(located.id());
    let trash = located.home.join(format!(
        "{TEMP_PREFIX}deleted-{}",
        uuid::Uuid::now_v7().simple()
    ));
    // The row goes first, in a transaction that commits only once the directory has moved:
    // a failure before the commit leaves both as they were.
    let mut tx = state.db.begin().await?;
    if let Err(err) = store::project::delete(&mut tx, located.owner(), located.id()).await {
        watch(state, &located).await;
        return Err(err.into());
    }
    let (from, to) = (located.dir.clone(), trash.clone());
    let moved = locked(state, located.id(), move || {
        match std::fs::rename(&from, &to) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(ServiceError::internal(err)),
        }
    })
    .await;
    if let Err(err) = moved {
        watch(state, &located).await;
        return Err(err);
    }
    if let Err(err) = tx.commit().await {
        let (from, to) = (trash, located.dir.clone());
        let _ = blocking(move || std::fs::rename(&from, &to).map_err(ServiceError::internal)).await;
        watch(state, &located).await;
        return Err(err.into());
    }
    remove_quietly(trash).await;
    state.quota.forget(located.owner());
    Ok(DeletedProject {
        project_id: located.id(),
    })
}

pub async fn stats(
    h: &Handlers,
    ctx: RequestContext,
    req: GetProjectStats,
) -> Result<ProjectStats, ServiceError> {
    let state = h.0.clone();
    let located = locate(&state, &ctx, req.project_id).await?;
    blocking(move || {
        let (bytes, files) = crate::quota::count_outside_git(&located.dir);
        let last_commit = git::open(&located.dir)
            .ok()
            .and_then(|repo| git::last_commit(&repo));
        let usage = state.quota.usage(located.owner(), &located.home);
        Ok(ProjectStats {
            files,
            bytes,
            last_commit,
            usage,
        })
    })
    .await
}

async fn watch(state: &crate::app::AppState, located: &Located) {
    let (watcher, id, owner, dir) = (
        state.watcher.clone(),
        located.id(),
        located.owner(),
        located.dir.clone(),
    );
    let _ = tokio::task::spawn_blocking(move || watcher.watch(id, owner, &dir)).await;
}

async fn remove_quietly(dir: PathBuf) {
    let _ = tokio::task::spawn_blocking(move || {
        if let Err(err) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(error = %err, "a removed project's files could not all be deleted");
        }
    })
    .await;
}
