/**
 * Bench-only worker entry (bench/signaling/wrangler.toml): the real worker, unchanged, plus routes to the
 * bench relays, matched before the request reaches the real app. Production never loads this file.
 *
 *   GET /bench/bare/:room/ws?peer=<id>                 WebSocket to the BareRelay named :room, as peer <id>
 *   GET /bench/ablation/:room/ws?peer=<id>&mode=<list>  the same on AblationRelay (bench/signaling/ablation.ts)
 */
import type { Env } from "../../worker/env.ts";
import app from "../../worker/index.ts";

export { Registry, Room } from "../../worker/index.ts";
export { AblationRelay } from "./ablation-relay.ts";
export { BareRelay } from "./bare-relay.ts";

/** The real worker's bindings plus the ones this entry adds. */
interface BenchEnv extends Env {
  BARE_RELAY: DurableObjectNamespace;
  ABLATION_RELAY: DurableObjectNamespace;
}

const BENCH_ROUTE = /^\/bench\/(bare|ablation)\/([A-Za-z0-9_.-]{1,64})\/ws$/;
const PEER_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export default {
  /** Routes /bench/bare/… and /bench/ablation/… to their relays; everything else to the real app. */
  fetch(request: Request, env: BenchEnv, ctx: ExecutionContext): Response | Promise<Response> {
    const match = BENCH_ROUTE.exec(new URL(request.url).pathname);
    if (!match) return app.fetch(request, env, ctx);
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    if (!PEER_ID.test(new URL(request.url).searchParams.get("peer") ?? "")) return new Response("bad ?peer=", { status: 400 });
    const namespace = match[1] === "bare" ? env.BARE_RELAY : env.ABLATION_RELAY;
    return namespace.get(namespace.idFromName(match[2] as string)).fetch(request);
  },
} satisfies ExportedHandler<BenchEnv>;
