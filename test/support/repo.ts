/** Where the repository is, and the environment every child of the e2e stack starts with. */
import { dirname, resolve } from "node:path";

/** The repository root. */
export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");

/**
 * The environment for children: this Node (22, from node_modules) first on PATH, because wrangler's build
 * step runs `node`; wrangler offline and quiet (TOOLCHAIN.md); and no inherited `TURN_*` variable, since
 * switchboard-turn reads every flag from one and a stray one would change the node under test.
 */
export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("TURN_")));
  return {
    ...inherited,
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
    CI: "true",
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_SEND_ERROR_REPORTS: "false",
    WRANGLER_HIDE_BANNER: "true",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    ...extra,
  };
}
