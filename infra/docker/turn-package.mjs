/**
 * Writes the package.json of the TURN image: the repository's package.json cut down to the runtime
 * dependencies the relay imports (named on the command line), at the versions package.json pins.
 * `npm install --omit=dev` against it and the repository's package-lock.json then installs exactly those
 * packages and their dependencies at the locked versions: no worker (hono, jose), no devDependencies,
 * no optional Node binary.
 *
 * Usage: node turn-package.mjs <package.json in> <package.json out> <dependency>...
 */
import { readFileSync, writeFileSync } from "node:fs";

const [input, output, ...keep] = process.argv.slice(2);
if (!input || !output || keep.length === 0) {
  console.error("usage: node turn-package.mjs <package.json in> <package.json out> <dependency>...");
  process.exit(2);
}
const source = JSON.parse(readFileSync(input, "utf8"));
const dependencies = {};
for (const name of keep) {
  const version = source.dependencies?.[name];
  if (version === undefined) {
    console.error(`turn-package: ${name} is not in the "dependencies" of ${input}; add it there (the relay imports it at runtime)`);
    process.exit(1);
  }
  dependencies[name] = version;
}
const trimmed = {
  name: `${source.name}-turn`,
  version: source.version,
  private: true,
  license: source.license,
  // "module": the relay's .js bin and its .ts sources are ES modules.
  type: source.type,
  engines: source.engines,
  bin: { "switchboard-turn": source.bin?.["switchboard-turn"] },
  dependencies,
};
writeFileSync(output, `${JSON.stringify(trimmed, null, 2)}\n`);
