/** Bundles the browser client and demo page into client/public/build/ (run by wrangler before dev/deploy). */
import { build } from "esbuild";

await build({
  entryPoints: { demo: "client/demo/main.ts" },
  outdir: "client/public/build",
  bundle: true,
  format: "esm",
  target: "es2022",
  sourcemap: true,
  minify: true,
  logLevel: "warning",
});
