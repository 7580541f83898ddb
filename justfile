# Bourse tasks. `just` lists them.

default:
    @just --list

# Run the whole system: gateway + every service, NATS and Postgres started if needed.
dev *ARGS:
    cargo run -p bourse -- dev {{ARGS}}

# The test suite (needs NATS with JetStream and PostgreSQL on localhost; .ci/run starts them).
test:
    cargo test --workspace

# Everything CI checks: fmt, clippy, schemas/ and .sqlx/ freshness, tests.
ci:
    bash .ci/run

# Benchmarks: raw NATS vs market over NATS vs the gateway over HTTP, and idle RSS.
bench *ARGS:
    cargo build --release -p bourse
    cargo run --release -p bench -- {{ARGS}}

# Regenerate schemas/ from crates/contracts.
schemas:
    cargo run -p contracts --bin export-schemas

# Regenerate .sqlx/ after changing a query (needs a migrated database; see .ci/run).
sqlx-prepare DATABASE_URL="postgres://postgres@127.0.0.1:5432/bourse":
    cargo run -p bourse -- migrate --database-url {{DATABASE_URL}} --no-streams
    DATABASE_URL={{DATABASE_URL}} cargo sqlx prepare --workspace

fmt:
    cargo fmt --all

lint:
    cargo clippy --workspace --all-targets -- -D warnings
