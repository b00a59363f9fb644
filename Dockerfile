# p2pay daemons (broker, ttp, judge, node) on Node 24, which runs the TypeScript sources directly.
# BASE is any image with Node 24 and /bin/sh: the public node:24-bookworm-slim by default, or the
# local one scripts/compose/base-image.sh makes without pulling (docker build --build-arg BASE=...).
ARG BASE=node:24-bookworm-slim

# Every workspace's package.json, whatever their number, and nothing else: npm ci needs them all
# (a missing one is a missing node_modules/@p2pay/* link), and a source change keeps its layer cached.
FROM ${BASE} AS manifests
WORKDIR /manifests
COPY packages packages
RUN find packages -mindepth 1 ! -type d ! -regex 'packages/[^/]*/package\.json' -delete \
  && find packages -mindepth 1 -depth -type d -empty -delete

FROM ${BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=manifests /manifests/packages packages
# A context with prebuilt/node_modules (scripts/compose-testnet installs them outside the build: its
# base image has no npm and its builds reach no registry) uses those; otherwise npm ci installs them.
COPY package.json prebuilt* /tmp/prebuilt/
RUN if [ -d /tmp/prebuilt/node_modules ]; then mv /tmp/prebuilt/node_modules node_modules; \
  else npm ci --omit=dev && npm cache clean --force; fi

FROM ${BASE}
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY package.json package-lock.json ./
COPY packages packages
COPY scripts/docker-entrypoint.sh scripts/
RUN ln -s /app/packages/cli/bin/p2pay.js /usr/local/bin/p2pay && p2pay --help > /dev/null
VOLUME /data
EXPOSE 4001
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
