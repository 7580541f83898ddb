# syntax=docker/dockerfile:1
#
# One image recipe for every Bourse binary. All three binaries are built once in the
# builder stage; the runtime stage's build argument BIN only picks the default command:
#
#     docker build --build-arg BIN=gateway -t bourse-gateway .
#     docker build --build-arg BIN=market  -t bourse-market .
#     docker build --build-arg BIN=identity -t bourse-identity .
#     docker build --build-arg BIN=bourse  -t bourse-cli .     # then: docker run bourse-cli bourse migrate
#
# Configuration is environment only (BOURSE_NATS_URL, BOURSE_DATABASE_URL, BOURSE_HTTP_ADDR,
# BOURSE_JWT_SECRET, BOURSE_STREAM_REPLICAS, BOURSE_SUBJECT_PREFIX, RUST_LOG); see compose.yaml.

FROM rust:1-bookworm AS builder
WORKDIR /src
# sqlx checks its queries against the committed .sqlx/ metadata instead of a live database.
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never
COPY . .
# The cargo registry and target/ are BuildKit caches, so target/ must be copied out in the same step.
# Binaries are selected by name (gateway: services/gateway, market: services/market, portfolio:
# services/portfolio, valuation: services/valuation, terminal: services/terminal, assistant: services/assistant, workspace: services/workspace,
# bourse: crates/cli).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin gateway --bin identity --bin market --bin portfolio --bin valuation --bin terminal --bin assistant --bin workspace --bin bourse \
 && mkdir -p /out \
 && cp target/release/gateway target/release/identity target/release/market target/release/portfolio target/release/valuation target/release/terminal target/release/assistant target/release/workspace target/release/bourse /out/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 bourse \
 && useradd --system --uid 10001 --gid bourse --home-dir /var/lib/bourse --no-create-home \
        --shell /usr/sbin/nologin bourse \
 && mkdir -p /var/lib/bourse \
 && chown bourse:bourse /var/lib/bourse
COPY --from=builder /out/ /usr/local/bin/
USER 10001:10001
# A writable working directory for the unprivileged user.
WORKDIR /var/lib/bourse

# Containers listen on every interface; the binaries' own default is 127.0.0.1:8080.
ENV BOURSE_HTTP_ADDR=0.0.0.0:8080 \
    RUST_LOG=info
EXPOSE 8080

# Declared last so that images for different binaries share every layer above.
ARG BIN=gateway
ENV BOURSE_BIN=${BIN}
# exec: the binary becomes PID 1 and receives SIGTERM from `docker stop` itself.
# Any command given at run time (e.g. `bourse migrate`) replaces this one.
CMD ["/bin/sh", "-c", "exec \"/usr/local/bin/${BOURSE_BIN}\""]
