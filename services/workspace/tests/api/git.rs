//! Git in a project: status, diff, commit as the user, log, branches, and a local bare
//! repository as the remote for push, pull (fast-forward, merge, conflict) and clone.

use std::path::{Path, PathBuf};

use bus::ErrorCode;
use contracts::workspace::{
    BranchName, CheckoutBranch, CloneProject, CommitChanges, CreateBranch, GetGitDiff, GetGitLog,
    GetGitStatus, GitCredentials, ListBranches, ProjectName, Pull, Push, UpdateProject,
    WorkspaceEventKind,
};
use git2::{Repository, Signature};

use crate::helpers::{TestApp, path};

fn commit_all(message: &str) -> impl Fn(uuid::Uuid) -> CommitChanges + '_ {
    move |project_id| CommitChanges {
        project_id,
        message: message.into(),
        paths: vec![],
        all: true,
    }
}

fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

/// A bare repository beside the users' directories: the remote.
fn bare(app: &TestApp) -> PathBuf {
    let dir = app
        .root
        .join(format!("remote-{}.git", uuid::Uuid::now_v7().simple()));
    let mut options = git2::RepositoryInitOptions::new();
    options.bare(true).initial_head("main");
    Repository::init_opts(&dir, &options).unwrap();
    dir
}

/// Someone else's clone of the remote: commits `files` and pushes them.
fn push_elsewhere(remote: &Path, files: &[(&str, &str)], message: &str) -> String {
    let work = remote.with_extension(format!("elsewhere-{}", uuid::Uuid::now_v7().simple()));
    let repo = Repository::clone(remote.to_str().unwrap(), &work).unwrap();
    for (name, content) in files {
        std::fs::write(work.join(name), content).unwrap();
    }
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::now("Grace", "grace@example.com").unwrap();
    let parent = repo.head().unwrap().peel_to_commit().unwrap();
    let id = repo
        .commit(Some("HEAD"), &sig, &sig, message, &tree, &[&parent])
        .unwrap();
    repo.find_remote("origin")
        .unwrap()
        .push(&["refs/heads/main:refs/heads/main"], None)
        .unwrap();
    std::fs::remove_dir_all(&work).unwrap();
    id.to_string()
}

#[tokio::test]
async fn status_diff_and_commits_are_the_users_and_run_no_hook() {
    let app = TestApp::new().await;
    let user = app.user("Ada Lovelace").await;
    let project = app.project(user, "algo").await;
    let id = project.id;
    let dir = app.dir(user, &project);
    app.write(user, id, "a.py", b"x = 1\n").await;
    app.write(user, id, "b.py", b"y = 2\n").await;
    // What a hostile repository could carry: a hook and an fsmonitor command.
    let marker = dir.with_extension("ran");
    let hook = dir.join(".git/hooks/pre-commit");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(&hook, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut config = Repository::open(&dir).unwrap().config().unwrap();
    config
        .set_str("core.fsmonitor", hook.to_str().unwrap())
        .unwrap();

    let status = app.ok(user, &GetGitStatus { project_id: id }).await;
    let marks: Vec<_> = status
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.mark.as_str()))
        .collect();
    assert_eq!(
        marks,
        [
            (".gitignore", "??"),
            ("README.md", "??"),
            ("a.py", "??"),
            ("b.py", "??")
        ]
    );
    let diff = app
        .ok(
            user,
            &GetGitDiff {
                project_id: id,
                path: Some(path("a.py")),
                staged: false,
            },
        )
        .await;
    assert_eq!(diff.files.len(), 1);
    assert!(
        diff.files[0].patch.contains("+x = 1"),
        "{:?}",
        diff.files[0]
    );

    let first = CommitChanges {
        project_id: id,
        message: "Add a".into(),
        paths: vec![path("a.py")],
        all: false,
    };
    let commit = app.ok(user, &first).await;
    assert_eq!(commit.author_name, "Ada Lovelace");
    assert!(
        commit.author_email.starts_with("ada.lovelace-"),
        "{}",
        commit.author_email
    );
    let status = app.ok(user, &GetGitStatus { project_id: id }).await;
    assert_eq!(status.head.as_deref(), Some(commit.id.as_str()));
    assert!(status.entries.iter().all(|e| e.path != "a.py"));

    app.write(user, id, "a.py", b"x = 10\n").await;
    let diff = app
        .ok(
            user,
            &GetGitDiff {
                project_id: id,
                path: None,
                staged: false,
            },
        )
        .await;
    let a = diff.files.iter().find(|f| f.path == "a.py").unwrap();
    assert!(
        a.patch.contains("-x = 1") && a.patch.contains("+x = 10"),
        "{a:?}"
    );
    assert_eq!((a.additions, a.deletions), (1, 1));
    let staged = app
        .ok(
            user,
            &GetGitDiff {
                project_id: id,
                path: None,
                staged: true,
            },
        )
        .await;
    assert!(staged.files.is_empty());

    let second = app.ok(user, &commit_all("Everything")(id)).await;
    assert_eq!(second.parents, std::slice::from_ref(&commit.id));
    let nothing = app.call(user, &commit_all("Again")(id)).await.unwrap_err();
    assert_eq!(nothing.code(), ErrorCode::Conflict);
    let empty_message = CommitChanges {
        message: "  ".into(),
        ..commit_all("x")(id)
    };
    assert_eq!(
        app.call(user, &empty_message).await.unwrap_err().code(),
        ErrorCode::ValidationFailed
    );

    let log = app
        .ok(
            user,
            &GetGitLog {
                project_id: id,
                branch: None,
                path: None,
                limit: None,
                skip: None,
            },
        )
        .await;
    let summaries: Vec<_> = log.commits.iter().map(|c| c.summary.as_str()).collect();
    assert_eq!(summaries, ["Everything", "Add a"]);
    let only_b = GetGitLog {
        project_id: id,
        branch: None,
        path: Some(path("b.py")),
        limit: None,
        skip: None,
    };
    assert_eq!(app.ok(user, &only_b).await.commits.len(), 1);
    assert!(!marker.exists(), "no hook and no fsmonitor ran");
}

#[tokio::test]
async fn a_checkout_that_would_lose_local_changes_is_refused_listing_them() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "branches").await;
    let id = project.id;
    app.write(user, id, "s.py", b"v1\n").await;
    app.ok(user, &commit_all("v1")(id)).await;
    let created = app
        .ok(
            user,
            &CreateBranch {
                project_id: id,
                name: branch("feature"),
                from: None,
            },
        )
        .await;
    assert!(!created.current);
    let dup = CreateBranch {
        project_id: id,
        name: branch("feature"),
        from: None,
    };
    assert_eq!(
        app.call(user, &dup).await.unwrap_err().code(),
        ErrorCode::Conflict
    );
    app.ok(
        user,
        &CheckoutBranch {
            project_id: id,
            name: branch("feature"),
        },
    )
    .await;
    app.write(user, id, "s.py", b"v2\n").await;
    app.ok(user, &commit_all("v2")(id)).await;
    app.ok(
        user,
        &CheckoutBranch {
            project_id: id,
            name: branch("main"),
        },
    )
    .await;
    assert_eq!(app.read(user, id, "s.py").await.1, b"v1\n");

    app.write(user, id, "s.py", b"local edit\n").await;
    let err = app
        .call(
            user,
            &CheckoutBranch {
                project_id: id,
                name: branch("feature"),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict, "{err}");
    assert!(err.to_string().contains("s.py"), "{err}");
    assert_eq!(
        app.read(user, id, "s.py").await.1,
        b"local edit\n",
        "nothing was overwritten"
    );
    let branches = app
        .ok(user, &ListBranches { project_id: id })
        .await
        .branches;
    let current: Vec<_> = branches
        .iter()
        .filter(|b| b.current)
        .map(|b| b.name.as_str())
        .collect();
    assert_eq!(current, ["main"]);
    let missing = CheckoutBranch {
        project_id: id,
        name: branch("nope"),
    };
    assert_eq!(
        app.call(user, &missing).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
    let option = serde_json::json!({ "project_id": id, "name": "--orphan" });
    let err = app
        .bus
        .request_body::<CheckoutBranch>(
            &crate::helpers::user_ctx(user),
            &option,
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed);
}

#[tokio::test]
async fn push_and_pull_against_a_remote_keep_credentials_out_of_the_repository() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "synced").await;
    let id = project.id;
    let remote = bare(&app);
    let mut events = app.events(id).await;

    let no_remote = app
        .call(
            user,
            &Push {
                project_id: id,
                branch: None,
                credentials: None,
            },
        )
        .await;
    assert_eq!(no_remote.unwrap_err().code(), ErrorCode::Conflict);
    let set = UpdateProject {
        project_id: id,
        remote_url: Some(Some(remote.to_str().unwrap().into())),
        ..UpdateProject::default()
    };
    app.ok(user, &set).await;
    app.write(user, id, "shared.txt", b"one\ntwo\nthree\n")
        .await;
    let commit = app.ok(user, &commit_all("Start")(id)).await;
    let credentials = GitCredentials {
        username: "ada".into(),
        password: "s3cret-token-value".into(),
    };
    let pushed = app
        .ok(
            user,
            &Push {
                project_id: id,
                branch: None,
                credentials: Some(credentials.clone()),
            },
        )
        .await;
    assert_eq!(
        (pushed.outcome.as_str(), pushed.head.as_deref()),
        ("pushed", Some(commit.id.as_str()))
    );
    let remote_head = Repository::open_bare(&remote)
        .unwrap()
        .refname_to_id("refs/heads/main")
        .unwrap();
    assert_eq!(remote_head.to_string(), commit.id);
    let config = std::fs::read_to_string(app.dir(user, &project).join(".git/config")).unwrap();
    assert!(
        !config.contains("s3cret") && !config.contains("[remote"),
        "{config}"
    );
    let seen = events
        .until(|e| matches!(e.kind, WorkspaceEventKind::Pushed { .. }))
        .await;
    assert!(seen.iter().any(
        |e| matches!(&e.kind, WorkspaceEventKind::Committed { commit: c, .. } if c.id == commit.id)
    ));

    // A commit made elsewhere arrives by fast-forward.
    let theirs = push_elsewhere(&remote, &[("theirs.txt", "from grace\n")], "Grace's file");
    let pulled = app
        .ok(
            user,
            &Pull {
                project_id: id,
                branch: None,
                credentials: None,
            },
        )
        .await;
    assert_eq!(
        (pulled.outcome.as_str(), pulled.head.as_deref()),
        ("fast_forward", Some(theirs.as_str()))
    );
    assert_eq!(app.read(user, id, "theirs.txt").await.1, b"from grace\n");
    events.until(|e| matches!(&e.kind, WorkspaceEventKind::Pulled { outcome, .. } if outcome == "fast_forward")).await;
    let again = app
        .ok(
            user,
            &Pull {
                project_id: id,
                branch: None,
                credentials: None,
            },
        )
        .await;
    assert_eq!(again.outcome, "up_to_date");

    // Changes to other lines on both sides merge.
    push_elsewhere(
        &remote,
        &[("theirs.txt", "from grace, again\n")],
        "Grace again",
    );
    app.write(user, id, "mine.txt", b"mine\n").await;
    app.ok(user, &commit_all("Mine")(id)).await;
    let rejected = app
        .call(
            user,
            &Push {
                project_id: id,
                branch: None,
                credentials: None,
            },
        )
        .await;
    assert_eq!(
        rejected.unwrap_err().code(),
        ErrorCode::Conflict,
        "the remote is ahead"
    );
    let merged = app
        .ok(
            user,
            &Pull {
                project_id: id,
                branch: None,
                credentials: None,
            },
        )
        .await;
    assert_eq!(merged.outcome, "merged");
    let log = app
        .ok(
            user,
            &GetGitLog {
                project_id: id,
                branch: None,
                path: None,
                limit: Some(1),
                skip: None,
            },
        )
        .await;
    assert_eq!(log.commits[0].parents.len(), 2);
    assert_eq!(
        app.read(user, id, "theirs.txt").await.1,
        b"from grace, again\n"
    );
    app.ok(
        user,
        &Push {
            project_id: id,
            branch: None,
            credentials: None,
        },
    )
    .await;

    // The same line changed on both sides: a conflict naming the file, and nothing changes.
    push_elsewhere(
        &remote,
        &[("shared.txt", "one\nTWO (grace)\nthree\n")],
        "Grace edits two",
    );
    app.write(user, id, "shared.txt", b"one\nTWO (ada)\nthree\n")
        .await;
    let head = app.ok(user, &commit_all("Ada edits two")(id)).await;
    let err = app
        .call(
            user,
            &Pull {
                project_id: id,
                branch: None,
                credentials: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict, "{err}");
    assert!(err.to_string().contains("shared.txt"), "{err}");
    assert_eq!(
        app.read(user, id, "shared.txt").await.1,
        b"one\nTWO (ada)\nthree\n"
    );
    let status = app.ok(user, &GetGitStatus { project_id: id }).await;
    assert_eq!(status.head.as_deref(), Some(head.id.as_str()));
    assert!(status.entries.is_empty(), "{status:?}");
}

#[tokio::test]
async fn clone_brings_a_repository_in_and_refuses_other_transports() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let remote = bare(&app);
    // The remote needs a first commit to clone anything.
    let seed = app.project(user, "seed").await;
    app.write(user, seed.id, "lib.py", b"def f(): pass\n").await;
    app.ok(user, &commit_all("Seed")(seed.id)).await;
    app.ok(
        user,
        &UpdateProject {
            project_id: seed.id,
            remote_url: Some(Some(remote.to_str().unwrap().into())),
            ..UpdateProject::default()
        },
    )
    .await;
    app.ok(
        user,
        &Push {
            project_id: seed.id,
            branch: None,
            credentials: None,
        },
    )
    .await;

    let request = CloneProject {
        name: ProjectName::parse("copy").unwrap(),
        url: remote.to_str().unwrap().into(),
        credentials: None,
    };
    let copy = app.ok(user, &request).await;
    assert_eq!(copy.remote_url.as_deref(), Some(remote.to_str().unwrap()));
    assert_eq!(
        app.read(user, copy.id, "lib.py").await.1,
        b"def f(): pass\n"
    );
    let log = app
        .ok(
            user,
            &GetGitLog {
                project_id: copy.id,
                branch: None,
                path: None,
                limit: None,
                skip: None,
            },
        )
        .await;
    assert_eq!(log.commits[0].summary, "Seed");

    for url in [
        "ext::sh -c touch% /tmp/bourse-pwned",
        "ssh://git@127.0.0.1/x.git",
        "http://127.0.0.1/x.git",
    ] {
        let bad = CloneProject {
            name: ProjectName::parse("bad").unwrap(),
            url: url.into(),
            credentials: None,
        };
        let err = app.call(user, &bad).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed, "{url}: {err}");
    }
    let down = CloneProject {
        name: ProjectName::parse("down").unwrap(),
        url: "https://127.0.0.1:9/nobody.git".into(),
        credentials: None,
    };
    let err = app.call(user, &down).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unavailable, "{err}");
    let names: Vec<_> = app
        .ok(user, &contracts::workspace::ListProjects {})
        .await
        .projects
        .into_iter()
        .map(|p| p.name.to_string())
        .collect();
    assert_eq!(names, ["copy", "seed"], "failed clones leave no project");
    let home: Vec<_> = std::fs::read_dir(app.root.join(user.to_string()))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(home.len(), 2, "and no directory: {home:?}");
    assert!(!Path::new("/tmp/bourse-pwned").exists());
}
