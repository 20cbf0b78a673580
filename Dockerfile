# The Keystash API server, as compiled JavaScript: no transpiler at run time. Production
# configuration comes from the environment (KEYSTASH_TABLE, AWS_REGION, KEYSTASH_KMS_KEY_ID;
# credentials from the task or instance role). Node 24: an LTS line the whole test suite runs on.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY tools ./tools
COPY sdk/src ./sdk/src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8787
ENV HOST=0.0.0.0 PORT=8787
CMD ["node", "--max-semi-space-size=32", "dist/src/main.js"]
