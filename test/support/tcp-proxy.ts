/**
 * A loopback TCP forwarder in front of the worker that can cut a connection the way a network does: no
 * WebSocket close frame, just the TCP connection gone, so the browser sees 1006 and the Room sees an
 * abnormal drop. It can cut at a precise protocol moment: server→client WebSocket frames are unmasked
 * (RFC 6455 §5.3 masks only client→server), so a text pattern in them is visible on the wire, and the
 * proxy can swallow the frame that carries it and end the connection before the client ever reads it.
 * For that the proxy removes `Sec-WebSocket-Extensions` from upgrade requests: with permessage-deflate
 * (RFC 7692), which Chromium offers and workerd accepts, the frames would be compressed.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/** A cut that happened. */
export interface Cut {
  at: number;
  /** The connection's request line, e.g. "GET /v1/rooms/r/ws?token=… HTTP/1.1". */
  requestLine: string;
}

/** A running proxy. */
export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: use it as the page's origin. */
  origin: string;
  /** Cuts made so far. */
  cuts: Cut[];
  /**
   * Arms a one-shot cut on the first server→client WebSocket frame that contains `pattern`: `swallow`
   * drops that frame and resets the connection (the frame is lost in flight); `deliver` passes it on,
   * then ends the connection (the client reads it, then loses the socket).
   */
  cutOnServerText(pattern: string, mode: "swallow" | "deliver"): Promise<Cut>;
  close(): Promise<void>;
}

interface Pipe {
  client: Socket;
  upstream: Socket;
  requestLine: string;
  /** A WebSocket upgrade: server→client bytes are forwarded one whole frame at a time. */
  webSocket: boolean;
  /** Server→client bytes not forwarded yet (the 101 response head, then an incomplete frame). */
  pending: Buffer;
  headDone: boolean;
}

/** Length of the WebSocket frame at the start of `bytes` (RFC 6455 §5.2), or undefined if its header is incomplete. */
function frameLength(bytes: Buffer): number | undefined {
  if (bytes.length < 2) return undefined;
  const masked = (bytes[1]! & 0x80) !== 0 ? 4 : 0;
  const length7 = bytes[1]! & 0x7f;
  if (length7 < 126) return 2 + masked + length7;
  if (length7 === 126) return bytes.length < 4 ? undefined : 4 + masked + bytes.readUInt16BE(2);
  return bytes.length < 10 ? undefined : 10 + masked + Number(bytes.readBigUInt64BE(2));
}

/** Starts a forwarder on 127.0.0.1:`port` to `target` (host, port). */
export async function startTcpProxy(port: number, target: { host: string; port: number }): Promise<TcpProxy> {
  const pipes = new Set<Pipe>();
  const cuts: Cut[] = [];
  let armed: { pattern: string; mode: "swallow" | "deliver"; resolve: (cut: Cut) => void } | undefined;

  const cut = (pipe: Pipe, mode: "swallow" | "deliver", frame: Buffer): Cut => {
    const entry = { at: Date.now(), requestLine: pipe.requestLine };
    cuts.push(entry);
    pipes.delete(pipe);
    pipe.upstream.destroy();
    if (mode === "swallow") {
      // An RST: the client's unread data is discarded, and there is no WebSocket close frame.
      pipe.client.resetAndDestroy();
    } else {
      // The data, then FIN without a close frame: the client reads the message, then sees 1006.
      pipe.client.end(frame);
    }
    return entry;
  };

  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const pipe: Pipe = { client, upstream, requestLine: "", webSocket: false, pending: Buffer.alloc(0), headDone: false };
    pipes.add(pipe);
    client.on("data", (chunk: Buffer) => {
      if (pipe.requestLine === "") {
        const head = chunk.toString("latin1");
        pipe.requestLine = head.split("\r\n", 1)[0] ?? "";
        if (/^upgrade:\s*websocket\r?$/im.test(head)) {
          pipe.webSocket = true;
          upstream.write(Buffer.from(head.replace(/^sec-websocket-extensions:[^\r\n]*\r\n/gim, ""), "latin1"));
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!pipe.webSocket) {
        client.write(chunk);
        return;
      }
      // Whole frames only, so a cut never leaves half a frame at the client (an SDP spans several TCP chunks).
      pipe.pending = pipe.pending.length === 0 ? chunk : Buffer.concat([pipe.pending, chunk]);
      if (!pipe.headDone) {
        const headEnd = pipe.pending.indexOf("\r\n\r\n");
        if (headEnd < 0) return;
        client.write(pipe.pending.subarray(0, headEnd + 4));
        pipe.pending = pipe.pending.subarray(headEnd + 4);
        pipe.headDone = true;
      }
      for (
        let length = frameLength(pipe.pending);
        length !== undefined && pipe.pending.length >= length;
        length = frameLength(pipe.pending)
      ) {
        const frame = pipe.pending.subarray(0, length);
        pipe.pending = pipe.pending.subarray(length);
        const trigger = armed;
        if (trigger && frame.includes(trigger.pattern)) {
          armed = undefined;
          trigger.resolve(cut(pipe, trigger.mode, frame));
          return;
        }
        client.write(frame);
      }
    });
    const close = () => {
      pipes.delete(pipe);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", close);
    upstream.on("close", close);
    client.on("error", close);
    upstream.on("error", close);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    cuts,
    cutOnServerText: (pattern, mode) =>
      new Promise<Cut>((resolve) => {
        armed = { pattern, mode, resolve };
      }),
    close: async () => {
      for (const pipe of pipes) {
        pipe.client.destroy();
        pipe.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
