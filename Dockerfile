# Sluice gateway image. Build: docker build -t sluice:0.1.0 .
# Native modules are compiled in the build stage (python3, make, g++), never downloaded at
# run time; the runtime stage holds only production dependencies and the compiled output.
FROM node:22-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY console ./console
# npm ci runs `prepare` (tsc), then the dev dependencies go.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/console ./dist/console
COPY package.json README.md LICENSE ./
COPY docs ./docs
# The embedded mode keeps its data in .sluice/ under the working folder.
RUN mkdir -p /app/.sluice /var/lib/sluice && chown -R node:node /app/.sluice /var/lib/sluice
USER node
EXPOSE 8787
# In a container the gateway must listen beyond loopback; publish the port deliberately.
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["start", "--host", "0.0.0.0"]
