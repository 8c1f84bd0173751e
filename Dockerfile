# syntax=docker/dockerfile:1
# Seed STS image: `docker build -t seed-sts .` then `node dist/src/server.js` as the unprivileged node user.
# Configuration comes from the environment (DATABASE_URL, REDIS_URL, STS_ADMIN_TOKEN, STS_ISSUER, ...)
# and the file named by STS_CONFIG; see docker-compose.yml and deploy/compose-config.yaml.

# --- build: all dependencies, compile, then drop the dev ones ---------------------------------------
FROM node:20-slim AS build
WORKDIR /app
# The lockfile alone decides the dependency layer, so source edits do not reinstall node_modules.
# npm ci runs the `prepare` script (scripts/prepare.mjs): without the sources it only says it does not build.
COPY package.json package-lock.json ./
COPY scripts/prepare.mjs ./scripts/prepare.mjs
RUN npm ci --no-audit --no-fund
# Everything .dockerignore lets through: tsconfig*, src/, scripts/, migrations/ and test/ (the bench and
# the demo import test/support/cluster.ts and ports.ts, which tsconfig.build.json builds with them).
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- runtime: compiled code, production dependencies, migrations --------------------------------------
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
# package.json is needed at run time: its "type": "module" makes Node load dist/ as ES modules.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# src/db/migrations.ts reads ../../../migrations relative to dist/src/db: /app/migrations.
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/deploy ./deploy
# Public trust material (AWS certificates, Azure roots and intermediates); private keys never enter the image.
COPY --from=build /app/keys ./keys
# The signing keys live in /app/keys (config keys.dir, default "keys"). Created here, owned by node and
# private, so that a named volume mounted on it starts with this owner and mode.
RUN mkdir -p /app/keys/signing && chown node:node /app/keys/signing && chmod 0700 /app/keys/signing
USER node
EXPOSE 8080
CMD ["node", "dist/src/server.js"]
