//! The terminal service's configuration: flags with environment fallbacks (this is `--help`).

use std::{path::PathBuf, time::Duration};

#[derive(Debug, Clone, clap::Args)]
#[group(id = "terminal")]
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
    /// The commands a session may start, comma-separated; each is a program and fixed
    /// arguments (`python3 -q`). The first is the default. None: the login shell of the
    /// service's user.
    #[arg(long, env = "BOURSE_TERMINAL_COMMANDS", value_delimiter = ',')]
    pub terminal_commands: Vec<String>,
    /// Variables of the service's own environment every session gets (nothing else of it
    /// reaches a shell: no secret, no database URL).
    #[arg(
        long,
        env = "BOURSE_TERMINAL_ENV_PASS",
        value_delimiter = ',',
        default_value = "PATH,LANG,LC_ALL,TZ"
    )]
    pub terminal_env_pass: Vec<String>,
    /// Variables a client may set when it creates a session.
    #[arg(
        long,
        env = "BOURSE_TERMINAL_ENV_ALLOW",
        value_delimiter = ',',
        default_value = "LANG,LC_ALL,LC_CTYPE,TZ,EDITOR,VISUAL,PAGER,COLORTERM"
    )]
    pub terminal_env_allow: Vec<String>,
    /// Bytes of output each session keeps for clients that attach later.
    #[arg(long, env = "BOURSE_TERMINAL_SCROLLBACK", default_value_t = Config::SCROLLBACK)]
    pub terminal_scrollback: usize,
    /// Sessions one user may have (running or exited), over every instance.
    #[arg(long, env = "BOURSE_TERMINAL_MAX_PER_USER", default_value_t = 20)]
    pub terminal_max_per_user: u32,
    /// Sessions this instance holds at most.
    #[arg(long, env = "BOURSE_TERMINAL_MAX_PER_INSTANCE", default_value_t = 1000)]
    pub terminal_max_per_instance: u32,
    /// A session with no attached WebSocket and no output for this long is closed.
    #[arg(long, env = "BOURSE_TERMINAL_IDLE_TIMEOUT", default_value = "1h", value_parser = humantime::parse_duration)]
    pub terminal_idle_timeout: Duration,
    /// How long an exited session's scrollback stays readable.
    #[arg(long, env = "BOURSE_TERMINAL_EXITED_RETENTION", default_value = "10m", value_parser = humantime::parse_duration)]
    pub terminal_exited_retention: Duration,
    /// How long a closed session's processes get after SIGHUP before SIGKILL.
    #[arg(long, env = "BOURSE_TERMINAL_CLOSE_GRACE", default_value = "3s", value_parser = humantime::parse_duration)]
    pub terminal_close_grace: Duration,
}

impl Config {
    const SCROLLBACK: usize = 1 << 20;
}

impl Default for Config {
    /// The defaults of the flags: what tests and embedders start from.
    fn default() -> Self {
        Self {
            workspace_root: PathBuf::from(".data/workspaces"),
            terminal_commands: Vec::new(),
            terminal_env_pass: ["PATH", "LANG", "LC_ALL", "TZ"].map(String::from).to_vec(),
            terminal_env_allow: [
                "LANG",
                "LC_ALL",
                "LC_CTYPE",
                "TZ",
                "EDITOR",
                "VISUAL",
                "PAGER",
                "COLORTERM",
            ]
            .map(String::from)
            .to_vec(),
            terminal_scrollback: Self::SCROLLBACK,
            terminal_max_per_user: 20,
            terminal_max_per_instance: 1000,
            terminal_idle_timeout: Duration::from_secs(3600),
            terminal_exited_retention: Duration::from_secs(600),
            terminal_close_grace: Duration::from_secs(3),
        }
    }
}
