/**
 * Builds the `GET /v1/ice` answer (protocol/ice.ts IceConfigResponse) from the selected nodes. The
 * `iceServers` list holds STUN_URLS and ONE node's URLs (at most four): a browser allocates a relay on
 * every TURN URL it is given, so listing two nodes would double every call's relay cost. The backup node
 * travels in its own field with the same credential (every node shares TURN_SECRETS).
 */
import type { IceConfigResponse, IceServer } from "../../protocol/ice.ts";
import type { TurnCredential } from "../../protocol/turn-credentials.ts";
import { pickNodeUrls } from "./ice-url.ts";

/** The id under which TURN_STATIC_URLS appear in answers (and may be excluded with `?exclude=static`). */
export const STATIC_NODE_ID = "static";

/** A node as the answer needs it: an id and its advertised URLs. */
export interface AnswerNode {
  id: string;
  urls: readonly string[];
}

/** Everything an answer is made of. */
export interface IceAnswerInput {
  primary?: AnswerNode;
  backup?: AnswerNode;
  /** TURN_STATIC_URLS: primary when no node is eligible, else backup when there is no second node. */
  staticUrls: readonly string[];
  /** STUN_URLS, listed first in every answer. */
  stunUrls: readonly string[];
  /** Node ids the client excluded (`static` excludes the static fallback too). */
  exclude: ReadonlySet<string>;
  ttlSeconds: number;
  /** Unix seconds now. */
  now: number;
  /** Mints the credential; called only when the answer holds a TURN URL. */
  mint: (ttlSeconds: number) => Promise<TurnCredential>;
  /** Warnings gathered earlier (e.g. `registry_unavailable`). */
  warnings?: readonly string[];
}

/** An answer, or `unavailable` when there is nothing at all to hand out (no node, no static URL, no STUN). */
export type IceAnswerResult = { ok: true; answer: IceConfigResponse } | { ok: false; reason: "unavailable" };

/** Builds the answer; see the module comment for what goes where. */
export async function buildIceAnswer(input: IceAnswerInput): Promise<IceAnswerResult> {
  const fallback: AnswerNode | undefined =
    input.staticUrls.length > 0 && !input.exclude.has(STATIC_NODE_ID) ? { id: STATIC_NODE_ID, urls: input.staticUrls } : undefined;
  let primary = input.primary;
  let backup = input.backup;
  if (!primary) {
    primary = fallback;
    backup = undefined;
  } else if (!backup) {
    backup = fallback;
  }
  if (!primary && input.stunUrls.length === 0) return { ok: false, reason: "unavailable" };

  const primaryUrls = primary ? pickNodeUrls(primary.urls) : { stun: [], turn: [] };
  const backupUrls = backup ? pickNodeUrls(backup.urls) : { stun: [], turn: [] };
  const credential = primaryUrls.turn.length > 0 || backupUrls.turn.length > 0 ? await input.mint(input.ttlSeconds) : undefined;

  const iceServers: IceServer[] = [];
  if (input.stunUrls.length > 0) iceServers.push({ urls: [...input.stunUrls] });
  iceServers.push(...nodeServers(primaryUrls, credential));

  const answer: IceConfigResponse = {
    iceServers,
    ttl: input.ttlSeconds,
    expiresAt: new Date((credential?.expiresAt ?? input.now + input.ttlSeconds) * 1000).toISOString(),
  };
  if (primary) answer.nodeId = primary.id;
  if (backup) answer.backup = { nodeId: backup.id, iceServers: nodeServers(backupUrls, credential) };
  const warnings = [...(input.warnings ?? [])];
  if (primaryUrls.turn.length === 0) warnings.push("no_turn_nodes");
  if (warnings.length > 0) answer.warnings = warnings;
  return { ok: true, answer };
}

function nodeServers(urls: { stun: string[]; turn: string[] }, credential: TurnCredential | undefined): IceServer[] {
  const servers: IceServer[] = [];
  if (urls.stun.length > 0) servers.push({ urls: urls.stun });
  if (urls.turn.length > 0 && credential)
    servers.push({ urls: urls.turn, username: credential.username, credential: credential.credential });
  return servers;
}
