# cloudinfer operator image.
#
# The build needs no network besides the base image: the project and all its dependencies come
# from a wheelhouse built on the host by hack/wheelhouse.sh (`make image` runs it). The base is a
# build argument so that a locally built Debian image can stand in for python:3.11-slim-bookworm
# where no registry is reachable (hack/build-image.sh). It must be glibc >= 2.34 (bookworm or
# newer): the cryptography wheels are manylinux_2_34.
#
#   hack/wheelhouse.sh linux/amd64 linux/arm64
#   docker buildx build --platform linux/amd64,linux/arm64 -t cloudinfer:dev .
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
COPY dist/wheelhouse/ /wheelhouse/
# Only the project's own wheel is named; pip picks each dependency from the wheelhouse for this
# stage's architecture (the wheelhouse may hold several). pip and setuptools leave the venv: the
# operator does not use them at run time.
RUN python3 -m venv /opt/cloudinfer \
    && /opt/cloudinfer/bin/pip install --no-cache-dir --no-index --find-links=/wheelhouse \
        /wheelhouse/cloudinfer-*.whl \
    && /opt/cloudinfer/bin/pip uninstall --yes --quiet pip setuptools \
    && /opt/cloudinfer/bin/cloudinfer --version

FROM ${BASE}
# A passwd entry for the runtime UID: Python's getpass.getuser() (kopf's identity) raises
# KeyError for a UID the image does not know.
RUN groupadd --gid 65532 cloudinfer \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin cloudinfer
COPY --from=build /opt/cloudinfer /opt/cloudinfer
ENV PATH=/opt/cloudinfer/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 65532:65532
ARG VERSION=0.1.0
ARG SOURCE=https://github.com/cloudinfer/cloudinfer
LABEL org.opencontainers.image.title="cloudinfer" \
      org.opencontainers.image.description="Kubernetes operator for cloud-hosted model inference services" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
# 8080: liveness (/healthz), 9090: Prometheus metrics (/metrics).
EXPOSE 8080 9090
ENTRYPOINT ["cloudinfer"]
CMD ["run", "--log-format=json", "--liveness=http://0.0.0.0:8080/healthz", "--metrics-port=9090"]
