# syntax=docker/dockerfile:1
# The markimport image: one static binary on an empty base, run as a
# non-root user, needing no shell and no writable root file system (give it
# a writable folder for --temp-dir and any local output).
#
#   docker build -t markimport .
#   docker run --rm --read-only -v "$PWD:/data" --tmpfs /tmp markimport validate --input /data/marks.csv
#
# The build stamps the version and commit that `markimport --version`
# prints from the repository's git metadata, so the build context must be a
# git checkout (.git is sent; .dockerignore leaves out no file git tracks,
# so the stamp does not say "with changes not committed"). From a tree
# without .git: --build-arg BUILDVCS=false (the image then says "commit
# unknown").

ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS=linux
ARG TARGETARCH
ARG BUILDVCS=true
# The toolchain of the image, never one downloaded by a go line in go.mod.
ENV GOTOOLCHAIN=local GOFLAGS=-mod=readonly
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no libc, so it runs on an empty base), without the build's paths;
# optimised by cmd/markimport/default.pgo, which go build reads unasked.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=$BUILDVCS -ldflags='-s -w' -o /rootfs/markimport ./cmd/markimport
# The user the image runs as (numeric, so that runAsNonRoot can check it),
# and /tmp for a container started without a volume there (read-only with
# --read-only or readOnlyRootFilesystem: mount one, or pass --temp-dir).
RUN mkdir -p /rootfs/etc /rootfs/tmp && chmod 1777 /rootfs/tmp && \
    echo 'markimport:x:65532:65532:markimport:/nonexistent:/sbin/nologin' >/rootfs/etc/passwd && \
    echo 'markimport:x:65532:' >/rootfs/etc/group

FROM scratch
# TLS to the API and to object storage.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /rootfs/ /
USER 65532:65532
ENTRYPOINT ["/markimport"]
