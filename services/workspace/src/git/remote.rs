//! Clone, push and pull over https, with credentials given for one call.
//!
//! A remote URL is accepted only as `https://host/...` without credentials in it (local paths
//! and `file://` only when the deployment allows local remotes, which tests do); `ext::`,
//! `ssh://`, `git://` and the like never. Push and pull go to an anonymous remote made from
//! the URL for that call, so nothing is written to `.git/config`; credentials live in the
//! callback of that call only, are offered once (a refusal is not retried in a loop) and
//! never logged. Redirects are not followed to another host.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use bus::{ErrorCode, ServiceError};
use contracts::workspace::GitCredentials;
use git2::{
    AutotagOption, Cred, CredentialType, ErrorClass, ErrorCode as GitCode, FetchOptions,
    MergeAnalysis, PushOptions, RemoteCallbacks, RemoteRedirect, Repository,
};

use super::{checkout_safely, conflict, internal};

/// What a remote call may do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub allow_local: bool,
    pub timeout: Duration,
    /// Bytes a clone or fetch may bring (what is left of the owner's quota).
    pub max_bytes: u64,
}

/// Refuses a remote URL that is not `https://` (or, when allowed, local), or carries
/// credentials.
pub fn check_url(url: &str, allow_local: bool) -> Result<(), ServiceError> {
    let refuse = |why: &str| {
        Err(ServiceError::validation(format!(
            "remote {:?} {why}",
            url.chars().take(200).collect::<String>()
        )))
    };
    if url.len() > 2048 || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return refuse("is too long or contains spaces or control characters");
    }
    if url.starts_with('-') {
        return refuse("must not start with '-'");
    }
    if let Some(rest) = url.strip_prefix("https://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.is_empty() {
            return refuse("has no host");
        }
        if authority.contains('@') {
            return refuse("carries credentials; pass them with the call instead");
        }
        return Ok(());
    }
    if allow_local && (url.starts_with("file://") || url.starts_with('/')) {
        return Ok(());
    }
    refuse("is not an https:// URL (other transports are not allowed)")
}

/// Callbacks for one call: credentials offered once, a deadline, a size limit.
fn callbacks<'a>(
    credentials: Option<&'a GitCredentials>,
    limits: Limits,
    received: &'a std::cell::Cell<u64>,
) -> RemoteCallbacks<'a> {
    let deadline = Instant::now() + limits.timeout;
    let mut offered = false;
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |_, _, allowed| match credentials {
        Some(creds) if !offered && allowed.contains(CredentialType::USER_PASS_PLAINTEXT) => {
            offered = true;
            Cred::userpass_plaintext(&creds.username, creds.password.expose())
        }
        Some(_) if offered => Err(git2::Error::from_str("the remote refused the credentials")),
        _ => Err(git2::Error::from_str("the remote asks for credentials")),
    });
    callbacks.transfer_progress(move |progress| {
        received.set(progress.received_bytes() as u64);
        Instant::now() < deadline && (progress.received_bytes() as u64) <= limits.max_bytes
    });
    callbacks.sideband_progress(move |_| Instant::now() < deadline);
    callbacks
}

fn fetch_options<'a>(
    credentials: Option<&'a GitCredentials>,
    limits: Limits,
    received: &'a std::cell::Cell<u64>,
) -> FetchOptions<'a> {
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(callbacks(credentials, limits, received))
        .follow_redirects(RemoteRedirect::Initial)
        .download_tags(AutotagOption::None);
    options
}

/// What a failed remote call tells the caller (never the credentials).
fn remote_error(err: &git2::Error, limits: Limits, received: u64) -> ServiceError {
    let message = err.message();
    if message.contains("credentials") || err.code() == GitCode::Auth {
        return ServiceError::forbidden(format!("the remote refused: {message}"));
    }
    if err.code() == GitCode::User || err.class() == ErrorClass::Callback {
        if received > limits.max_bytes {
            return ServiceError::new(
                ErrorCode::QuotaExceeded,
                format!(
                    "the remote sends more than the {} bytes your quota has left",
                    limits.max_bytes
                ),
            );
        }
        return ServiceError::new(
            ErrorCode::Timeout,
            format!("the remote took longer than {:?}", limits.timeout),
        );
    }
    if err.code() == GitCode::NotFastForward {
        return ServiceError::conflict("the remote has commits this branch lacks; pull first");
    }
    match err.class() {
        ErrorClass::Net | ErrorClass::Http | ErrorClass::Ssl | ErrorClass::Os => ServiceError::new(
            ErrorCode::Unavailable,
            format!("cannot reach the remote: {message}"),
        ),
        _ => ServiceError::validation(format!("the remote call failed: {message}")),
    }
}

/// Clones `url` into `dir` (which must not exist).
pub fn clone(
    url: &str,
    dir: &Path,
    credentials: Option<&GitCredentials>,
    limits: Limits,
) -> Result<(), ServiceError> {
    check_url(url, limits.allow_local)?;
    let received = std::cell::Cell::new(0);
    let mut builder = git2::build::RepoBuilder::new();
    builder.fetch_options(fetch_options(credentials, limits, &received));
    builder
        .clone(url, dir)
        .map(drop)
        .map_err(|err| remote_error(&err, limits, received.get()))
}

/// Pushes `branch` to `url`.
pub fn push(
    repo: &Repository,
    url: &str,
    branch: &str,
    credentials: Option<&GitCredentials>,
    limits: Limits,
) -> Result<Option<String>, ServiceError> {
    check_url(url, limits.allow_local)?;
    let refname = format!("refs/heads/{branch}");
    let head = repo
        .find_reference(&refname)
        .map_err(|_| ServiceError::not_found(format!("no branch {branch} with commits to push")))?
        .target()
        .map(|id| id.to_string());
    let received = std::cell::Cell::new(0);
    let rejected = std::cell::RefCell::new(None::<String>);
    let result = {
        let mut cbs = callbacks(credentials, limits, &received);
        cbs.push_update_reference(|_, status| {
            if let Some(status) = status {
                *rejected.borrow_mut() = Some(status.to_owned());
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options
            .remote_callbacks(cbs)
            .follow_redirects(RemoteRedirect::Initial);
        let mut remote = repo
            .remote_anonymous(url)
            .map_err(|err| remote_error(&err, limits, 0))?;
        remote.push(&[format!("{refname}:{refname}")], Some(&mut options))
    };
    result.map_err(|err| remote_error(&err, limits, received.get()))?;
    if let Some(status) = rejected.into_inner() {
        return Err(ServiceError::conflict(format!(
            "the remote rejected the push ({status}); pull first"
        )));
    }
    Ok(head)
}

/// What a pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    UpToDate,
    FastForward,
    Merged,
}

impl Pulled {
    pub fn name(&self) -> &'static str {
        match self {
            Self::UpToDate => "up_to_date",
            Self::FastForward => "fast_forward",
            Self::Merged => "merged",
        }
    }
}

/// Fetches `branch` from `url`, then fast-forwards or merges it into the local branch (the
/// current one). Conflicting changes are a `conflict` listing the files, and change nothing.
pub fn pull(
    repo: &Repository,
    url: &str,
    branch: &str,
    credentials: Option<&GitCredentials>,
    author: &git2::Signature<'_>,
    limits: Limits,
) -> Result<(Pulled, Option<String>), ServiceError> {
    check_url(url, limits.allow_local)?;
    let tracking = format!("refs/remotes/origin/{branch}");
    let received = std::cell::Cell::new(0);
    {
        let mut remote = repo
            .remote_anonymous(url)
            .map_err(|err| remote_error(&err, limits, 0))?;
        let mut options = fetch_options(credentials, limits, &received);
        remote
            .fetch(
                &[format!("+refs/heads/{branch}:{tracking}")],
                Some(&mut options),
                None,
            )
            .map_err(|err| remote_error(&err, limits, received.get()))?;
    }
    let theirs_ref = repo
        .find_reference(&tracking)
        .map_err(|_| ServiceError::not_found(format!("the remote has no branch {branch}")))?;
    let theirs = repo
        .reference_to_annotated_commit(&theirs_ref)
        .map_err(|err| internal("read the fetched branch", &err))?;
    let local = format!("refs/heads/{branch}");
    let (analysis, _) = repo
        .merge_analysis_for_ref(
            &repo
                .find_reference("HEAD")
                .map_err(|err| internal("read HEAD", &err))?,
            &[&theirs],
        )
        .map_err(|err| internal("compare the branches", &err))?;
    let target = repo
        .find_object(theirs.id(), Some(git2::ObjectType::Commit))
        .map_err(|err| internal("read the fetched commit", &err))?;
    if analysis.contains(MergeAnalysis::ANALYSIS_UP_TO_DATE) {
        return Ok((Pulled::UpToDate, Some(theirs.id().to_string())));
    }
    if analysis.intersects(MergeAnalysis::ANALYSIS_FASTFORWARD | MergeAnalysis::ANALYSIS_UNBORN) {
        checkout_safely(repo, &target, "pull")?;
        repo.reference(&local, theirs.id(), true, "pull: fast-forward")
            .and_then(|_| repo.set_head(&local))
            .map_err(|err| internal("move the branch", &err))?;
        return Ok((Pulled::FastForward, Some(theirs.id().to_string())));
    }
    merge(repo, &local, branch, &theirs, author).map(|head| (Pulled::Merged, Some(head)))
}

/// Merges `theirs` into HEAD when the changes do not overlap, as a merge commit by `author`.
fn merge(
    repo: &Repository,
    local: &str,
    branch: &str,
    theirs: &git2::AnnotatedCommit<'_>,
    author: &git2::Signature<'_>,
) -> Result<String, ServiceError> {
    let ours = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(|err| internal("read HEAD", &err))?;
    let their_commit = repo
        .find_commit(theirs.id())
        .map_err(|err| internal("read the fetched commit", &err))?;
    let mut index = repo
        .merge_commits(&ours, &their_commit, None)
        .map_err(|err| internal("merge", &err))?;
    if index.has_conflicts() {
        let mut files: Vec<String> = index
            .conflicts()
            .map_err(|err| internal("read the conflicts", &err))?
            .filter_map(Result::ok)
            .filter_map(|c| c.our.or(c.their).or(c.ancestor))
            .map(|entry| String::from_utf8_lossy(&entry.path).into_owned())
            .collect();
        files.sort();
        files.dedup();
        return Err(conflict(
            "the remote changed the same lines as your commits; nothing was changed. Files",
            files,
        ));
    }
    let tree_id = index
        .write_tree_to(repo)
        .map_err(|err| internal("write the merged tree", &err))?;
    let tree = repo
        .find_tree(tree_id)
        .map_err(|err| internal("read the merged tree", &err))?;
    checkout_safely(repo, tree.as_object(), "pull")?;
    let message = format!("Merge remote branch '{branch}'");
    let id = repo
        .commit(
            Some(local),
            author,
            author,
            &message,
            &tree,
            &[&ours, &their_commit],
        )
        .map_err(|err| internal("commit the merge", &err))?;
    // The working tree and index now match the merge.
    let mut idx = repo
        .index()
        .map_err(|err| internal("read the index", &err))?;
    idx.read_tree(&tree)
        .and_then(|()| idx.write())
        .map_err(|err| internal("write the index", &err))?;
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_https_remotes_are_accepted() {
        assert!(check_url("https://example.org/me/strategies.git", false).is_ok());
        for bad in [
            "http://example.org/x.git",
            "ssh://git@example.org/x.git",
            "git@example.org:x.git",
            "ext::sh -c touch% /tmp/pwned",
            "file:///srv/x.git",
            "/srv/x.git",
            "https://user:token@example.org/x.git",
            "https://",
            "-uhttps://example.org",
            "https://example.org/x y",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("/srv/x.git", true).is_ok());
        assert!(check_url("ext::sh", true).is_err());
    }
}
