# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the full dependency set, and the optional kerberos
# module's native part (GSSAPI, for GATEWAY_KERBEROS) where the compiler and headers are.
FROM node:24-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends libkrb5-dev g++ make python3 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc tsconfig.json ./
RUN npm ci --ignore-scripts && npm rebuild kerberos --build-from-source
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies only, non-root, read-only root filesystem friendly
# (nothing is written to disk: sessions live in Redis, logs go to stdout; with Kerberos on, the
# replay cache goes to GATEWAY_KERBEROS_REPLAY_CACHE_DIR, a tmpfs). Install scripts do not run
# here: the kerberos module's build comes from the build stage, with GSSAPI's library beside it.
FROM node:24-slim
ENV NODE_ENV=production
RUN apt-get update && apt-get install -y --no-install-recommends libgssapi-krb5-2 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/node_modules/kerberos/build ./node_modules/kerberos/build
COPY --from=build /app/dist ./dist
COPY views ./views
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.GATEWAY_PORT||8080)+'/_gateway/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["serve"]
