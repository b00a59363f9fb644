# p2pay daemons (broker, ttp, judge, node) on Node 24, which runs the TypeScript sources directly.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/ppay/package.json packages/ppay/
COPY packages/fairex/package.json packages/fairex/
COPY packages/karma/package.json packages/karma/
COPY packages/test-utils/package.json packages/test-utils/
COPY packages/broker/package.json packages/broker/
COPY packages/ttp/package.json packages/ttp/
COPY packages/judge/package.json packages/judge/
COPY packages/node/package.json packages/node/
COPY packages/cli/package.json packages/cli/
RUN npm ci --omit=dev && npm cache clean --force
COPY packages packages
COPY scripts/docker-entrypoint.sh scripts/
RUN ln -s /app/packages/cli/bin/p2pay.js /usr/local/bin/p2pay
VOLUME /data
EXPOSE 4001
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
