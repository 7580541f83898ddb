//! The input lines a session received, for `commands`: keystrokes are folded into lines the
//! way a line editor would see them (Backspace deletes, Ctrl-C and Ctrl-U drop the line,
//! escape sequences such as arrow keys are skipped), and Enter ends a line.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use contracts::terminal::CommandLine;

/// Lines kept per session; older ones are dropped.
const MAX_LINES: usize = 1000;
/// Bytes kept of one line.
const MAX_LINE: usize = 4096;

#[derive(Debug, Default)]
pub struct Lines {
    done: VecDeque<CommandLine>,
    current: Vec<u8>,
    escape: Escape,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Start,
    /// Inside `ESC [` … or `ESC O` …, until a final byte.
    Sequence,
}

impl Lines {
    pub fn feed(&mut self, input: &[u8], at: DateTime<Utc>) {
        for &byte in input {
            match self.escape {
                Escape::Start => {
                    self.escape = if byte == b'[' || byte == b'O' {
                        Escape::Sequence
                    } else {
                        Escape::None
                    };
                    continue;
                }
                Escape::Sequence => {
                    if (0x40..=0x7e).contains(&byte) {
                        self.escape = Escape::None;
                    }
                    continue;
                }
                Escape::None => {}
            }
            match byte {
                b'\r' | b'\n' => self.end_line(at),
                0x1b => self.escape = Escape::Start,
                0x7f | 0x08 => self.backspace(),
                // Ctrl-C, Ctrl-U: the line is abandoned.
                0x03 | 0x15 => self.current.clear(),
                byte if byte < 0x20 => {}
                byte if self.current.len() < MAX_LINE => self.current.push(byte),
                _ => {}
            }
        }
    }

    /// Removes the last character (all the bytes of a multi-byte one).
    fn backspace(&mut self) {
        while let Some(byte) = self.current.pop() {
            if byte & 0xC0 != 0x80 {
                break;
            }
        }
    }

    fn end_line(&mut self, at: DateTime<Utc>) {
        let line = String::from_utf8_lossy(&self.current).trim().to_owned();
        self.current.clear();
        if line.is_empty() {
            return;
        }
        if self.done.len() == MAX_LINES {
            self.done.pop_front();
        }
        self.done.push_back(CommandLine { at, line });
    }

    pub fn lines(&self) -> Vec<CommandLine> {
        self.done.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<String> {
        let mut lines = Lines::default();
        lines.feed(input, Utc::now());
        lines.lines().into_iter().map(|l| l.line).collect()
    }

    #[test]
    fn keystrokes_fold_into_lines() {
        assert_eq!(lines(b"ls -l\rcd x\n\r"), ["ls -l", "cd x"]);
        assert_eq!(lines(b"lss\x7f -a\r"), ["ls -a"]);
        assert_eq!(lines(b"rm -rf /\x03echo ok\r"), ["echo ok"]);
        assert_eq!(lines(b"e\x1b[Dcho\x1bOAhi\r"), ["echohi"]);
        assert_eq!(lines("caf\u{e9}\x7fe\r".as_bytes()), ["cafe"]);
    }

    #[test]
    fn only_the_newest_lines_are_kept() {
        let mut lines = Lines::default();
        for n in 0..MAX_LINES + 5 {
            lines.feed(format!("echo {n}\r").as_bytes(), Utc::now());
        }
        let kept = lines.lines();
        assert_eq!(kept.len(), MAX_LINES);
        assert_eq!(kept[0].line, "echo 5");
    }
}
