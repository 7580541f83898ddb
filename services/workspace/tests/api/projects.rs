//! Projects: templates, the repository, rename, delete, stats, and another user's projects.

use bus::ErrorCode;
use contracts::workspace::{
    CheckoutBranch, CommitChanges, CreateBranch, CreateProject, DeleteFile, DeleteProject, GetFile,
    GetGitDiff, GetGitLog, GetGitStatus, GetProject, GetProjectStats, ListBranches, ListProjects,
    MakeDirectory, MoveFile, ProjectName, Pull, Push, ReadFile, Template, UpdateProject, WriteFile,
};

use crate::helpers::{TestApp, path};

#[tokio::test]
async fn a_project_starts_from_its_template_as_a_repository_on_main() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let request = CreateProject {
        name: ProjectName::parse("momentum").unwrap(),
        template: Some(Template::Strategy),
    };
    let project = app.ok(user, &request).await;
    assert_eq!(project.template, Some(Template::Strategy));
    let dir = app.dir(user, &project);
    let script = std::fs::read_to_string(dir.join("strategy.py")).unwrap();
    assert!(
        script.contains("/api/v1/stocks/"),
        "the starter reads prices from the API"
    );
    assert!(dir.join(".gitignore").is_file());
    let names = app.names(user, project.id, None).await;
    assert_eq!(
        names,
        [".gitignore", "README.md", "strategy.py"],
        ".git is not listed"
    );

    let status = app
        .ok(
            user,
            &GetGitStatus {
                project_id: project.id,
            },
        )
        .await;
    assert_eq!(status.branch.as_deref(), Some("main"));
    assert_eq!(status.head, None, "nothing committed yet");
    assert!(status.entries.iter().all(|e| e.mark == "??"), "{status:?}");

    let empty = app.project(user, "notes").await;
    assert_eq!(
        app.names(user, empty.id, None).await,
        [".gitignore", "README.md"]
    );
    let list = app.ok(user, &ListProjects {}).await;
    let names: Vec<_> = list.projects.iter().map(|p| p.name.to_string()).collect();
    assert_eq!(names, ["momentum", "notes"]);

    let again = app.call(user, &request).await.unwrap_err();
    assert_eq!(again.code(), ErrorCode::Conflict, "{again}");
}

#[tokio::test]
async fn a_name_taken_by_a_directory_made_elsewhere_is_refused_and_nothing_is_kept() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    std::fs::create_dir_all(app.root.join(user.to_string()).join("scratch")).unwrap();
    std::fs::write(
        app.root.join(user.to_string()).join("scratch/keep.txt"),
        "mine",
    )
    .unwrap();
    let request = CreateProject {
        name: ProjectName::parse("scratch").unwrap(),
        template: None,
    };
    let err = app.call(user, &request).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict, "{err}");
    assert!(app.ok(user, &ListProjects {}).await.projects.is_empty());
    let kept = std::fs::read_to_string(app.root.join(user.to_string()).join("scratch/keep.txt"));
    assert_eq!(kept.unwrap(), "mine", "the directory was left as it was");
    for bad in ["../x", ".hidden", "-rf", "a/b", ""] {
        let body = serde_json::json!({ "name": bad });
        let err = app
            .bus
            .request_body::<CreateProject>(
                &crate::helpers::user_ctx(user),
                &body,
                std::time::Duration::from_secs(5),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed, "{bad:?}: {err}");
    }
}

#[tokio::test]
async fn renaming_moves_the_directory_and_deleting_removes_it() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "draft").await;
    app.write(user, project.id, "a.txt", b"alpha").await;
    let old_dir = app.dir(user, &project);

    let renamed = app
        .ok(
            user,
            &UpdateProject {
                project_id: project.id,
                name: Some(ProjectName::parse("final").unwrap()),
                remote_url: Some(Some("https://example.org/me/final.git".into())),
            },
        )
        .await;
    assert_eq!(renamed.name.as_str(), "final");
    assert_eq!(
        renamed.remote_url.as_deref(),
        Some("https://example.org/me/final.git")
    );
    assert!(!old_dir.exists());
    let new_dir = app.dir(user, &renamed);
    assert_eq!(
        std::fs::read_to_string(new_dir.join("a.txt")).unwrap(),
        "alpha"
    );
    let (_, data) = app.read(user, project.id, "a.txt").await;
    assert_eq!(data, b"alpha");

    // (Local paths are allowed in tests; `git::remote`'s unit test refuses them by default.)
    for url in [
        "ext::sh -c id",
        "https://u:p@example.org/x.git",
        "git://example.org/x",
        "-oProxyCommand=x",
    ] {
        let change = UpdateProject {
            project_id: project.id,
            remote_url: Some(Some(url.into())),
            ..UpdateProject::default()
        };
        let err = app.call(user, &change).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed, "{url}: {err}");
    }
    let other = app.project(user, "other").await;
    let clash = UpdateProject {
        project_id: other.id,
        name: Some(ProjectName::parse("final").unwrap()),
        ..UpdateProject::default()
    };
    assert_eq!(
        app.call(user, &clash).await.unwrap_err().code(),
        ErrorCode::Conflict
    );
    assert!(
        app.dir(user, &other).is_dir(),
        "the refused rename moved nothing"
    );

    app.ok(
        user,
        &DeleteProject {
            project_id: project.id,
        },
    )
    .await;
    assert!(!new_dir.exists());
    let gone = app
        .call(
            user,
            &GetProject {
                project_id: project.id,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(gone.code(), ErrorCode::NotFound);
    let leftovers: Vec<_> = std::fs::read_dir(app.root.join(user.to_string()))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["other"], "no trash left behind");
}

#[tokio::test]
async fn stats_count_the_files_outside_git_and_the_last_commit() {
    let app = TestApp::new().await;
    let user = app.user("Ada Lovelace").await;
    let project = app.project(user, "stats").await;
    app.write(user, project.id, "data/prices.csv", &[b'x'; 1000])
        .await;
    let stats = app
        .ok(
            user,
            &GetProjectStats {
                project_id: project.id,
            },
        )
        .await;
    assert_eq!(stats.files, 3, "{stats:?}");
    let template: u64 = [".gitignore", "README.md"]
        .iter()
        .map(|f| {
            std::fs::metadata(app.dir(user, &project).join(f))
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(stats.bytes, 1000 + template);
    assert!(stats.last_commit.is_none());
    assert_eq!(stats.usage.max_bytes, 1024 * 1024 * 1024);
    assert!(
        stats.usage.bytes >= stats.bytes,
        "the quota counts .git too"
    );

    let commit = CommitChanges {
        project_id: project.id,
        message: "First prices".into(),
        paths: vec![],
        all: true,
    };
    let made = app.ok(user, &commit).await;
    let stats = app
        .ok(
            user,
            &GetProjectStats {
                project_id: project.id,
            },
        )
        .await;
    assert_eq!(stats.last_commit.unwrap().id, made.id);
}

#[tokio::test]
async fn another_users_project_is_not_found_on_every_request() {
    let app = TestApp::new().await;
    let owner = app.user("Owner").await;
    let intruder = app.user("Intruder").await;
    let project = app.project(owner, "secret").await;
    let meta = app.write(owner, project.id, "plan.txt", b"buy low").await;
    let id = project.id;
    let p = |raw| path(raw);

    macro_rules! refused {
        ($request:expr) => {{
            let err = app.call(intruder, &$request).await.unwrap_err();
            assert_eq!(
                err.code(),
                ErrorCode::NotFound,
                "{}: {err}",
                stringify!($request)
            );
            assert!(!err.to_string().contains("buy low"));
        }};
    }
    refused!(GetProject { project_id: id });
    refused!(GetProjectStats { project_id: id });
    refused!(UpdateProject {
        project_id: id,
        name: Some(ProjectName::parse("mine").unwrap()),
        remote_url: None
    });
    refused!(DeleteProject { project_id: id });
    refused!(GetFile {
        project_id: id,
        path: None,
        offset: None,
        limit: None
    });
    refused!(GetFile {
        project_id: id,
        path: Some(p("plan.txt")),
        offset: None,
        limit: None
    });
    refused!(ReadFile {
        project_id: id,
        path: p("plan.txt"),
        offset: 0,
        version: meta.version.clone()
    });
    refused!(WriteFile {
        project_id: id,
        path: p("plan.txt"),
        data: contracts::workspace::Bytes64(b"sell".to_vec()),
        if_match: None,
        create: false
    });
    refused!(MakeDirectory {
        project_id: id,
        path: p("x")
    });
    refused!(DeleteFile {
        project_id: id,
        path: p("plan.txt"),
        recursive: false
    });
    refused!(MoveFile {
        project_id: id,
        from: p("plan.txt"),
        to: p("stolen.txt"),
        overwrite: false
    });
    refused!(GetGitStatus { project_id: id });
    refused!(GetGitDiff {
        project_id: id,
        path: None,
        staged: false
    });
    refused!(GetGitLog {
        project_id: id,
        branch: None,
        path: None,
        limit: None,
        skip: None
    });
    refused!(ListBranches { project_id: id });
    refused!(CreateBranch {
        project_id: id,
        name: contracts::workspace::BranchName::parse("x").unwrap(),
        from: None
    });
    refused!(CheckoutBranch {
        project_id: id,
        name: contracts::workspace::BranchName::parse("main").unwrap()
    });
    refused!(CommitChanges {
        project_id: id,
        message: "mine".into(),
        paths: vec![],
        all: true
    });
    refused!(Push {
        project_id: id,
        branch: None,
        credentials: None
    });
    refused!(Pull {
        project_id: id,
        branch: None,
        credentials: None
    });
    assert!(app.ok(intruder, &ListProjects {}).await.projects.is_empty());
    let err = app
        .bus
        .request(&bus::RequestContext::new(), &ListProjects {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unauthorized);

    // Nothing the intruder asked changed anything.
    let (_, data) = app.read(owner, id, "plan.txt").await;
    assert_eq!(data, b"buy low");
    assert_eq!(
        app.ok(owner, &GetProject { project_id: id })
            .await
            .name
            .as_str(),
        "secret"
    );
}
