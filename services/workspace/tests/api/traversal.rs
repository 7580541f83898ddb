//! The sandbox: no path a client sends, and no symlink found in a project, reaches outside it;
//! the API never writes in `.git`. Each refusal is a clear error and touches nothing.

use std::{os::unix::fs::symlink, time::Duration};

use bus::{BusError, ErrorCode};
use contracts::workspace::{
    DeleteFile, FileView, GetFile, GetGitStatus, MakeDirectory, MoveFile, WriteFile,
};
use serde_json::json;

use crate::helpers::{TestApp, path, user_ctx};

async fn raw<R: contracts::Request>(
    app: &TestApp,
    user: uuid::Uuid,
    body: serde_json::Value,
) -> Result<R::Reply, BusError> {
    app.bus
        .request_body::<R>(&user_ctx(user), &body, Duration::from_secs(5))
        .await
}

#[tokio::test]
async fn paths_that_leave_the_project_or_enter_git_are_refused_before_anything_is_touched() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "safe").await;
    let outside = app.root.join(user.to_string());
    let before: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for attack in [
        "../escape.txt",
        "../../escape.txt",
        "a/../../escape.txt",
        "/etc/passwd",
        "/tmp/escape.txt",
        "a\0b",
        "..\\escape.txt",
        "a\\..\\..\\escape.txt",
        ".git/config",
        ".git/hooks/pre-commit",
        "sub/.git/config",
        "-rf",
        "",
    ] {
        let body = json!({ "project_id": project.id, "path": attack, "data": "cHduZWQ=" });
        let err = raw::<WriteFile>(&app, user, body).await.unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::ValidationFailed,
            "write {attack:?}: {err}"
        );
        assert!(err.to_string().contains("path"), "a clear message: {err}");
        let body = json!({ "project_id": project.id, "path": attack });
        let err = raw::<GetFile>(&app, user, body.clone()).await.unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::ValidationFailed,
            "read {attack:?}: {err}"
        );
        let err = raw::<MakeDirectory>(&app, user, body.clone())
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::ValidationFailed,
            "mkdir {attack:?}: {err}"
        );
        let err = raw::<DeleteFile>(&app, user, body).await.unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::ValidationFailed,
            "delete {attack:?}: {err}"
        );
        let body = json!({ "project_id": project.id, "from": "README.md", "to": attack });
        let err = raw::<MoveFile>(&app, user, body).await.unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::ValidationFailed,
            "move to {attack:?}: {err}"
        );
    }
    let after: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before, after, "nothing appeared beside the project");
    assert!(!std::path::Path::new("/tmp/escape.txt").exists());
    let config = std::fs::read_to_string(app.dir(user, &project).join(".git/config")).unwrap();
    assert!(!config.contains("pwned"));
    assert!(
        !app.dir(user, &project)
            .join(".git/hooks/pre-commit")
            .exists()
    );
}

#[tokio::test]
async fn symlinks_that_point_outside_are_never_followed() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "links").await;
    let dir = app.dir(user, &project);
    // Outside the project: a directory and a file of the test's own, and /etc.
    let outside = app
        .root
        .join(format!("outside-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "top secret").unwrap();
    symlink("/etc", dir.join("etc")).unwrap();
    symlink(&outside, dir.join("out")).unwrap();
    symlink(outside.join("secret.txt"), dir.join("secret.txt")).unwrap();
    symlink("../..", dir.join("up")).unwrap();
    symlink("README.md", dir.join("readme-link")).unwrap();

    for attack in [
        "etc/passwd",
        "etc",
        "out/secret.txt",
        "out",
        "secret.txt",
        "up",
        "up/etc/hostname",
    ] {
        let request = GetFile {
            project_id: project.id,
            path: Some(path(attack)),
            offset: None,
            limit: None,
        };
        let err = app.call(user, &request).await.unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::ValidationFailed,
            "read {attack}: {err}"
        );
        assert!(err.to_string().contains("outside"), "{err}");
        assert!(!err.to_string().contains("top secret") && !err.to_string().contains("root:"));
    }
    for attack in [
        "etc/bourse-escape",
        "out/new.txt",
        "up/escape.txt",
        "out/secret.txt",
    ] {
        let request = WriteFile {
            project_id: project.id,
            path: path(attack),
            data: contracts::workspace::Bytes64(b"pwned".to_vec()),
            if_match: None,
            create: false,
        };
        let err = app.call(user, &request).await.unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::ValidationFailed,
            "write {attack}: {err}"
        );
        let mkdir = MakeDirectory {
            project_id: project.id,
            path: path(&format!("{attack}-dir")),
        };
        assert!(app.call(user, &mkdir).await.is_err(), "mkdir {attack}");
    }
    let into = MoveFile {
        project_id: project.id,
        from: path("README.md"),
        to: path("out/README.md"),
        overwrite: false,
    };
    assert_eq!(
        app.call(user, &into).await.unwrap_err().code(),
        ErrorCode::ValidationFailed
    );
    assert!(
        dir.join("README.md").is_file(),
        "the refused move left the file"
    );

    // A symlink inside the project to a file inside it reads as that file.
    let (_, readme) = app.read(user, project.id, "readme-link").await;
    assert_eq!(readme, std::fs::read(dir.join("README.md")).unwrap());
    // Replacing the link to the outside file replaces the link, not the file it pointed to.
    app.write(user, project.id, "secret.txt", b"mine now").await;
    assert_eq!(
        std::fs::read_to_string(outside.join("secret.txt")).unwrap(),
        "top secret"
    );
    assert!(
        !dir.join("secret.txt")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // Deleting a link to a directory outside removes the link only.
    let delete = DeleteFile {
        project_id: project.id,
        path: path("out"),
        recursive: true,
    };
    app.ok(user, &delete).await;
    assert!(outside.join("secret.txt").is_file());
    assert!(!dir.join("out").exists());

    // The listing shows the links as links, and never what is behind them.
    let listing = GetFile {
        project_id: project.id,
        path: None,
        offset: None,
        limit: None,
    };
    let FileView::Directory { entries, .. } = app.ok(user, &listing).await else {
        panic!()
    };
    let etc = entries.iter().find(|e| e.name == "etc").unwrap();
    assert_eq!(etc.kind, contracts::workspace::EntryKind::Symlink);
    assert!(std::fs::metadata("/etc/bourse-escape").is_err());
    assert!(!outside.join("new.txt").exists());
    std::fs::remove_dir_all(&outside).unwrap();
}

#[tokio::test]
async fn a_git_directory_pointing_outside_the_project_is_not_used() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let victim = app.project(user, "victim").await;
    let attacker = app.project(user, "attacker").await;
    let dir = app.dir(user, &attacker);
    // What a terminal could do: make .git a file naming another repository.
    std::fs::remove_dir_all(dir.join(".git")).unwrap();
    let gitdir = app.dir(user, &victim).join(".git");
    std::fs::write(dir.join(".git"), format!("gitdir: {}\n", gitdir.display())).unwrap();
    let err = app
        .call(
            user,
            &GetGitStatus {
                project_id: attacker.id,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed, "{err}");
    assert!(err.to_string().contains("outside the project"), "{err}");
}

#[tokio::test]
async fn a_commit_cannot_reach_through_a_symlink_and_a_linked_project_is_not_followed() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "linked").await;
    let dir = app.dir(user, &project);
    symlink("/etc", dir.join("r")).unwrap();
    let commit = contracts::workspace::CommitChanges {
        project_id: project.id,
        message: "steal".into(),
        paths: vec![path("r/hostname")],
        all: false,
    };
    let err = app.call(user, &commit).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed, "{err}");
    assert!(err.to_string().contains("symlink"), "{err}");
    let status = app
        .ok(
            user,
            &GetGitStatus {
                project_id: project.id,
            },
        )
        .await;
    assert!(
        status.entries.iter().all(|e| !e.path.starts_with("r/")),
        "{status:?}"
    );

    // What a terminal could do: put a symlink to another project in the project's place.
    let other = app.project(user, "other").await;
    app.write(user, other.id, "private.txt", b"not yours").await;
    std::fs::remove_dir_all(&dir).unwrap();
    symlink(app.dir(user, &other), &dir).unwrap();
    let read = GetFile {
        project_id: project.id,
        path: Some(path("private.txt")),
        offset: None,
        limit: None,
    };
    let err = app.call(user, &read).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed, "{err}");
    let err = app
        .call(
            user,
            &GetGitStatus {
                project_id: project.id,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed, "{err}");
}

#[tokio::test]
async fn a_pipe_or_device_is_refused_at_once_rather_than_read() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "pipes").await;
    let fifo = app.dir(user, &project).join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    symlink("/dev/zero", app.dir(user, &project).join("zero")).unwrap();
    for name in ["fifo"] {
        let request = GetFile {
            project_id: project.id,
            path: Some(path(name)),
            offset: None,
            limit: None,
        };
        let answer = tokio::time::timeout(Duration::from_secs(5), app.call(user, &request))
            .await
            .expect("answered at once, not blocked on the pipe");
        let err = answer.unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed, "{name}: {err}");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
    let zero = GetFile {
        project_id: project.id,
        path: Some(path("zero")),
        offset: None,
        limit: None,
    };
    assert_eq!(
        app.call(user, &zero).await.unwrap_err().code(),
        ErrorCode::ValidationFailed
    );
}
