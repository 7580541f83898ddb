//! Plain-text tables for the terminal (comfy-table without its terminal-size dependency: the
//! columns take the width their content needs).

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

/// A table with `header` over `rows`; cells may hold several lines.
pub(crate) fn render<I, R, C>(header: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = C>,
    C: Into<comfy_table::Cell>,
{
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

/// `key: value` lines of a map, sorted by key; `-` for an empty one.
pub(crate) fn key_values<'a>(map: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let mut pairs: Vec<_> = map.into_iter().collect();
    if pairs.is_empty() {
        return "-".to_owned();
    }
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn render_puts_every_cell_under_its_header() {
        let out = render(
            &["name", "instances"],
            [vec!["market".to_owned(), "2".to_owned()]],
        );
        let lines: Vec<&str> = out.lines().collect();
        let header = lines.iter().position(|l| l.contains("name")).unwrap();
        let row = lines.iter().position(|l| l.contains("market")).unwrap();
        assert!(header < row);
        // Columns line up: the value starts where its header does.
        assert_eq!(lines[header].find("instances"), lines[row].find('2'));
    }

    #[test]
    fn key_values_are_sorted_and_empty_shows_a_dash() {
        let map = HashMap::from([
            ("b".to_owned(), "2".to_owned()),
            ("a".to_owned(), "1".to_owned()),
        ]);
        assert_eq!(key_values(&map), "a: 1\nb: 2");
        assert_eq!(key_values(&HashMap::new()), "-");
    }
}
