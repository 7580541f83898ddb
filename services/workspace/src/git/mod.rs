//! Git in a project, through libgit2 (git2): no `git` process, so no hook, `core.fsmonitor`,
//! filter driver, credential helper or pager configured in a repository ever runs — libgit2
//! has none of them. Refs and paths come in as [`BranchName`] and [`RelPath`], which cannot
//! start with `-`, and go to libgit2 as values, never as command-line words.
//!
//! A repository is opened only at the project's own directory and only when its git directory
//! and working tree are that project's (a `.git` file or `core.worktree` pointing elsewhere,
//! which a terminal could write, is refused). Blocking: call from `spawn_blocking`.
//!
//! - this file: opening, status, diff, log, branches, commit;
//! - [`remote`]: clone, push and pull, with credentials for one call.

pub mod remote;

use std::{collections::BTreeMap, path::Path};

use bus::ServiceError;
use chrono::DateTime;
use contracts::workspace::{
    Branch, BranchName, Commit, FileDiff, GitDiff, GitStatus, MAX_STATUS, RelPath, StatusEntry,
};
use git2::{
    BranchType, DiffOptions, ErrorClass, ErrorCode as GitCode, IndexAddOption, Repository,
    RepositoryInitOptions, RepositoryOpenFlags, Status, StatusOptions,
};

/// Bytes of patch text one diff answers at most (the reply must fit in one message).
const MAX_PATCH: usize = 512 * 1024;

/// Characters of a commit message.
pub const MAX_MESSAGE: usize = 10_000;

/// Makes `dir` a repository on branch `main`, nothing committed.
pub fn init(dir: &Path) -> Result<(), ServiceError> {
    let mut options = RepositoryInitOptions::new();
    options.initial_head("main").no_reinit(true).mkdir(false);
    Repository::init_opts(dir, &options)
        .map(drop)
        .map_err(|err| internal("create the repository", &err))
}

/// The project's repository, only if it is the project's own.
pub fn open(dir: &Path) -> Result<Repository, ServiceError> {
    if dir
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        return Err(ServiceError::validation(
            "the project's directory was replaced by a symlink; the service will not follow it",
        ));
    }
    let repo = Repository::open_ext(
        dir,
        RepositoryOpenFlags::NO_SEARCH,
        std::iter::empty::<&str>(),
    )
    .map_err(|err| match err.code() {
        GitCode::NotFound => {
            ServiceError::conflict("the project is not a git repository (its .git is missing)")
        }
        _ => internal("open the repository", &err),
    })?;
    let root = dir
        .canonicalize()
        .map_err(|err| ServiceError::internal(format!("cannot resolve the project: {err}")))?;
    let own = |path: Option<&Path>| {
        path.and_then(|p| p.canonicalize().ok())
            .is_some_and(|p| p.starts_with(&root))
    };
    let workdir_is_root = repo
        .workdir()
        .and_then(|p| p.canonicalize().ok())
        .is_some_and(|p| p == root);
    if !own(Some(repo.path())) || !workdir_is_root {
        return Err(ServiceError::validation(
            "the project's .git points outside the project; the service will not use it",
        ));
    }
    Ok(repo)
}

/// `git status`: changed, staged, untracked and conflicted paths.
pub fn status(repo: &Repository) -> Result<GitStatus, ServiceError> {
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .renames_head_to_index(true);
    let statuses = repo
        .statuses(Some(&mut options))
        .map_err(|err| internal("read the status", &err))?;
    let truncated = statuses.len() > MAX_STATUS;
    let entries = statuses
        .iter()
        .take(MAX_STATUS)
        .filter_map(|entry| {
            let path = entry.path()?.to_owned();
            let status = entry.status();
            Some(StatusEntry {
                path,
                mark: mark(status),
                staged: status.intersects(STAGED),
                unstaged: status.intersects(UNSTAGED),
                conflicted: status.is_conflicted(),
            })
        })
        .collect();
    let (branch, head) = head_of(repo);
    Ok(GitStatus {
        branch,
        head,
        entries,
        truncated,
    })
}

const STAGED: Status = Status::INDEX_NEW
    .union(Status::INDEX_MODIFIED)
    .union(Status::INDEX_DELETED)
    .union(Status::INDEX_RENAMED)
    .union(Status::INDEX_TYPECHANGE);

const UNSTAGED: Status = Status::WT_NEW
    .union(Status::WT_MODIFIED)
    .union(Status::WT_DELETED)
    .union(Status::WT_RENAMED)
    .union(Status::WT_TYPECHANGE);

/// `git status --short`'s two letters.
pub fn mark(status: Status) -> String {
    if status.is_conflicted() {
        return "UU".into();
    }
    if status.is_wt_new() {
        return "??".into();
    }
    if status.is_ignored() {
        return "!!".into();
    }
    let index = if status.is_index_new() {
        'A'
    } else if status.is_index_modified() {
        'M'
    } else if status.is_index_deleted() {
        'D'
    } else if status.is_index_renamed() {
        'R'
    } else if status.is_index_typechange() {
        'T'
    } else {
        ' '
    };
    let tree = if status.is_wt_modified() {
        'M'
    } else if status.is_wt_deleted() {
        'D'
    } else if status.is_wt_renamed() {
        'R'
    } else if status.is_wt_typechange() {
        'T'
    } else {
        ' '
    };
    [index, tree].iter().collect()
}

/// The marks of the entries of one directory (`None`: the project's own): a file's own mark,
/// and for a directory the mark of something changed inside it (`??` when all of it is new).
pub fn marks_in(
    repo: &Repository,
    dir: Option<&RelPath>,
) -> Result<BTreeMap<String, String>, ServiceError> {
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(false)
        .include_ignored(false);
    let prefix = dir.map(|d| format!("{d}/")).unwrap_or_default();
    if !prefix.is_empty() {
        options.pathspec(&prefix);
    }
    let statuses = repo
        .statuses(Some(&mut options))
        .map_err(|err| internal("read the status", &err))?;
    let mut marks = BTreeMap::new();
    for entry in statuses.iter() {
        let Some(rest) = entry.path().and_then(|p| p.strip_prefix(&prefix)) else {
            continue;
        };
        let (name, inside) = match rest.split_once('/') {
            Some((name, rest)) => (name, !rest.is_empty()),
            None => (rest, false),
        };
        let own = mark(entry.status());
        let shown = if inside && own != "??" {
            " M".to_owned()
        } else {
            own
        };
        marks.entry(name.to_owned()).or_insert(shown);
    }
    Ok(marks)
}

/// The working tree against the index, or (`staged`) the index against HEAD.
pub fn diff(
    repo: &Repository,
    path: Option<&RelPath>,
    staged: bool,
) -> Result<GitDiff, ServiceError> {
    let mut options = DiffOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .show_untracked_content(true)
        .disable_pathspec_match(true);
    if let Some(path) = path {
        options.pathspec(path.as_str());
    }
    let diff = if staged {
        let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
        repo.diff_tree_to_index(head.as_ref(), None, Some(&mut options))
    } else {
        repo.diff_index_to_workdir(None, Some(&mut options))
    }
    .map_err(|err| internal("compute the diff", &err))?;
    let mut files = Vec::new();
    let mut budget = MAX_PATCH;
    let deltas = diff.deltas().len();
    let mut truncated = deltas > MAX_STATUS;
    for index in 0..deltas.min(MAX_STATUS) {
        let Ok(Some(mut patch)) = git2::Patch::from_diff(&diff, index) else {
            continue;
        };
        let delta = patch.delta();
        let path = delta
            .new_file()
            .path()
            .or_else(|| delta.old_file().path())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let old_path = delta
            .old_file()
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|old| *old != path);
        let binary = delta.flags().is_binary();
        let (_, additions, deletions) = patch.line_stats().unwrap_or((0, 0, 0));
        let status = format!("{:?}", delta.status()).to_lowercase();
        let mut text = if binary {
            String::new()
        } else {
            patch
                .to_buf()
                .map(|buf| String::from_utf8_lossy(&buf).into_owned())
                .unwrap_or_default()
        };
        if text.len() > budget {
            let mut cut = budget;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            truncated = true;
        }
        budget -= text.len();
        files.push(FileDiff {
            path,
            old_path,
            status,
            binary,
            additions: additions as u64,
            deletions: deletions as u64,
            patch: text,
        });
    }
    Ok(GitDiff { files, truncated })
}

/// Commits from HEAD (or `branch`), newest first, optionally only those changing `path`.
pub fn log(
    repo: &Repository,
    branch: Option<&BranchName>,
    path: Option<&RelPath>,
    skip: usize,
    limit: usize,
) -> Result<Vec<Commit>, ServiceError> {
    let start = match branch {
        Some(name) => repo
            .find_branch(name.as_str(), BranchType::Local)
            .map_err(|_| ServiceError::not_found(format!("no branch {name}")))?
            .get()
            .target(),
        None => repo.head().ok().and_then(|h| h.target()),
    };
    let Some(start) = start else {
        return Ok(Vec::new());
    };
    let mut walk = repo
        .revwalk()
        .map_err(|err| internal("walk the history", &err))?;
    walk.set_sorting(git2::Sort::TIME)
        .and_then(|()| walk.push(start))
        .map_err(|err| internal("walk the history", &err))?;
    let mut commits = Vec::new();
    let mut skipped = 0;
    for oid in walk {
        let commit = oid
            .and_then(|oid| repo.find_commit(oid))
            .map_err(|err| internal("read a commit", &err))?;
        if let Some(path) = path
            && !touches(repo, &commit, path)
        {
            continue;
        }
        if skipped < skip {
            skipped += 1;
            continue;
        }
        commits.push(describe(&commit));
        if commits.len() == limit {
            break;
        }
    }
    Ok(commits)
}

/// Whether `commit` changed `path` (against its first parent).
fn touches(repo: &Repository, commit: &git2::Commit<'_>, path: &RelPath) -> bool {
    let tree = commit.tree().ok();
    let parent = commit.parent(0).ok().and_then(|p| p.tree().ok());
    let mut options = DiffOptions::new();
    options.pathspec(path.as_str());
    repo.diff_tree_to_tree(parent.as_ref(), tree.as_ref(), Some(&mut options))
        .map(|diff| diff.deltas().len() > 0)
        .unwrap_or(false)
}

pub fn describe(commit: &git2::Commit<'_>) -> Commit {
    let author = commit.author();
    Commit {
        id: commit.id().to_string(),
        summary: commit.summary().unwrap_or_default().to_owned(),
        message: commit.message().unwrap_or_default().to_owned(),
        author_name: author.name().unwrap_or_default().to_owned(),
        author_email: author.email().unwrap_or_default().to_owned(),
        time: DateTime::from_timestamp(commit.time().seconds(), 0).unwrap_or_default(),
        parents: commit.parent_ids().map(|id| id.to_string()).collect(),
    }
}

/// The current branch (`None` when detached) and HEAD's commit (`None` before the first).
pub fn head_of(repo: &Repository) -> (Option<String>, Option<String>) {
    match repo.head() {
        Ok(head) => (
            head.is_branch()
                .then(|| head.shorthand().map(str::to_owned))
                .flatten(),
            head.target().map(|id| id.to_string()),
        ),
        // An unborn branch: HEAD names it, nothing is committed yet.
        Err(_) => (
            repo.find_reference("HEAD")
                .ok()
                .and_then(|h| h.symbolic_target().map(str::to_owned))
                .and_then(|t| t.strip_prefix("refs/heads/").map(str::to_owned)),
            None,
        ),
    }
}

/// The last commit on HEAD.
pub fn last_commit(repo: &Repository) -> Option<Commit> {
    repo.head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| describe(&c))
}

pub fn branches(repo: &Repository) -> Result<Vec<Branch>, ServiceError> {
    let (current, _) = head_of(repo);
    let mut out = Vec::new();
    for branch in repo
        .branches(Some(BranchType::Local))
        .map_err(|err| internal("list branches", &err))?
    {
        let (branch, _) = branch.map_err(|err| internal("list branches", &err))?;
        let Some(name) = branch.name().ok().flatten().map(str::to_owned) else {
            continue;
        };
        out.push(Branch {
            current: current.as_deref() == Some(name.as_str()),
            head: branch.get().target().map(|id| id.to_string()),
            name,
        });
    }
    Ok(out)
}

pub fn create_branch(
    repo: &Repository,
    name: &BranchName,
    from: Option<&BranchName>,
) -> Result<Branch, ServiceError> {
    let commit = match from {
        Some(from) => repo
            .find_branch(from.as_str(), BranchType::Local)
            .map_err(|_| ServiceError::not_found(format!("no branch {from}")))?
            .get()
            .peel_to_commit(),
        None => repo.head().and_then(|h| h.peel_to_commit()),
    }
    .map_err(|_| {
        ServiceError::conflict("there is no commit to start a branch from; commit first")
    })?;
    let branch = repo
        .branch(name.as_str(), &commit, false)
        .map_err(|err| match err.code() {
            GitCode::Exists => ServiceError::conflict(format!("branch {name} exists")),
            _ => internal("create the branch", &err),
        })?;
    Ok(Branch {
        name: name.to_string(),
        current: false,
        head: branch.get().target().map(|id| id.to_string()),
    })
}

/// Switches to `name`; local changes it would overwrite are a `conflict` naming them, and
/// nothing changes.
pub fn checkout(repo: &Repository, name: &BranchName) -> Result<Branch, ServiceError> {
    let branch = repo
        .find_branch(name.as_str(), BranchType::Local)
        .map_err(|_| ServiceError::not_found(format!("no branch {name}")))?;
    let refname = branch
        .get()
        .name()
        .map(str::to_owned)
        .ok_or_else(|| ServiceError::validation("the branch name is not UTF-8"))?;
    let target = branch
        .get()
        .peel(git2::ObjectType::Commit)
        .map_err(|err| internal("read the branch", &err))?;
    checkout_safely(repo, &target, "switch branches")?;
    repo.set_head(&refname)
        .map_err(|err| internal("switch branches", &err))?;
    Ok(Branch {
        name: name.to_string(),
        current: true,
        head: target.as_commit().map(|c| c.id().to_string()),
    })
}

/// Checks `target` out without overwriting local changes: a conflict lists the files and
/// writes nothing (libgit2 finds every conflict before it writes).
pub fn checkout_safely(
    repo: &Repository,
    target: &git2::Object<'_>,
    doing: &str,
) -> Result<(), ServiceError> {
    let mut conflicts = Vec::new();
    let result = {
        let mut builder = git2::build::CheckoutBuilder::new();
        builder
            .safe()
            .notify_on(git2::CheckoutNotificationType::CONFLICT)
            .notify(|_, path, _, _, _| {
                if let Some(path) = path {
                    conflicts.push(path.to_string_lossy().into_owned());
                }
                true
            });
        repo.checkout_tree(target, Some(&mut builder))
    };
    match result {
        Ok(()) => Ok(()),
        Err(err) if err.class() == ErrorClass::Checkout || err.code() == GitCode::Conflict => {
            Err(conflict(
                &format!(
                    "cannot {doing}: local changes would be overwritten; commit or discard them first"
                ),
                conflicts,
            ))
        }
        Err(err) => Err(internal(doing, &err)),
    }
}

/// A `conflict` whose details list the files.
pub fn conflict(message: &str, files: Vec<String>) -> ServiceError {
    ServiceError::conflict(format!("{message}: {}", files.join(", ")))
        .with_details(serde_json::json!({ "files": files }))
}

/// Stages `paths` (or every change with `all`) and commits what is staged as `author`.
pub fn commit(
    repo: &Repository,
    message: &str,
    paths: &[RelPath],
    all: bool,
    author: &git2::Signature<'_>,
) -> Result<Commit, ServiceError> {
    let mut index = repo
        .index()
        .map_err(|err| internal("read the index", &err))?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| ServiceError::conflict("the repository has no working tree"))?
        .to_owned();
    let staged = if all {
        index
            .add_all(["*"], IndexAddOption::DEFAULT, None)
            .and_then(|()| index.update_all(["*"], None))
    } else {
        for path in paths {
            through_symlink(&workdir, path)?;
        }
        paths.iter().try_for_each(|path| {
            let on_disk = workdir.join(path.as_str()).symlink_metadata().is_ok();
            if on_disk {
                index.add_path(Path::new(path.as_str()))
            } else {
                index.remove_path(Path::new(path.as_str()))
            }
        })
    };
    staged.map_err(|err| match err.code() {
        GitCode::NotFound => ServiceError::not_found(format!("cannot stage: {}", err.message())),
        _ => ServiceError::validation(format!("cannot stage: {}", err.message())),
    })?;
    index
        .write()
        .map_err(|err| internal("write the index", &err))?;
    let tree_id = index
        .write_tree()
        .map_err(|err| internal("write the tree", &err))?;
    let tree = repo
        .find_tree(tree_id)
        .map_err(|err| internal("read the tree", &err))?;
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let unchanged = match &parent {
        Some(parent) => parent.tree_id() == tree_id,
        None => tree.is_empty(),
    };
    if unchanged {
        return Err(ServiceError::conflict(
            "nothing to commit: no staged changes",
        ));
    }
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let id = repo
        .commit(Some("HEAD"), author, author, message, &tree, &parents)
        .map_err(|err| internal("commit", &err))?;
    let commit = repo
        .find_commit(id)
        .map_err(|err| internal("read the commit", &err))?;
    Ok(describe(&commit))
}

/// Refuses a path whose directories include a symlink: libgit2 would read the file it leads to,
/// wherever that is, into the repository (and a push would send it away).
fn through_symlink(workdir: &Path, path: &RelPath) -> Result<(), ServiceError> {
    let mut at = workdir.to_owned();
    let parts: Vec<&str> = path.as_str().split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        at.push(part);
        if at
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return Err(ServiceError::validation(format!(
                "{path} goes through the symlink {part}; commit the link itself, not what it leads to"
            )));
        }
    }
    Ok(())
}

/// A commit author: the user's account name and email, at now.
pub fn signature(name: &str, email: &str) -> Result<git2::Signature<'static>, ServiceError> {
    git2::Signature::now(name, email).map_err(|err| {
        ServiceError::validation(format!(
            "cannot sign as {name} <{email}>: {}",
            err.message()
        ))
    })
}

pub(crate) fn internal(what: &str, err: &git2::Error) -> ServiceError {
    ServiceError::internal(format!("cannot {what}: {}", err.message()))
}
