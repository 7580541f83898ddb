//! `bourse migrate`

use sqlx::{Connection, Executor, PgConnection};
use testkit::TestEnv;

use crate::helpers::{bourse, stdout_of};

#[tokio::test]
async fn migrate_creates_the_market_tables_and_the_streams() {
    let env = TestEnv::new().await;

    let out = stdout_of(bourse(&env).arg("migrate")).await;

    assert!(
        out.contains("market (schema market): applied 0001"),
        "{out}"
    );
    let mut db = PgConnection::connect(&env.database_url).await.unwrap();
    let symbols: i64 = sqlx::query_scalar("select count(*) from market.symbol")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(symbols > 0, "the seed symbols are there");
    let closes: i64 =
        sqlx::query_scalar("select count(*) from market.daily_close where symbol = 'AAPL'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert!(closes > 0);
    let bus = env.bus().await;
    for stream in bus::provision::STREAMS.iter().map(|(name, _)| *name) {
        bus.stream(stream)
            .await
            .unwrap_or_else(|err| panic!("{stream} was not provisioned: {err}"));
    }
    bus.bucket::<contracts::market::Quotes>()
        .await
        .expect("the quotes bucket was provisioned");
}

#[tokio::test]
async fn migrate_twice_says_up_to_date() {
    let env = TestEnv::new().await;
    stdout_of(bourse(&env).args(["migrate", "--no-streams"])).await;

    let out = stdout_of(bourse(&env).args(["migrate", "--no-streams"])).await;

    assert!(out.contains("market (schema market): up to date"), "{out}");
    assert!(
        !out.contains("streams ready"),
        "--no-streams leaves NATS alone: {out}"
    );
}

#[tokio::test]
async fn migrate_creates_the_database_when_it_is_missing() {
    let env = TestEnv::new().await;
    let name = format!("{}_fresh", env.database_url.rsplit('/').next().unwrap());
    let url = format!("{}/{name}", env.database_url.rsplit_once('/').unwrap().0);

    let out =
        stdout_of(bourse(&env).args(["migrate", "--no-streams", "--database-url", &url])).await;

    let exists = {
        let mut db = PgConnection::connect(&url).await.unwrap();
        let n: i64 = sqlx::query_scalar("select count(*) from market.symbol")
            .fetch_one(&mut db)
            .await
            .unwrap();
        db.close().await.unwrap();
        n > 0
    };
    let mut admin = PgConnection::connect(&env.database_url).await.unwrap();
    admin
        .execute(format!("drop database if exists {name} with (force)").as_str())
        .await
        .unwrap();
    assert!(
        out.contains(&format!("created database \"{name}\"")),
        "{out}"
    );
    assert!(exists);
}
