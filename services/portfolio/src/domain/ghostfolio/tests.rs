use contracts::portfolio::ActivitySource;
use rust_decimal_macros::dec;
use uuid::Uuid;

use super::*;

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

fn day(raw: &str) -> NaiveDate {
    raw.parse().unwrap()
}

#[test]
fn every_date_format_ghostfolio_reads() {
    for raw in [
        "01-09-2021",
        "01/09/2021",
        "01.09.2021",
        "2021-09-01",
        "20210901",
        "2021-09-01T00:00:00.000Z",
        "2021-09-01T00:00:00",
    ] {
        assert_eq!(parse_date(raw).unwrap(), day("2021-09-01"), "{raw}");
    }
    assert_eq!(parse_date("2021-13-01").unwrap_err().field, "date");
}

#[test]
fn csv_headers_in_any_case_and_with_every_alias() {
    let headers = [
        (
            "Date,Code,DataSource,Currency,Price,Quantity,Action,Fee,Note",
            "AAPL,YAHOO,USD,150,5,buy,1,first",
        ),
        (
            "date,symbol,ccy,unitprice,qty,type,commission,comment",
            "AAPL,USD,150,5,BUY,1,first",
        ),
        (
            "DATE,TICKER,CURRENCY,TRADEPRICE,SHARES,ACTION,FEE,NOTE",
            "AAPL,USD,150,5,Buy,1,first",
        ),
        (
            "Date,Code,Currency,Value,Units,Type,Fee,Comment",
            "AAPL,USD,150,5,buy,1,first",
        ),
    ];
    for (header, rest) in headers {
        let text = format!("{header}\n01-09-2021,{rest}\n");
        let activities = from_csv(&text, &usd()).unwrap_or_else(|err| panic!("{header}: {err}"));
        let [(at, activity)] = activities.as_slice() else {
            panic!("{header}")
        };
        assert_eq!(*at, Row::Line(2));
        assert_eq!(activity.kind, ActivityType::Buy, "{header}");
        assert_eq!(activity.symbol.as_ref().unwrap(), "AAPL");
        assert_eq!(
            (activity.quantity, activity.unit_price, activity.fee),
            (dec!(5), dec!(150), dec!(1))
        );
        assert_eq!(activity.date, day("2021-09-01"));
        assert_eq!(activity.note.as_ref().unwrap(), "first");
    }
}

#[test]
fn a_bad_row_is_refused_with_its_line_and_field() {
    let text = "Date,Code,Currency,Price,Quantity,Action,Fee\n\
                2021-09-01,AAPL,USD,150,5,buy,0\n\
                2021-09-02,AAPL,USD,abc,5,buy,0\n";
    let err = from_csv(text, &usd()).unwrap_err();
    assert!(
        matches!(
            err,
            PortfolioError::InvalidRow {
                at: Row::Line(3),
                field: "unit_price",
                ..
            }
        ),
        "{err:?}"
    );
    let text = "Date,Code,Currency,Price,Quantity,Action,Fee\n2021-09-01,AAPL,USD,150,5,split,0\n";
    assert!(matches!(
        from_csv(text, &usd()).unwrap_err(),
        PortfolioError::InvalidRow {
            at: Row::Line(2),
            field: "type",
            ..
        }
    ));
    let text = "Date,Code,Currency,Price,Quantity,Action,Fee\n31-02-2021,AAPL,USD,150,5,buy,0\n";
    assert!(matches!(
        from_csv(text, &usd()).unwrap_err(),
        PortfolioError::InvalidRow {
            at: Row::Line(2),
            field: "date",
            ..
        }
    ));
    let missing = "Code,Price\nAAPL,1\n";
    assert!(matches!(
        from_csv(missing, &usd()).unwrap_err(),
        PortfolioError::InvalidRow {
            at: Row::Line(1),
            field: "date",
            ..
        }
    ));
}

#[test]
fn a_fee_row_drops_its_symbol_and_a_row_without_currency_is_in_the_portfolios() {
    let text = "Date,Code,Price,Quantity,Action,Fee\n2021-09-01,ACCOUNT,0,0,fee,4.5\n2021-09-01,VOD.L,1,1,fee,0\n";
    let activities: Vec<NewActivity> = from_csv(text, &usd())
        .unwrap()
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    assert_eq!(activities[0].symbol, None);
    assert_eq!(activities[0].fee, dec!(4.5));
    assert_eq!(
        activities[1].fee,
        dec!(1),
        "quantity × price when the fee is 0"
    );
    assert_eq!(activities[0].currency, usd());
}

fn recorded(new: &NewActivity) -> Activity {
    Activity {
        id: Uuid::now_v7(),
        portfolio_id: Uuid::nil(),
        kind: new.kind,
        date: new.date,
        symbol: new.symbol.clone(),
        quantity: new.quantity,
        unit_price: new.unit_price,
        fee: new.fee,
        currency: new.currency.clone(),
        note: new.note.clone(),
        source: ActivitySource::Import,
        created_at: Utc::now(),
    }
}

fn sample() -> Vec<Activity> {
    let text = "Date,Code,Currency,Price,Quantity,Action,Fee,Note\n\
                2021-09-01,BRK.B,USD,0.1234567891,3.5,buy,1.25,\"with, comma\"\n\
                2021-09-02,BRK.B,USD,2,1,dividend,0,\n\
                2021-09-03,,USD,0,0,fee,0.99,custody\n\
                2021-09-04,BRK.B,USD,300.5,1.5,sell,0,\n";
    from_csv(text, &usd())
        .unwrap()
        .iter()
        .map(|(_, new)| recorded(new))
        .collect()
}

fn same(a: &[(Row, NewActivity)], b: &[Activity]) {
    assert_eq!(a.len(), b.len());
    let a: Vec<&NewActivity> = a.iter().map(|(_, new)| new).collect();
    for (new, old) in a.into_iter().zip(b) {
        assert_eq!(
            (new.kind, new.date, &new.symbol),
            (old.kind, old.date, &old.symbol)
        );
        assert_eq!(
            (new.quantity, new.unit_price, new.fee),
            (old.quantity, old.unit_price, old.fee)
        );
        assert_eq!((&new.currency, &new.note), (&old.currency, &old.note));
    }
}

#[test]
fn csv_export_reads_back_as_it_was() {
    let activities = sample();
    let text = to_csv(&activities).unwrap();
    assert!(
        text.starts_with("Date,Code,DataSource,Currency,Price,Quantity,Action,Fee,Note\n"),
        "{text}"
    );
    same(&from_csv(&text, &usd()).unwrap(), &activities);
}

#[test]
fn json_export_has_exact_numbers_and_reads_back_as_it_was() {
    let activities = sample();
    let text = to_json(&activities, Utc::now()).unwrap();
    assert!(text.contains("\"unitPrice\": 0.1234567891"), "{text}");
    assert!(text.contains("\"dataSource\": \"YAHOO\""), "{text}");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["activities"][0]["type"], "BUY");
    assert_eq!(value["activities"][2]["symbol"], serde_json::Value::Null);
    same(&from_json(&text, &usd()).unwrap(), &activities);
}

#[test]
fn a_bad_json_activity_is_refused_with_its_index() {
    let text = r#"{"activities":[
        {"type":"BUY","date":"2021-09-01","symbol":"AAPL","quantity":1,"unitPrice":1,"fee":0,"currency":"USD"},
        {"type":"BUY","date":"2021-09-01","symbol":"AAPL","quantity":"x","unitPrice":1,"fee":0,"currency":"USD"}
    ]}"#;
    assert!(matches!(
        from_json(text, &usd()).unwrap_err(),
        PortfolioError::InvalidRow {
            at: Row::Index(1),
            field: "quantity",
            ..
        }
    ));
    assert!(matches!(
        from_json("[]", &usd()).unwrap_err(),
        PortfolioError::Invalid {
            field: "content",
            ..
        }
    ));
}
