//! The history rules on CSV text and on JSON closes.

use rust_decimal_macros::dec;

use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn close(y: i32, m: u32, d: u32, close: Decimal) -> DailyClose {
    DailyClose {
        date: date(y, m, d),
        close,
    }
}

fn bad_close(text: &str) -> CloseProblem {
    match parse_history_csv(&format!("date,close\n2024-01-02,{text}\n")) {
        Err(HistoryError::InvalidClose { at, problem, .. }) => {
            assert_eq!(at, RowRef::Line(2));
            problem
        }
        other => panic!("{text:?} gave {other:?}"),
    }
}

#[test]
fn a_well_formed_file_is_parsed_and_sorted_oldest_first() {
    let text = "date,close\n2024-01-03,188.5\n2024-01-02,187.12\n2024-01-04,0.000123\n";
    let closes = parse_history_csv(text).unwrap();
    assert_eq!(
        closes,
        vec![
            close(2024, 1, 2, dec!(187.12)),
            close(2024, 1, 3, dec!(188.5)),
            close(2024, 1, 4, dec!(0.000123)),
        ]
    );
}

#[test]
fn the_header_is_case_insensitive_and_trimmed() {
    let closes = parse_history_csv(" Date , CLOSE \n2024-01-02, 187.12 \n").unwrap();
    assert_eq!(closes, vec![close(2024, 1, 2, dec!(187.12))]);
}

#[test]
fn crlf_blank_lines_quotes_and_a_byte_order_mark_are_tolerated() {
    let text = "\u{feff}date,close\r\n\r\n\"2024-01-02\",\"187.12\"\r\n   \r\n2024-01-03,1\r\n";
    assert_eq!(parse_history_csv(text).unwrap().len(), 2);
}

#[test]
fn a_header_with_extra_columns_or_none_at_all_is_refused() {
    for text in [
        "date,close,volume\n2024-01-02,1,2\n",
        "2024-01-02,187.12\n",
        "close,date\n",
    ] {
        let error = parse_history_csv(text).unwrap_err();
        assert!(
            matches!(error, HistoryError::BadHeader { .. }),
            "{text:?}: {error:?}"
        );
    }
    let error = parse_history_csv("date,close,volume\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 1: the header must be `date,close`, found `date,close,volume`"
    );
}

#[test]
fn an_empty_file_or_a_header_alone_is_refused() {
    for text in ["", "\n\n", "\u{feff}", "date,close\n", "date,close\n\n  \n"] {
        assert_eq!(
            parse_history_csv(text),
            Err(HistoryError::Empty),
            "{text:?}"
        );
    }
}

#[test]
fn a_row_with_a_wrong_field_count_names_its_line() {
    let error = parse_history_csv("date,close\n2024-01-02,1\n2024-01-03,1,9\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 3: expected the 2 fields `date,close`, found 3"
    );
    let error = parse_history_csv("date,close\n2024-01-02\n").unwrap_err();
    assert_eq!(
        error,
        HistoryError::FieldCount {
            at: RowRef::Line(2),
            found: 1
        }
    );
}

#[test]
fn dates_must_be_real_iso_calendar_dates() {
    for bad in [
        "2024-13-01",
        "2024-02-30",
        "2024-5-3",
        "03/05/2024",
        "+2024-01-02",
        "x",
    ] {
        let text = format!("date,close\n2024-01-01,1\n{bad},1\n");
        assert_eq!(
            parse_history_csv(&text).unwrap_err().to_string(),
            format!("line 3: invalid date `{bad}`: use YYYY-MM-DD")
        );
    }
}

#[test]
fn closes_must_be_plain_positive_bounded_decimals() {
    for text in [
        "", "abc", "NaN", "inf", "1e5", "1_000", "\"1,5\"", ".5", "--1", "1.2.3",
    ] {
        assert_eq!(bad_close(text), CloseProblem::NotANumber, "{text:?}");
    }
    for text in ["0", "0.00", "-1", "-0.01"] {
        assert_eq!(bad_close(text), CloseProblem::NotPositive, "{text:?}");
    }
    assert_eq!(
        bad_close("1000000000000"),
        CloseProblem::TooManyIntegerDigits
    );
    assert_eq!(
        bad_close("99999999999999999999999999999999"),
        CloseProblem::TooManyIntegerDigits
    );
    assert_eq!(bad_close("1.123456789"), CloseProblem::TooManyDecimalPlaces);
    assert_eq!(
        bad_close("0.0000000000000000000000000000001"),
        CloseProblem::TooManyDecimalPlaces
    );
    let ok = parse_history_csv(
        "date,close\n2024-01-02,999999999999.12345678\n2024-01-03,+5.10000000000\n",
    );
    assert_eq!(ok.unwrap()[1].close, dec!(5.1));
}

#[test]
fn the_error_quotes_the_bad_value_and_its_line() {
    let error = parse_history_csv("date,close\n2024-01-02,1\n2024-01-03,-4.5\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 3: invalid close `-4.5`: a close must be greater than zero"
    );
    let long = "9".repeat(500);
    let error = parse_history_csv(&format!("date,close\n2024-01-02,{long}x\n")).unwrap_err();
    assert!(error.to_string().len() < 150, "{error}");
}

#[test]
fn a_date_given_twice_names_both_lines() {
    let text = "date,close\n2024-01-02,1\n2024-01-03,2\n2024-01-02,3\n";
    assert_eq!(
        parse_history_csv(text).unwrap_err().to_string(),
        "line 4: date 2024-01-02 appears twice (first at line 2)"
    );
}

#[test]
fn at_most_max_rows_are_accepted() {
    let max = ImportPriceHistory::MAX_ROWS;
    let mut text = String::from("date,close\n");
    let first = date(1950, 1, 1);
    for day in 0..max {
        text.push_str(&format!("{},1.5\n", first + chrono::Days::new(day as u64)));
    }
    assert_eq!(parse_history_csv(&text).unwrap().len(), max);
    text.push_str(&format!("{},1.5\n", first + chrono::Days::new(max as u64)));
    assert_eq!(
        parse_history_csv(&text),
        Err(HistoryError::TooManyRows { max })
    );
}

#[test]
fn arbitrary_input_is_an_error_never_a_panic() {
    let inputs = [
        "\"",
        "date,close\n\"",
        "date,close\n\"2024-01-02,1",
        "\0\0\0",
        "date,close\n\0,\0",
        "date,close\n,\n",
        "date,close\n,,,,\n",
        "ÄÖÜ,日本\n",
        "date;close\n2024-01-02;1",
        "date,close\n2024-01-02,1\n\"\"\"\"\n",
    ];
    for input in inputs {
        let _ = parse_history_csv(input);
    }
}

#[test]
fn json_closes_follow_the_same_rules() {
    let good = [close(2024, 1, 3, dec!(2)), close(2024, 1, 2, dec!(1))];
    assert_eq!(validate_closes(&good), Ok(()));
    assert_eq!(validate_closes(&[]), Err(HistoryError::Empty));

    let error = validate_closes(&[close(2024, 1, 2, dec!(1)), close(2024, 1, 3, dec!(0))]);
    assert_eq!(
        error.unwrap_err().to_string(),
        "closes[1]: invalid close `0`: a close must be greater than zero"
    );
    let error = validate_closes(&[close(2024, 1, 2, dec!(1)), close(2024, 1, 2, dec!(2))]);
    assert_eq!(
        error.unwrap_err().to_string(),
        "closes[1]: date 2024-01-02 appears twice (first at closes[0])"
    );
    let error = validate_closes(&[close(2024, 1, 2, dec!(0.123456789))]);
    assert!(matches!(
        error,
        Err(HistoryError::InvalidClose {
            problem: CloseProblem::TooManyDecimalPlaces,
            ..
        })
    ));
    let too_many = vec![close(2024, 1, 2, dec!(1)); ImportPriceHistory::MAX_ROWS + 1];
    assert!(matches!(
        validate_closes(&too_many),
        Err(HistoryError::TooManyRows { .. })
    ));
}
