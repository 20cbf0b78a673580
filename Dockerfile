# The Keystash API server. Production configuration comes from the environment
# (KEYSTASH_TABLE, AWS_REGION, KEYSTASH_KMS_KEY_ID; credentials from the task or instance role).
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY tools ./tools
COPY openapi.yaml ./
USER node
EXPOSE 8787
ENV HOST=0.0.0.0 PORT=8787
CMD ["node", "--max-semi-space-size=32", "--import", "tsx", "src/main.ts"]
