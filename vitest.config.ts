import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** Secrets the workerd tests run with (never used outside tests). */
export const TEST_BINDINGS = {
  ENVIRONMENT: "test",
  ROOM_TOKEN_SECRET: "test-room-token-secret-0123456789abcdef",
  TURN_SECRETS: "test-turn-secret-1,test-turn-secret-0",
  TURN_NODE_TOKEN: "test-node-token",
  API_KEYS: "test-api-key-1,test-api-key-2",
  ADMIN_TOKEN: "test-admin-token",
  // A local .dev.vars is read by the plugin too; pin every var it may set so local runs equal CI runs.
  TURN_NODE_HOSTS: "",
};

export default defineConfig({
  test: {
    projects: [
      {
        // Worker code runs inside workerd.
        plugins: [
          cloudflareTest({
            main: "./worker/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: TEST_BINDINGS },
          }),
        ],
        test: {
          name: "worker",
          include: ["worker/**/*.test.ts", "protocol/**/*.test.ts"],
        },
      },
      {
        // TURN server, client library (Node side), scripts and cross-component tests run in Node.
        test: {
          name: "node",
          environment: "node",
          include: ["turn-server/**/*.test.ts", "client/**/*.test.ts", "scripts/**/*.test.ts", "infra/**/*.test.ts", "test/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The relay's integration tests again on the batched native UDP path (the "node" project runs
        // them on Node's dgram; the bin, and so the e2e tests, use native when it is built).
        test: {
          name: "turn-native",
          environment: "node",
          include: ["turn-server/test/**/*.test.ts"],
          env: { TURN_TEST_UDP_IO: "native" },
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
