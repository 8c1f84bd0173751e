# syntax=docker/dockerfile:1
# Seed STS image: `docker build -t seed-sts .` then `node dist/src/server.js` as the unprivileged node user
# (uid 1000). Configuration comes from the environment (DATABASE_URL, REDIS_URL, STS_ADMIN_TOKEN,
# STS_ISSUER, ...) and the file named by STS_CONFIG; see docker-compose.yml, deploy/compose-config.yaml
# and deploy/kubernetes/.
#
# On its own defaults (`docker run -p 8080:8080 seed-sts`) it starts with embedded PGlite in
# /app/data/ledger, the signing keys in it sealed with a development key-encryption key it generates in
# /app/data/key-encryption-key, all inside the container: mount a volume at /app/data to keep them, or
# set DATABASE_URL, STS_KEY_ENCRYPTION_KEY and STS_SOURCE_HASH_KEY. A directory it must write but cannot (a read-only root filesystem without
# that volume) stops it with a message naming the directory to mount, and exit code 2.
#
# test/deploy/image-layout.test.ts reads this file (the last stage's ENV, USER, WORKDIR, CMD,
# HEALTHCHECK, its COPY destinations and the directories its RUN chowns) and starts the compiled
# server the same way, as an unprivileged user, from a read-only copy of this layout.

# --- build: all dependencies, compile, then drop the dev ones ---------------------------------------
# Node 24: the current LTS (Node 20 reached its end of life in April 2026).
FROM node:24-bookworm-slim AS build
WORKDIR /app
# The lockfile alone decides the dependency layer, so source edits do not reinstall node_modules.
# npm ci runs the `prepare` script (scripts/prepare.mjs): without the sources it only says it does not build.
COPY package.json package-lock.json ./
# The workspace's package manifests: npm ci installs the workspaces the lock file names.
COPY packages/client/package.json ./packages/client/package.json
COPY scripts/prepare.mjs ./scripts/prepare.mjs
RUN npm ci --no-audit --no-fund
# Everything .dockerignore lets through: tsconfig*, src/, scripts/, migrations/, console/ and test/ (the bench and
# the demo import test/support/cluster.ts and ports.ts, which tsconfig.build.json builds with them).
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- runtime: compiled code, production dependencies, migrations --------------------------------------
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Everything copied stays owned by root and read-only to the service: it writes only where the RUN
# below hands it a directory.
# package.json is needed at run time: its "type": "module" makes Node load dist/ as ES modules.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The client package (node_modules/@seed-sts/client links to it): the agent runs on it.
COPY --from=build /app/packages ./packages
# src/db/migrations.ts reads ../../../migrations relative to dist/src/db: /app/migrations.
COPY --from=build /app/migrations ./migrations
# The incident console's static files: src/console/console-files.ts reads console/ beside package.json: /app/console.
COPY --from=build /app/console ./console
COPY --from=build /app/deploy ./deploy
# Public trust material (AWS certificates, Azure roots and intermediates); private keys never enter the image.
COPY --from=build /app/keys ./keys
# The directories the service writes, owned by node (1000) and private:
# - /app/data: PGlite's data directory (database.dataDir, default data/ledger) when there is no DATABASE_URL;
# - /app/keys: the default keys.dir, where an earlier release generated its PEM signing key (imported
#   once into the database at the upgrade; the directory only: the trust material in it stays root's);
# - /app/keys/signing: the volume docker-compose.yml mounts there for the same reason; created here so
#   that a named volume mounted on it starts with this owner and mode.
RUN mkdir -p /app/data /app/keys/signing \
  && chown 1000:1000 /app/data /app/keys /app/keys/signing \
  && chmod 0700 /app/data /app/keys/signing
# Numeric, so that Kubernetes' runAsNonRoot can tell it is not root without a runAsUser.
USER 1000:1000
EXPOSE 8080
# The slim image has no curl or wget; Node's fetch does the job. /readyz answers 200 only when the ledger
# database, the revocation state and the grants answer.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/server.js"]
