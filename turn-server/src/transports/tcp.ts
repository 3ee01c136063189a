/** TCP listener (RFC 8656 §3.1: TURN over TCP between client and server; relaying stays UDP). */
import { createServer } from "node:net";
import type { ListenerOptions } from "../options.ts";
import type { TransportSink } from "./sink.ts";
import { StreamListener } from "./stream.ts";

/** A TCP listener for `options`. */
export function createTcpListener(options: ListenerOptions, sink: TransportSink, clock: () => number): StreamListener {
  return new StreamListener(createServer({ noDelay: true }), "connection", options, sink, clock);
}
