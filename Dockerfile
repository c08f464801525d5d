# qpsbench in a container: built from this checkout by the Rust image, run from a slim Debian
# with only the binary, as a non-root user. Build and try it: scripts/container.sh. Run in a
# Kubernetes Indexed Job: deploy/k8s/ and docs/distributed.md.
#
#   docker build -t qpsbench:0.1.0 .
#   docker run --rm qpsbench:0.1.0 --version
#   docker run --rm qpsbench:0.1.0 demo
#
# Both stages are Debian bookworm, so the binary's glibc is the one it runs with. TLS is
# rustls with its own roots: the final image needs no CA bundle or OpenSSL.

# The toolchain qpsbench is tested with (edition 2024 needs 1.85 or later).
ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /src
# The dependencies first, in a layer of their own: a change to src/ does not download them
# again. Cargo reads a manifest only with its targets present: empty ones stand in for them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs benches/engine.rs \
    && cargo fetch --locked \
    && rm -r src benches
COPY . .
RUN cargo build --release --locked --bin qpsbench \
    && install -m 0755 target/release/qpsbench /usr/local/bin/qpsbench

FROM ${RUNTIME_IMAGE}
ARG RUNTIME_IMAGE
# scripts/container.sh sets both; Cargo.toml names no licence or repository to label with.
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="qpsbench" \
      org.opencontainers.image.description="HTTP load generator: how many requests per second a service sustains, with exact percentiles, LLM streaming metrics and mergeable reports" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
COPY --from=build /usr/local/bin/qpsbench /usr/local/bin/qpsbench
# A numeric user, so that Kubernetes' runAsNonRoot can check it without a passwd lookup.
# Reports go to the working directory or a mounted volume (/reports in deploy/k8s/job.yaml).
RUN groupadd --gid 10001 qpsbench \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /work --shell /usr/sbin/nologin qpsbench \
    && mkdir -p /work /reports \
    && chown 10001:10001 /work /reports
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/qpsbench"]
CMD ["--help"]
