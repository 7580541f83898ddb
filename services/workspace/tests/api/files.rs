//! Files: listing with git marks, etags and stale writes, large files in chunks, directories,
//! moves, deletes, and the quota.

use bus::ErrorCode;
use contracts::workspace::{
    Bytes64, CHUNK, DeleteFile, EntryKind, FileView, GetFile, MakeDirectory, MoveFile, ReadFile,
    WriteFile,
};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, path};

#[tokio::test]
async fn a_directory_lists_kinds_sizes_and_git_marks_in_pages() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "list").await;
    app.write(user, project.id, "src/main.py", b"print(1)\n")
        .await;
    // Ignored by the template's .gitignore: listed without a mark.
    app.write(user, project.id, "data/cache.csv", b"d,c\n")
        .await;
    for i in 0..30 {
        app.write(user, project.id, &format!("prices/{i:03}.csv"), b"d,c\n")
            .await;
    }
    let listing = GetFile {
        project_id: project.id,
        path: None,
        offset: None,
        limit: None,
    };
    let FileView::Directory { entries, total, .. } = app.ok(user, &listing).await else {
        panic!("a listing");
    };
    assert_eq!(total, 5);
    let summary: Vec<_> = entries
        .iter()
        .map(|e| (e.name.as_str(), e.kind, e.git.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("data", EntryKind::Directory, None),
            ("prices", EntryKind::Directory, Some("??")),
            ("src", EntryKind::Directory, Some("??")),
            (".gitignore", EntryKind::File, Some("??")),
            ("README.md", EntryKind::File, Some("??")),
        ]
    );
    let page = GetFile {
        project_id: project.id,
        path: Some(path("prices")),
        offset: Some(10),
        limit: Some(5),
    };
    let FileView::Directory {
        entries,
        total,
        offset,
        ..
    } = app.ok(user, &page).await
    else {
        panic!("a listing");
    };
    assert_eq!((total, offset), (30, 10));
    let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["010.csv", "011.csv", "012.csv", "013.csv", "014.csv"]
    );
    assert_eq!(entries[0].size, 4);

    let bad = GetFile {
        limit: Some(0),
        ..page
    };
    assert_eq!(
        app.call(user, &bad).await.unwrap_err().code(),
        ErrorCode::ValidationFailed
    );
    let missing = GetFile {
        project_id: project.id,
        path: Some(path("nope")),
        offset: None,
        limit: None,
    };
    assert_eq!(
        app.call(user, &missing).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn a_write_with_a_stale_etag_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "edit").await;
    let first = app.write(user, project.id, "notes.md", b"one").await;
    assert!(first.text);
    let (read, _) = app.read(user, project.id, "notes.md").await;
    assert_eq!(read.etag, first.etag, "the etag is the content's");

    let update = |data: &[u8], if_match: Option<String>| WriteFile {
        project_id: project.id,
        path: path("notes.md"),
        data: Bytes64(data.to_vec()),
        if_match,
        create: false,
    };
    let second = app
        .ok(user, &update(b"two", Some(first.etag.clone())))
        .await;
    assert_ne!(second.etag, first.etag);
    let stale = app
        .call(user, &update(b"three", Some(first.etag.clone())))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), ErrorCode::PreconditionFailed, "{stale}");
    let (_, data) = app.read(user, project.id, "notes.md").await;
    assert_eq!(data, b"two");
    // Quoted, as HTTP sends it, is the same etag.
    app.ok(user, &update(b"four", Some(format!("\"{}\"", second.etag))))
        .await;

    let create = WriteFile {
        create: true,
        ..update(b"x", None)
    };
    assert_eq!(
        app.call(user, &create).await.unwrap_err().code(),
        ErrorCode::Conflict
    );
    let absent = WriteFile {
        path: path("never.md"),
        ..update(b"x", Some(first.etag))
    };
    assert_eq!(
        app.call(user, &absent).await.unwrap_err().code(),
        ErrorCode::PreconditionFailed
    );
    let too_big = update(&vec![0u8; CHUNK + 1], None);
    assert_eq!(
        app.call(user, &too_big).await.unwrap_err().code(),
        ErrorCode::PayloadTooLarge
    );
}

#[tokio::test]
async fn a_20_mb_file_goes_up_and_comes_back_in_chunks_unchanged() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "big").await;
    let data: Vec<u8> = (0..20 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let meta = app
        .upload(user, project.id, "models/weights.bin", &data)
        .await
        .unwrap();
    assert_eq!(meta.size, data.len() as u64);
    assert!(!meta.text, "binary");
    let (read, back) = app.read(user, project.id, "models/weights.bin").await;
    assert_eq!(read.etag, meta.etag);
    assert_eq!(Sha256::digest(&back), Sha256::digest(&data));

    // A file changing between two chunks fails the read rather than mixing versions.
    app.write(user, project.id, "models/weights.bin", b"small now")
        .await;
    let next = ReadFile {
        project_id: project.id,
        path: path("models/weights.bin"),
        offset: CHUNK as u64,
        version: read.version,
    };
    assert_eq!(
        app.call(user, &next).await.unwrap_err().code(),
        ErrorCode::Conflict
    );

    // An upload that does not add up is refused; one over 20 MB cannot be staged.
    let short = app
        .upload(user, project.id, "x.bin", &data[..CHUNK])
        .await
        .unwrap();
    assert_eq!(short.size, CHUNK as u64);
    let commit = contracts::workspace::CommitUpload {
        project_id: project.id,
        upload_id: uuid::Uuid::now_v7(),
        path: path("y.bin"),
        size: 10,
        if_match: None,
        create: false,
    };
    assert_eq!(
        app.call(user, &commit).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
    let over = contracts::workspace::UploadChunk {
        project_id: project.id,
        upload_id: uuid::Uuid::now_v7(),
        offset: 20 * 1024 * 1024,
        data: Bytes64(vec![1]),
    };
    assert_eq!(
        app.call(user, &over).await.unwrap_err().code(),
        ErrorCode::PayloadTooLarge
    );
    let names = app.names(user, project.id, None).await;
    assert!(!names.contains(&"y.bin".to_owned()));
}

#[tokio::test]
async fn directories_moves_and_deletes_do_what_they_say_and_refuse_the_rest() {
    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "tree").await;
    let id = project.id;
    app.ok(
        user,
        &MakeDirectory {
            project_id: id,
            path: path("a/b/c"),
        },
    )
    .await;
    let again = app
        .call(
            user,
            &MakeDirectory {
                project_id: id,
                path: path("a/b"),
            },
        )
        .await;
    assert_eq!(again.unwrap_err().code(), ErrorCode::Conflict);
    app.write(user, id, "a/b/c/f.txt", b"f").await;

    let file_under_file = WriteFile {
        project_id: id,
        path: path("a/b/c/f.txt/g.txt"),
        data: Bytes64(b"g".to_vec()),
        if_match: None,
        create: false,
    };
    let err = app.call(user, &file_under_file).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationFailed, "{err}");
    assert!(
        err.to_string().contains("is a file, not a directory"),
        "{err}"
    );

    let moved = MoveFile {
        project_id: id,
        from: path("a/b"),
        to: path("z"),
        overwrite: false,
    };
    app.ok(user, &moved).await;
    assert_eq!(app.read(user, id, "z/c/f.txt").await.1, b"f");
    let into_itself = MoveFile {
        project_id: id,
        from: path("z"),
        to: path("z/c/z"),
        overwrite: false,
    };
    assert_eq!(
        app.call(user, &into_itself).await.unwrap_err().code(),
        ErrorCode::ValidationFailed
    );
    app.write(user, id, "other.txt", b"o").await;
    let clash = MoveFile {
        project_id: id,
        from: path("other.txt"),
        to: path("z/c/f.txt"),
        overwrite: false,
    };
    assert_eq!(
        app.call(user, &clash).await.unwrap_err().code(),
        ErrorCode::Conflict
    );
    app.ok(
        user,
        &MoveFile {
            overwrite: true,
            ..clash
        },
    )
    .await;
    assert_eq!(app.read(user, id, "z/c/f.txt").await.1, b"o");

    let not_empty = DeleteFile {
        project_id: id,
        path: path("z"),
        recursive: false,
    };
    assert_eq!(
        app.call(user, &not_empty).await.unwrap_err().code(),
        ErrorCode::Conflict
    );
    app.ok(
        user,
        &DeleteFile {
            recursive: true,
            ..not_empty
        },
    )
    .await;
    assert!(!app.dir(user, &project).join("z").exists());
    let missing = DeleteFile {
        project_id: id,
        path: path("z"),
        recursive: true,
    };
    assert_eq!(
        app.call(user, &missing).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn the_quota_refuses_a_write_that_would_pass_it_and_keeps_the_old_file() {
    let app = TestApp::with(|config| {
        config.workspace_quota_bytes = 64 * 1024;
        config.workspace_quota_files = 40;
    })
    .await;
    let user = app.user("Ada").await;
    let project = app.project(user, "tight").await;
    app.write(user, project.id, "small.txt", b"ok").await;
    let err = app
        .upload(user, project.id, "small.txt", &[7u8; 100 * 1024])
        .await
        .unwrap_err();
    assert_eq!(err.code(), bus::ErrorCode::QuotaExceeded, "{err}");
    assert!(err.to_string().contains("quota"), "{err}");
    assert_eq!(app.read(user, project.id, "small.txt").await.1, b"ok");

    let mut refused = None;
    for i in 0..40 {
        let request = WriteFile {
            project_id: project.id,
            path: path(&format!("f{i}")),
            data: Bytes64(vec![]),
            if_match: None,
            create: false,
        };
        if let Err(err) = app.call(user, &request).await {
            refused = Some((i, err));
            break;
        }
    }
    let (count, err) = refused.expect("the file quota refuses a write");
    assert_eq!(err.code(), ErrorCode::QuotaExceeded);
    assert!(count > 5, "{count} files were allowed");
    let names = app.names(user, project.id, None).await;
    assert!(!names.contains(&format!("f{count}")));
}

#[tokio::test]
async fn if_match_takes_a_list_or_a_star_and_never_a_weak_tag_and_keeps_the_mode() {
    use std::os::unix::fs::PermissionsExt;

    let app = TestApp::new().await;
    let user = app.user("Ada").await;
    let project = app.project(user, "conditions").await;
    let first = app
        .write(user, project.id, "run.sh", b"#!/bin/sh\necho 1\n")
        .await;
    let script = app.dir(user, &project).join("run.sh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let write = |if_match: &str, data: &[u8]| WriteFile {
        project_id: project.id,
        path: path("run.sh"),
        data: Bytes64(data.to_vec()),
        if_match: Some(if_match.into()),
        create: false,
    };
    let weak = app
        .call(user, &write(&format!("W/\"{}\"", first.etag), b"x"))
        .await;
    assert_eq!(weak.unwrap_err().code(), ErrorCode::PreconditionFailed);
    let listed = format!("\"0000\", \"{}\"", first.etag);
    let second = app.ok(user, &write(&listed, b"#!/bin/sh\necho 2\n")).await;
    assert_eq!(
        std::fs::metadata(&script).unwrap().permissions().mode() & 0o777,
        0o755,
        "an atomic write keeps the file executable"
    );
    app.ok(user, &write("*", b"#!/bin/sh\necho 3\n")).await;
    let missing = WriteFile {
        path: path("absent.sh"),
        ..write("*", b"x")
    };
    assert_eq!(
        app.call(user, &missing).await.unwrap_err().code(),
        ErrorCode::PreconditionFailed
    );
    let stale = app.call(user, &write(&second.etag, b"x")).await;
    assert_eq!(stale.unwrap_err().code(), ErrorCode::PreconditionFailed);
}
