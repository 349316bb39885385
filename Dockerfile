# One image for every service of the suite: `qiancheng serve <service>` picks the service.
# Protos build with protox inside cargo, so no protoc is installed.
FROM rust:1.90-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p qiancheng

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/qiancheng --create-home qiancheng
COPY --from=build /src/target/release/qiancheng /usr/local/bin/qiancheng
USER qiancheng
WORKDIR /var/lib/qiancheng
ENV QIANCHENG_LOG_FORMAT=json \
    QIANCHENG_BIND_ADDR=0.0.0.0:50051
EXPOSE 50051
ENTRYPOINT ["/usr/local/bin/qiancheng"]
CMD ["--help"]
