//! Ctrl-C and SIGTERM.
//!
//! [`Signals::install`] turns the first signal into a graceful shutdown (the token every
//! service's `run_until_stopped` watches) and a second one into "stop waiting".

use tokio::signal::unix::{SignalKind, signal as unix_signal};
use tokio_util::sync::CancellationToken;

/// Resolves on the next SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn signal() -> std::io::Result<()> {
    let mut terminate = unix_signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}

/// The two steps of shutting down.
#[derive(Debug, Clone)]
pub(crate) struct Signals {
    /// Cancelled on the first signal: stop taking work, finish what runs, exit.
    pub(crate) graceful: CancellationToken,
    /// Cancelled on the second signal: do not wait for the services any longer.
    pub(crate) force: CancellationToken,
}

impl Signals {
    /// Starts listening. From here on a signal no longer kills the process at once.
    pub(crate) fn install() -> Self {
        let signals = Self {
            graceful: CancellationToken::new(),
            force: CancellationToken::new(),
        };
        let tokens = signals.clone();
        tokio::spawn(async move {
            if let Err(err) = signal().await {
                eprintln!("cannot listen for Ctrl-C: {err}");
                return;
            }
            println!("\nshutting down (Ctrl-C again to stop waiting)");
            tokens.graceful.cancel();
            if signal().await.is_ok() {
                println!("not waiting any longer");
                tokens.force.cancel();
            }
        });
        signals
    }
}
