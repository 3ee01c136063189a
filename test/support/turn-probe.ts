/**
 * A minimal TURN client over UDP for one question the browser cannot answer: which allocation lifetime
 * does a node grant to an Allocate that carries no LIFETIME attribute (as Chromium's does)? Written from
 * the RFCs rather than with the relay's own codec, so a codec bug cannot hide in both ends.
 * RFC 8489 §5 (header), §14 (attributes), §9.2 (long-term credentials); RFC 8656 §7 (Allocate), §8 (Refresh).
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";

const MAGIC_COOKIE = 0x2112a442;
const ALLOCATE = 0x0003;
const REFRESH = 0x0004;
const SUCCESS = 0x0100;
const ERROR = 0x0110;
const ATTR = { username: 0x0006, integrity: 0x0008, errorCode: 0x0009, lifetime: 0x000d, realm: 0x0014, nonce: 0x0015, transport: 0x0019 };

type Attributes = Map<number, Buffer>;

function attribute(type: number, value: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

function encode(type: number, attributes: Buffer[], integrityKey?: Buffer): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  randomBytes(12).copy(header, 8);
  let body = Buffer.concat(attributes);
  if (integrityKey) {
    // MESSAGE-INTEGRITY covers the message with a length that already counts itself (RFC 8489 §14.5).
    header.writeUInt16BE(body.length + 24, 2);
    const mac = createHmac("sha1", integrityKey)
      .update(Buffer.concat([header, body]))
      .digest();
    body = Buffer.concat([body, attribute(ATTR.integrity, mac)]);
  }
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function decode(message: Buffer): { type: number; attributes: Attributes } {
  const attributes: Attributes = new Map();
  const end = Math.min(message.length, 20 + message.readUInt16BE(2));
  for (let offset = 20; offset + 4 <= end; ) {
    const type = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 2);
    if (!attributes.has(type)) attributes.set(type, message.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length + ((4 - (length % 4)) % 4);
  }
  return { type: message.readUInt16BE(0), attributes };
}

/**
 * Allocates on `host:port` with the given long-term credentials and no LIFETIME attribute, releases the
 * allocation again (Refresh with LIFETIME 0), and returns the lifetime the server granted, in seconds.
 */
export async function grantedLifetimeSeconds(
  server: { host: string; port: number },
  credentials: { username: string; password: string },
): Promise<number> {
  const socket = createSocket("udp4");
  const exchange = (request: Buffer): Promise<{ type: number; attributes: Attributes }> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ${server.host}:${server.port}`)), 3000);
      socket.once("message", (message) => {
        clearTimeout(timer);
        resolve(decode(message));
      });
      socket.send(request, server.port, server.host);
    });
  try {
    const transport = attribute(ATTR.transport, Buffer.from([17, 0, 0, 0]));
    const challenge = await exchange(encode(ALLOCATE, [transport]));
    const realm = challenge.attributes.get(ATTR.realm);
    const nonce = challenge.attributes.get(ATTR.nonce);
    if (challenge.type !== (ALLOCATE | ERROR) || !realm || !nonce) throw new Error("expected a 401 challenge with REALM and NONCE");
    const key = createHash("md5")
      .update(`${credentials.username}:${realm.toString("utf8")}:${credentials.password}`)
      .digest();
    const auth = [attribute(ATTR.username, Buffer.from(credentials.username)), attribute(ATTR.realm, realm), attribute(ATTR.nonce, nonce)];
    const answer = await exchange(encode(ALLOCATE, [transport, ...auth], key));
    if (answer.type !== (ALLOCATE | SUCCESS)) {
      const error = answer.attributes.get(ATTR.errorCode);
      throw new Error(`Allocate failed${error ? ` with ${error[2]! * 100 + error[3]!}` : ""}`);
    }
    const lifetime = answer.attributes.get(ATTR.lifetime);
    if (!lifetime) throw new Error("the Allocate success carries no LIFETIME");
    await exchange(encode(REFRESH, [attribute(ATTR.lifetime, Buffer.alloc(4)), ...auth], key)).catch(() => undefined);
    return lifetime.readUInt32BE(0);
  } finally {
    socket.close();
  }
}

/** TURN REST credentials (coturn `use-auth-secret`): `<unix expiry>:<user>` and base64 HMAC-SHA1 of it. */
export function restCredentials(secret: string, user: string, ttlSeconds = 600): { username: string; password: string } {
  const username = `${Math.floor(Date.now() / 1000) + ttlSeconds}:${user}`;
  return { username, password: createHmac("sha1", secret).update(username).digest("base64") };
}
