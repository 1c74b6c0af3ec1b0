# Gleaner's image: built with the pinned toolchain (rust-toolchain.toml), run on a minimal
# glibc base without a shell or package manager.
#
#   docker build -t gleaner:0.1.0 .
#
# The image runs as the distroless `nonroot` user (65532). The sidecar and standalone modes
# keep that. The DaemonSet overrides it with runAsUser: 0 because container log files under
# /var/log/pods are root-owned with mode 0640; it drops every capability and keeps the root
# filesystem read-only (deploy/daemonset.yaml).
#
# inputs.journald runs journalctl: the image carries it, from Debian bookworm's systemd like
# the base, with the shared libraries it links (about 10 MB) and nothing else of systemd.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# A C compiler for the bundled SQLite (tail offsets); nothing else is needed.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked -p gleaner --bin gleaner \
 && strip target/release/gleaner

# journalctl and the libraries `ldd` names, each under its directory's real path (/usr/lib:
# bookworm's /lib is a link to it, and copying a /lib tree could replace the base's link);
# glibc (libc, libm, the loader) is the base image's own.
FROM debian:bookworm-slim AS journalctl
RUN apt-get update \
 && apt-get install -y --no-install-recommends systemd \
 && mkdir -p /out/usr/bin \
 && cp /usr/bin/journalctl /out/usr/bin/journalctl \
 && for lib in $(ldd /usr/bin/journalctl | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' \
                  | grep -v -e '/libc\.so' -e '/libm\.so' -e '/ld-linux'); do \
      dir="/out$(readlink -f "$(dirname "$lib")")"; mkdir -p "$dir"; cp -L "$lib" "$dir/"; \
    done \
 && test ! -e /out/lib \
 && rm -rf /var/lib/apt/lists/*

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/gleaner /usr/bin/gleaner
COPY --from=journalctl /out/ /
COPY configs/ /etc/gleaner/
USER 65532:65532
EXPOSE 8686
ENTRYPOINT ["/usr/bin/gleaner"]
CMD ["--config", "/etc/gleaner/local.toml"]
