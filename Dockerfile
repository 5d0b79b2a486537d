# syntax=docker/dockerfile:1
#
# Circles API image.
#   docker build -t circles .
#   docker run --rm -p 8080:8080 -v circles-data:/app/data circles
#   docker run --rm -v circles-data:/app/data circles token --role admin
# Data (the SQLite database by default, generated secrets) lives in /app/data.
# For PostgreSQL pass -e DATABASE_URL=postgres://user:pass@host:5432/db; add
# ?sslmode=verify-full for TLS (rustls with built-in Mozilla roots), plus
# &sslrootcert=/app/data/ca.pem for a provider's own CA mounted into the container.

# ---- build ------------------------------------------------------------------
FROM rust:1-slim-bookworm AS builder
WORKDIR /src
COPY . .
# .cargo/config.toml comes along: it sets the bundled SQLite's build flags (LIBSQLITE3_FLAGS).
# The cache mounts only speed up rebuilds (BuildKit); the binary is copied out of
# the target directory inside the same step, so the result does not depend on them.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p circles-api \
    && install -m 0755 target/release/circles /usr/local/bin/circles

# ---- runtime ------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# ca-certificates for TLS to external services, curl for the HEALTHCHECK.
# Versions come from the pinned bookworm base image; pinning exact Debian
# revisions would break the build at every point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 circles \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin circles \
    && mkdir -p /app/data \
    && chown -R 10001:10001 /app

COPY --from=builder /usr/local/bin/circles /usr/local/bin/circles

WORKDIR /app
ENV CIRCLES_BIND=0.0.0.0:8080 \
    CIRCLES_DATA_DIR=/app/data \
    DATABASE_URL=sqlite:///app/data/circles.db?mode=rwc \
    RUST_LOG=info
VOLUME ["/app/data"]
USER 10001:10001
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]

ENTRYPOINT ["/usr/local/bin/circles"]
CMD ["serve"]
