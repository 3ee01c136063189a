/**
 * TLS listener (`turns:`, RFC 8656 §3.1 and RFC 7350): node:tls with TLS 1.2 as the floor (RFC 8656 §3.1
 * requires TLS 1.2 or later for TURN over TLS). Handshakes that fail or stall are dropped quietly.
 */
import { createServer } from "node:tls";
import type { ListenerOptions } from "../options.ts";
import type { TransportSink } from "./sink.ts";
import { StreamListener } from "./stream.ts";

/** Certificate chain and key (PEM). */
export interface TlsCredentials {
  cert: string | Uint8Array;
  key: string | Uint8Array;
}

/** Seconds a client may take to finish the handshake (Node's default is 120). */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** A TLS listener for `options`. */
export function createTlsListener(
  options: ListenerOptions,
  credentials: TlsCredentials,
  sink: TransportSink,
  clock: () => number,
): StreamListener {
  const server = createServer({
    cert: typeof credentials.cert === "string" ? credentials.cert : Buffer.from(credentials.cert),
    key: typeof credentials.key === "string" ? credentials.key : Buffer.from(credentials.key),
    minVersion: "TLSv1.2",
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    noDelay: true,
  });
  // Failed handshakes (scanners, wrong versions) are not server errors.
  server.on("tlsClientError", () => {});
  return new StreamListener(server, "secureConnection", options, sink, clock);
}
