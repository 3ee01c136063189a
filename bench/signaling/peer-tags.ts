/**
 * The bench relays' one per-socket fact, the peer id, kept as the socket's tag so it survives hibernation
 * (shared by BareRelay and AblationRelay).
 */

const PEER_TAG_PREFIX = "peer:";

/** The tag for `peer` (pass it to ctx.acceptWebSocket). */
export function peerTag(peer: string): string {
  return PEER_TAG_PREFIX + peer;
}

/** The peer id in a socket's tags, if any. */
export function peerOf(tags: string[]): string | undefined {
  const tag = tags.find((candidate) => candidate.startsWith(PEER_TAG_PREFIX));
  return tag?.slice(PEER_TAG_PREFIX.length);
}

/** peer id → socket, rebuilt from the tags of the object's (possibly hibernated) sockets. */
export function socketsByPeer(ctx: DurableObjectState): Map<string, WebSocket> {
  const peers = new Map<string, WebSocket>();
  for (const ws of ctx.getWebSockets()) {
    const peer = peerOf(ctx.getTags(ws));
    if (peer !== undefined) peers.set(peer, ws);
  }
  return peers;
}
