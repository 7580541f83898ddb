//! A PTY and the child on it (portable-pty), driven from async code.
//!
//! portable-pty's reader and writer block, so each session has two small threads: the reader
//! drains the PTY into a channel whether or not anyone listens (the child never waits for a
//! client), and the writer takes input from a channel (a child that stops reading its input
//! blocks only its own writer). The slave is dropped right after the spawn, so the reader sees
//! the end of the output once the child and whatever it started have closed the terminal.

use std::{
    io::{Read, Write},
    path::PathBuf,
    sync::Mutex,
};

use anyhow::Context;
use bytes::Bytes;
use nix::{
    sys::signal::{Signal, kill},
    unistd::{Pid, getsid},
};
use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use tokio::sync::{mpsc, oneshot};

/// Bytes one read takes at most (a PTY hands out at most a few KiB at a time).
const READ_BUFFER: usize = 16 * 1024;
/// Chunks read and not yet taken by the session (at most 1 MiB): past this the reader waits,
/// which it does only while an attached client paces the output.
const READ_QUEUE: usize = 64;
/// The stack of the reader and writer threads: they only copy bytes.
const THREAD_STACK: usize = 128 * 1024;

/// What to start.
#[derive(Debug, Clone)]
pub struct Spawn {
    /// Program and arguments.
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// The child's whole environment.
    pub env: Vec<(String, String)>,
    pub cols: u16,
    pub rows: u16,
}

/// Input for the writer thread, answered once written.
type Input = (Vec<u8>, oneshot::Sender<std::io::Result<()>>);

/// A running PTY.
pub struct Pty {
    master: Mutex<Box<dyn MasterPty + Send>>,
    child: Mutex<Box<dyn Child + Send + Sync>>,
    pid: Pid,
    input: mpsc::Sender<Input>,
}

impl std::fmt::Debug for Pty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pty").field("pid", &self.pid).finish()
    }
}

/// How the child ended: its exit code, 128 + n for signal n (as shells report it).
pub type ExitCode = i32;

impl Pty {
    /// Starts `spawn` on a new PTY; the returned receiver yields its output until the terminal
    /// is closed by every process on it.
    pub fn spawn(spawn: &Spawn) -> anyhow::Result<(Self, mpsc::Receiver<Bytes>)> {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: spawn.rows,
                cols: spawn.cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .context("cannot open a PTY")?;
        let (program, args) = spawn.argv.split_first().context("no program to start")?;
        let mut command = CommandBuilder::new(program);
        command.args(args);
        command.env_clear();
        for (name, value) in &spawn.env {
            command.env(name, value);
        }
        command.cwd(&spawn.cwd);
        let child = pair
            .slave
            .spawn_command(command)
            .with_context(|| format!("cannot start {program}"))?;
        drop(pair.slave);
        let pid = child
            .process_id()
            .and_then(|pid| i32::try_from(pid).ok())
            .map(Pid::from_raw)
            .context("the child has no process id")?;
        let reader = pair.master.try_clone_reader().context("PTY reader")?;
        let writer = pair.master.take_writer().context("PTY writer")?;
        let (output_tx, output) = mpsc::channel(READ_QUEUE);
        std::thread::Builder::new()
            .name("pty-read".into())
            .stack_size(THREAD_STACK)
            .spawn(move || read_loop(reader, &output_tx))
            .context("cannot start the PTY reader")?;
        let (input, input_rx) = mpsc::channel(16);
        std::thread::Builder::new()
            .name("pty-write".into())
            .stack_size(THREAD_STACK)
            .spawn(move || write_loop(writer, input_rx))
            .context("cannot start the PTY writer")?;
        Ok((
            Self {
                master: Mutex::new(pair.master),
                child: Mutex::new(child),
                pid,
                input,
            },
            output,
        ))
    }

    /// Writes `data` to the terminal, waiting until it is taken.
    pub async fn write(&self, data: Vec<u8>) -> std::io::Result<()> {
        let (done, written) = oneshot::channel();
        let gone = || std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the terminal is closed");
        self.input.send((data, done)).await.map_err(|_| gone())?;
        written.await.map_err(|_| gone())?
    }

    pub fn resize(&self, cols: u16, rows: u16) -> anyhow::Result<()> {
        let master = self
            .master
            .lock()
            .map_err(|_| anyhow::anyhow!("the PTY lock is poisoned"))?;
        master.resize(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
    }

    /// The child's exit code once it exited (reaping it), `None` while it runs; 128 + n for a
    /// child killed by signal n, as shells report it.
    pub fn try_exit(&self) -> Option<ExitCode> {
        use std::os::unix::process::ExitStatusExt;
        let mut child = self.child.lock().ok()?;
        // portable-pty's unix child is a `std::process::Child`, whose status keeps the signal
        // number (portable-pty's own status keeps only its name).
        let status = match (**child).as_any_mut().downcast_mut::<std::process::Child>() {
            Some(child) => child.try_wait().map(|status| {
                status.map(|status| {
                    status
                        .code()
                        .or_else(|| status.signal().map(|signal| 128 + signal))
                        .unwrap_or(128)
                })
            }),
            None => child.try_wait().map(|status| {
                status.map(|status| i32::try_from(status.exit_code()).unwrap_or(i32::MAX))
            }),
        };
        match status {
            Ok(code) => code,
            Err(err) => {
                tracing::warn!(pid = %self.pid, error = %err, "cannot ask whether a terminal's child exited");
                None
            }
        }
    }

    /// Sends `signal` to every process of the terminal's session (the child is a session
    /// leader: its shell's jobs, foreground or not, are in its session).
    pub fn signal_all(&self, signal: Signal) {
        for pid in session_members(self.pid) {
            if let Err(err) = kill(pid, signal) {
                tracing::debug!(%pid, ?signal, error = %err, "cannot signal a terminal process");
            }
        }
    }
}

/// The processes whose session is `leader`'s (the leader first, when it still runs).
fn session_members(leader: Pid) -> Vec<Pid> {
    let mut members = vec![leader];
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return members;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
            .map(Pid::from_raw)
        else {
            continue;
        };
        if pid != leader && getsid(Some(pid)) == Ok(leader) {
            members.push(pid);
        }
    }
    members
}

fn read_loop(mut reader: Box<dyn Read + Send>, output: &mpsc::Sender<Bytes>) {
    let mut buffer = vec![0u8; READ_BUFFER];
    loop {
        match reader.read(&mut buffer) {
            // Linux answers EIO once every process closed the terminal: that is its end.
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if output
                    .blocking_send(Bytes::copy_from_slice(&buffer[..n]))
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

fn write_loop(mut writer: Box<dyn Write + Send>, mut input: mpsc::Receiver<Input>) {
    while let Some((data, done)) = input.blocking_recv() {
        let result = writer.write_all(&data).and_then(|()| writer.flush());
        let _ = done.send(result);
    }
}
