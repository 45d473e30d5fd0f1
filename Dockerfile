# One image for every function: the build stage bundles all of them with esbuild, the runtime stage
# holds nothing but the bundles on a distroless Node 24 base (no shell, no npm, no node_modules).
#
#   docker build -t security-records .                                   # default function: get-record
#   docker build --build-arg FUNCTION=create-record -t security-records .
#   docker run … security-records dist/functions/list-records/index.mjs  # any function, by argument
#
# The base images are pinned by digest (README "Container image" says how to bump them); a build
# argument overrides each:
#   BUILD_IMAGE    node:24-bookworm-slim, the multi-platform index digest Docker's official-images
#                  record lists for that tag (docker-library/repo-info repos/node/remote/24-bookworm-slim.md,
#                  commit 2fb42a7c1204ce90c8bf85e458cec1447d6f2bbb: Node 24.18.1, built 2026-07-30).
#   RUNTIME_IMAGE  gcr.io/distroless/nodejs24-debian12: no digest of it is published anywhere we could
#                  verify, so none is invented here. Pass it: --build-arg RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12@sha256:<digest>
#                  (CI and deploy take the repository variable RUNTIME_IMAGE). Without one the build stops.
# A local build on stand-in images (tags only, no registry): UNPINNED_BASES=allow, e.g.
#   podman build --pull=never --build-arg BUILD_IMAGE=node:24-bookworm-slim --build-arg UNPINNED_BASES=allow .
ARG BUILD_IMAGE=node:24-bookworm-slim@sha256:235600a8101ab264e117b1768e925532262668dc9b581ef1dd7d96ced463b8e7
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12

# checkov:skip=CKV_DOCKER_7: the base is an ARG (checkov reads it as "latest"); it defaults to a digest and the guard below refuses any base without one
FROM ${BUILD_IMAGE} AS build
ARG BUILD_IMAGE
ARG RUNTIME_IMAGE
ARG UNPINNED_BASES=refuse
# First, before anything is built on them: both bases named by digest, or a local build that says so.
RUN for image in "${BUILD_IMAGE}" "${RUNTIME_IMAGE}"; do \
      case "$image" in \
        *@sha256:[0-9a-f]*) ;; \
        *) [ "${UNPINNED_BASES}" = allow ] \
             || { echo "base image ${image} is not pinned by digest: pass --build-arg BUILD_IMAGE=/RUNTIME_IMAGE=<name>@sha256:<digest> (README \"Container image\"), or UNPINNED_BASES=allow for a local build" >&2; exit 1; } ;; \
      esac; \
    done
WORKDIR /src
ENV NODE_ENV=development npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
# No install scripts: the build needs none (esbuild's binary comes as an optional dependency).
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY tsconfig.json ./
COPY shared ./shared
COPY functions ./functions
COPY jobs ./jobs
COPY scripts ./scripts
RUN npm run build
# The default entry runs the function named at build time; container args can name any other bundle.
# A copy, not a launcher that imports it: a bundle starts only as Node's main module (import.meta.main).
ARG FUNCTION=get-record
RUN test -f "dist/functions/${FUNCTION}/index.mjs" \
      || { echo "FUNCTION=${FUNCTION} is not one of: $(ls dist/functions | tr '\n' ' ')" >&2; exit 1; } \
 && cp -r "dist/functions/${FUNCTION}" dist/main

# Node's compile cache for every function bundle, made by the runtime base's own node (a cache is
# valid only for the Node binary and the paths that made it): the start skips compiling the
# bundle's top level (bench/README.md, cold start). Exec form: distroless has no shell.
FROM ${RUNTIME_IMAGE} AS compile-cache
WORKDIR /app
ENV PATH="/nodejs/bin:${PATH}"
COPY --from=build /src/dist ./dist
COPY --from=build /src/scripts/fill-compile-cache.ts /tmp/fill-compile-cache.ts
# As the runtime's user (Node keys the cache folder by uid too), into /tmp (it cannot write to /app).
USER 65532:65532
RUN ["node", "/tmp/fill-compile-cache.ts", "/app/dist", "/tmp/compile-cache"]

# checkov:skip=CKV_DOCKER_2: no HEALTHCHECK: Knative probes /healthz itself, and distroless has no shell or client to run one
FROM ${RUNTIME_IMAGE} AS runtime
ARG FUNCTION=get-record
ARG VCS_REF=unknown
LABEL org.opencontainers.image.title="security-records" \
      org.opencontainers.image.description="Security records API functions (Knative), the table bootstrap and outbox sweeper jobs" \
      org.opencontainers.image.source="https://github.com/mediamarktsaturn/security-records" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      security-records.function="${FUNCTION}"
WORKDIR /app
# Owned by root and not writable by the runtime user; nothing is written at run time, so the root
# filesystem can be mounted read-only.
COPY --from=build /src/dist ./dist
# Read-only at run time: every entry already matches its bundle, so Node has nothing to write back.
COPY --from=compile-cache /tmp/compile-cache ./compile-cache
# distroless keeps node in /nodejs/bin, the slim image in /usr/local/bin: either base works.
ENV PATH="/nodejs/bin:${PATH}" NODE_ENV=production PORT=8080 NODE_COMPILE_CACHE=/app/compile-cache
# The distroless "nonroot" user, numeric so Kubernetes can verify runAsNonRoot.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node"]
CMD ["dist/main/index.mjs"]
