# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies, then drop them.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: production dependencies and compiled JavaScript only (the server, and the ingestion CLI as
# dist/cli/ingest.js: README "Docker"), as the unprivileged node user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8000 RAG_DATA_DIR=/app/data
WORKDIR /app
# The embedded document store writes here: give it to the unprivileged user, and keep it in a volume.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME /app/data
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# The chat page at / (PAGE_ENABLED): plain files, no build step.
COPY --chown=node:node public ./public
USER node
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# A 32 MiB semi-space (young generation): objects that live across one upstream event (~0.5 s) die young
# instead of being promoted; with 2,000 open streams, event-loop delay p99 ~21 ms -> ~14 ms (BENCHMARKS.md).
CMD ["node", "--enable-source-maps", "--max-semi-space-size=32", "dist/server.js"]
