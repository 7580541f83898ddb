//! Writes `schemas/` from the contract types; `--check` fails instead when it is stale.

use std::{fs, path::PathBuf, process::ExitCode};

fn main() -> ExitCode {
    let check = std::env::args().any(|arg| arg == "--check");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let expected = contracts::schema::all();
    let mut stale = Vec::new();

    let present: Vec<String> = fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    for name in &present {
        if !expected.contains_key(name) {
            stale.push(format!("{name}: no contract type produces it"));
            if !check && let Err(err) = fs::remove_file(dir.join(name)) {
                eprintln!("cannot remove schemas/{name}: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    for (name, text) in &expected {
        let path = dir.join(name);
        if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(format!("{name}: missing or out of date"));
            if !check
                && let Err(err) = fs::create_dir_all(&dir).and_then(|()| fs::write(&path, text))
            {
                eprintln!("cannot write schemas/{name}: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    if check && !stale.is_empty() {
        eprintln!("schemas/ is stale; run `cargo run -p contracts --bin export-schemas`:");
        for line in stale {
            eprintln!("  {line}");
        }
        return ExitCode::FAILURE;
    }
    println!(
        "schemas/: {} files, {} updated",
        expected.len(),
        if check { 0 } else { stale.len() }
    );
    ExitCode::SUCCESS
}
