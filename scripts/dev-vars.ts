/**
 * Reads `.dev.vars` (wrangler's dotenv-style file of local development vars and secrets) so `npm start`
 * and `npm run token` use the same values the local worker runs with.
 */
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Parses dotenv-style text: `NAME=value` lines, `#` comments, optional single or double quotes. */
export function parseDevVars(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const name = match[1]!;
    let value = match[2]!;
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2]!;
    else value = value.replace(/\s+#.*$/, "");
    vars[name] = value;
  }
  return vars;
}

/** Reads and parses `<dir>/.dev.vars`; undefined when the file does not exist. */
export function readDevVars(dir: string): Record<string, string> | undefined {
  const path = join(dir, ".dev.vars");
  if (!existsSync(path)) return undefined;
  return parseDevVars(readFileSync(path, "utf8"));
}

/** Copies `.dev.vars.example` to `.dev.vars` when the latter is missing; returns true when it copied. */
export function ensureDevVars(dir: string): boolean {
  const path = join(dir, ".dev.vars");
  if (existsSync(path)) return false;
  const example = join(dir, ".dev.vars.example");
  if (!existsSync(example)) throw new Error(`neither ${path} nor ${example} exists; restore .dev.vars.example from git`);
  copyFileSync(example, path);
  return true;
}
