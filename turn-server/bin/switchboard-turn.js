#!/usr/bin/env node
// The `switchboard-turn` command. Plain JavaScript so any Node can run this check and say what is
// wrong; the relay itself is TypeScript that Node runs by stripping types (no build step).
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `switchboard-turn needs Node.js 22.12 or newer; this is ${process.version}. Install Node 22 LTS (or run through npm, which uses node_modules/.bin/node).`,
  );
  process.exit(1);
}
// Type stripping is on by default from Node 22.18 (and 23.6); earlier 22.x need the flag.
if (!process.features.typescript) {
  console.error(
    `switchboard-turn runs TypeScript sources and this Node (${process.version}) does not strip types: use Node ≥ 22.18, or start it as NODE_OPTIONS=--experimental-strip-types switchboard-turn …`,
  );
  process.exit(1);
}
const { main } = await import("../src/cli.ts");
await main();
