# Builds the four Spin components and the migration runner, then packs them into
#   app     - the official Spin image running the marketplace
#   migrate - a slim image that applies migrations/sql and exits
#   dev     - Rust + Spin, for `spin watch` (docker compose -f ... -f compose.dev.yml)

ARG RUST_IMAGE=rust:1.95-bookworm
ARG SPIN_IMAGE=ghcr.io/spinframework/spin:v4.0.2

FROM ${SPIN_IMAGE} AS spin

FROM ${RUST_IMAGE} AS toolchain
RUN rustup target add wasm32-wasip2
WORKDIR /src

FROM toolchain AS build
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,id=marketplace-target \
    cargo build --locked --release --target wasm32-wasip2 -p pages -p items -p health -p accounts -p photos -p trading -p docs \
 && cargo build --locked --release -p migrations --features runner --bin migrate \
 && cargo build --locked --release -p mailer --bin mailer \
 && mkdir -p /out \
 && cp target/wasm32-wasip2/release/pages.wasm target/wasm32-wasip2/release/items.wasm \
       target/wasm32-wasip2/release/health.wasm target/wasm32-wasip2/release/accounts.wasm \
       target/wasm32-wasip2/release/photos.wasm target/wasm32-wasip2/release/trading.wasm target/wasm32-wasip2/release/docs.wasm \
       target/release/migrate target/release/mailer /out/

FROM debian:bookworm-slim AS migrate
COPY --from=build /out/migrate /usr/local/bin/migrate
USER nobody
ENTRYPOINT ["/usr/local/bin/migrate"]

# The email sender: delivers the outbox to an SMTP relay (mailer/). TLS to a relay uses
# the CA roots compiled into it, so the image needs nothing but the binary.
FROM debian:bookworm-slim AS mailer
COPY --from=build /out/mailer /usr/local/bin/mailer
USER nobody
ENTRYPOINT ["/usr/local/bin/mailer"]

FROM toolchain AS dev
COPY --from=spin /usr/local/bin/spin /usr/local/bin/spin
COPY docker/app-entrypoint.sh /usr/local/bin/app-entrypoint
# Not root: a user of its own owns the build directory and cargo's home (compose's
# named volumes start as copies of these, so they belong to it too).
RUN useradd --create-home --uid 1000 dev \
 && mkdir -p /src/target /home/dev/.cargo/registry \
 && chown -R dev:dev /src /home/dev/.cargo
ENV CARGO_HOME=/home/dev/.cargo
USER dev
ENTRYPOINT ["/usr/local/bin/app-entrypoint"]
CMD ["watch", "--", "--listen", "0.0.0.0:3000", "--runtime-config-file", "runtime-config.toml"]

FROM spin AS app
WORKDIR /app
COPY spin.toml runtime-config.toml ./
COPY --from=build /out/pages.wasm /out/items.wasm /out/health.wasm /out/accounts.wasm /out/photos.wasm /out/trading.wasm /out/docs.wasm \
     target/wasm32-wasip2/release/
COPY docker/app-entrypoint.sh /usr/local/bin/app-entrypoint
# Not root, and nothing written to disk: runtime-config.toml leaves Spin no state or log
# directory, and Wasmtime's compilation cache (under $HOME) is off, so every start
# compiles the four components (about a second).
USER 65532:65532
ENV DISABLE_WASMTIME_CACHE=true
EXPOSE 3000
# The image has no curl: ask readiness over bash's /dev/tcp.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=6 \
  CMD ["/usr/local/bin/app-entrypoint", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/app-entrypoint"]
CMD ["up", "--listen", "0.0.0.0:3000", "--runtime-config-file", "runtime-config.toml"]
