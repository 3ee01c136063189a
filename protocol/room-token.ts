/**
 * Room tokens: HS256 JWTs signed with ROOM_TOKEN_SECRET by the app's backend (or `npm run token`).
 * One implementation (jose, Web Crypto) mints them in Node and verifies them in the worker.
 */
import { errors, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { ErrorCode } from "./errors.ts";
import { Metadata } from "./messages.ts";

/** What a room token may grant beyond joining. */
export const Grants = z.object({
  /** May send signals and broadcasts (default true). False: receive-only. */
  canPublishData: z.boolean().optional(),
  /** May kick peers and close the room. */
  admin: z.boolean().optional(),
});
export type Grants = z.infer<typeof Grants>;

/** The claims a room token carries. */
export const RoomTokenClaims = z.object({
  room: z.string().min(1),
  sub: z.string().min(1).max(128),
  exp: z.number().int(),
  iat: z.number().int().optional(),
  name: z.string().max(128).optional(),
  metadata: Metadata.optional(),
  grants: Grants.optional(),
});
export type RoomTokenClaims = z.infer<typeof RoomTokenClaims>;

/** Options for minting a room token. */
export interface MintRoomTokenOptions {
  room: string;
  userId: string;
  /** Lifetime in seconds (default 3600). */
  ttlSeconds?: number;
  name?: string;
  metadata?: Metadata;
  grants?: Grants;
  /** Unix seconds "now" (tests). */
  now?: number;
}

const encoder = new TextEncoder();

/** Signs a room token with `secret` (HS256). */
export async function mintRoomToken(secret: string, options: MintRoomTokenOptions): Promise<string> {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { room: options.room };
  if (options.name !== undefined) claims.name = options.name;
  if (options.metadata !== undefined) claims.metadata = options.metadata;
  if (options.grants !== undefined) claims.grants = options.grants;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(options.userId)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 3600))
    .sign(encoder.encode(secret));
}

/** Why a token was refused: `code` for machines, `message` for people, `status` for HTTP. */
export interface TokenRefusal {
  ok: false;
  status: 401 | 403;
  code: ErrorCode;
  message: string;
}

/** The outcome of verifying a room token. */
export type TokenCheck = { ok: true; claims: RoomTokenClaims } | TokenRefusal;

/**
 * Verifies signature, expiry and claims of a room token. When `room` is given, the token must be for it.
 * Never throws; a refusal says why.
 */
export async function verifyRoomToken(secret: string, token: string, room?: string): Promise<TokenCheck> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, encoder.encode(secret), { algorithms: ["HS256"] }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) {
      return { ok: false, status: 401, code: ErrorCode.tokenExpired, message: "the room token has expired" };
    }
    return { ok: false, status: 401, code: ErrorCode.tokenInvalid, message: "the room token is not valid" };
  }
  const parsed = RoomTokenClaims.safeParse(payload);
  if (!parsed.success) {
    return { ok: false, status: 401, code: ErrorCode.tokenInvalid, message: "the room token lacks required claims (room, sub, exp)" };
  }
  if (room !== undefined && parsed.data.room !== room) {
    return { ok: false, status: 403, code: ErrorCode.wrongRoom, message: "the room token is for another room" };
  }
  return { ok: true, claims: parsed.data };
}
