/**
 * The PeerJS reference server (npm `peer`), run as its own process by peerjs-process.ts so it does not share
 * an event loop with the benchmark's clients (neither does wrangler dev). Usage: `node peerjs-server.ts KEY`.
 * Listens on 127.0.0.1, port 0, and prints one line `{"port":N}` once ready. Heartbeat expiry is pushed far
 * out: the bench clients send no PeerJS HEARTBEAT frames.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PeerServer } from "peer";

const key = process.argv[2] ?? "peerjs";
const server = PeerServer(
  {
    host: "127.0.0.1",
    port: 0,
    path: "/",
    key,
    alive_timeout: 3_600_000,
    expire_timeout: 60_000,
    concurrent_limit: 10_000,
  },
  (http: Server) => {
    process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port })}\n`);
  },
);
server.on("error", (error: Error) => process.stderr.write(`peerjs error: ${error.message}\n`));
