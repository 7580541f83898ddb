//! The workspace service's configuration: flags with environment fallbacks (this is `--help`).

use std::{path::PathBuf, time::Duration};

#[derive(Debug, Clone, clap::Args)]
#[group(id = "workspace")]
pub struct Config {
    /// The directory holding each user's workspace directory, `<root>/<user id>` (created on
    /// demand; the terminal and workspace services share it): terminal sessions start there
    /// and cannot leave it through `cwd`; projects are `<root>/<user id>/<name>`.
    #[arg(
        long,
        env = "BOURSE_WORKSPACE_ROOT",
        default_value = ".data/workspaces"
    )]
    pub workspace_root: PathBuf,
    /// Bytes one user's workspace directory may hold, `.git` included.
    #[arg(
        long,
        env = "BOURSE_WORKSPACE_QUOTA_BYTES",
        default_value_t = 1024 * 1024 * 1024
    )]
    pub workspace_quota_bytes: u64,
    /// Files (and directories) one user's workspace directory may hold.
    #[arg(long, env = "BOURSE_WORKSPACE_QUOTA_FILES", default_value_t = 200_000)]
    pub workspace_quota_files: u64,
    /// How long changes to a project's files settle before they are published as events.
    #[arg(long, env = "BOURSE_WORKSPACE_DEBOUNCE", default_value = "150ms", value_parser = humantime::parse_duration)]
    pub workspace_debounce: Duration,
    /// Allow git remotes that are local paths or `file://` URLs (tests and single-machine
    /// setups only): by default only `https://` remotes are accepted.
    #[arg(long, env = "BOURSE_WORKSPACE_ALLOW_LOCAL_REMOTES")]
    pub workspace_allow_local_remotes: bool,
    /// How long a clone, push or pull may take.
    #[arg(long, env = "BOURSE_WORKSPACE_GIT_TIMEOUT", default_value = "120s", value_parser = humantime::parse_duration)]
    pub workspace_git_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            workspace_root: PathBuf::from(".data/workspaces"),
            workspace_quota_bytes: 1024 * 1024 * 1024,
            workspace_quota_files: 200_000,
            workspace_debounce: Duration::from_millis(150),
            workspace_allow_local_remotes: false,
            workspace_git_timeout: Duration::from_secs(120),
        }
    }
}
