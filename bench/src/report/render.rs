//! The text output: the results table, the targets' verdicts, and the command that
//! reproduces the run.

use std::fmt::Write as _;

use super::{Row, Target};

/// The results table, one line per row, ratios to (a) at the same concurrency.
pub(crate) fn render_table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<36} {:>4} {:>9} {:>6} {:>9} {:>9} {:>9} {:>7} {:>10}\n",
        "scenario",
        "conc",
        "requests",
        "errors",
        "rps",
        "p50 us",
        "p99 us",
        "rps/(a)",
        "p50-(a) us"
    );
    for row in rows {
        let m = &row.measurement;
        let ratio = row
            .rps_ratio_to_a
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"));
        let delta = row
            .p50_delta_us_to_a
            .map_or_else(|| "-".to_owned(), |d| format!("{d:+.1}"));
        let _ = writeln!(
            out,
            "{:<36} {:>4} {:>9} {:>6} {:>9.0} {:>9.1} {:>9.1} {:>7} {:>10}",
            m.scenario.label(),
            m.concurrency,
            m.requests,
            m.errors,
            row.rps,
            m.p50_us,
            m.p99_us,
            ratio,
            delta
        );
    }
    for m in rows.iter().map(|r| &r.measurement) {
        if let Some(error) = &m.first_error {
            let _ = writeln!(
                out,
                "  {} @{}: first error: {error}",
                m.scenario.label(),
                m.concurrency
            );
        }
    }
    out
}

pub(crate) fn render_targets(targets: &[Target]) -> String {
    let mut out = String::new();
    for target in targets {
        let _ = writeln!(
            out,
            "{:<5} {:<45} {}",
            target.verdict.label(),
            target.name,
            target.detail
        );
    }
    out
}

/// The command that reproduces this run, arguments quoted for a POSIX shell.
pub(crate) fn reproduce_command(args: &[String]) -> String {
    let mut command = "cargo run --release -p bench --".to_owned();
    for arg in args {
        command.push(' ');
        command.push_str(&shell_quote(arg));
    }
    command
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{rows, tests::run};

    #[test]
    fn table_has_a_header_and_one_aligned_line_per_row() {
        let table = render_table(&rows(&run(50_000, 180.0)));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].starts_with("scenario"));
        assert!(
            lines
                .iter()
                .all(|l| l.chars().count() == lines[0].chars().count()),
            "{table}"
        );
        assert!(lines[2].contains("(c) GET /api/v1/stocks/AAPL/price"));
        assert!(lines[2].ends_with("0.40      +80.0"), "{}", lines[2]);
    }

    #[test]
    fn table_shows_the_first_error_under_the_rows() {
        let mut ms = run(50_000, 180.0);
        ms[1].errors = 1;
        ms[1].first_error = Some("timed out".into());
        assert!(
            render_table(&rows(&ms))
                .contains("(c) GET /api/v1/stocks/AAPL/price @1: first error: timed out")
        );
    }

    #[test]
    fn reproduce_command_quotes_what_the_shell_would_split() {
        let args = [
            "--duration".to_owned(),
            "3s".to_owned(),
            "--note".to_owned(),
            "it's big".to_owned(),
        ];
        assert_eq!(
            reproduce_command(&args),
            r"cargo run --release -p bench -- --duration 3s --note 'it'\''s big'"
        );
        assert_eq!(reproduce_command(&[]), "cargo run --release -p bench --");
    }
}
