/**
 * Allocate (RFC 8656 §7.2). In order: a retransmission (same transaction id, same 5-tuple) gets the
 * stored response again; credentials (authenticate.ts); 437 when the 5-tuple already has an allocation;
 * REQUESTED-TRANSPORT (400 / 442, UDP only); DONT-FRAGMENT → 420 (Node cannot set DF on datagrams);
 * RESERVATION-TOKEN / EVEN-PORT / REQUESTED-ADDRESS-FAMILY combinations (400) and families (440);
 * draining (300 ALTERNATE-SERVER, signed as RFC 8489 §10 requires, or 508); quota (486 / 508);
 * a relay port (508 when the range is exhausted or a token is unknown); then the success response with
 * XOR-RELAYED-ADDRESS, LIFETIME, XOR-MAPPED-ADDRESS and, for EVEN-PORT with R, RESERVATION-TOKEN.
 */
import { randomUUID } from "node:crypto";
import { Allocation } from "../allocation/allocation.ts";
import type { RelayEndpoint } from "../allocation/allocation-manager.ts";
import { Attr, FAMILY_IPV4, FAMILY_IPV6, TRANSPORT_UDP } from "../stun/constants.ts";
import { encodeErrorCode } from "../stun/error-code.ts";
import { parseIp } from "../stun/ip.ts";
import { findAttribute, readBytes, readUint32, type StunMessage } from "../stun/message.ts";
import type { ClientConnection } from "../transports/connection.ts";
import { authenticate } from "./authenticate.ts";
import type { ServerContext } from "./context.ts";
import { grantedLifetimeSeconds, remainingSeconds } from "./lifetime.ts";
import { type Signing, sendError, sendSuccess } from "./respond.ts";

/** Handles an Allocate request. */
export async function handleAllocate(context: ServerContext, connection: ClientConnection, request: StunMessage): Promise<void> {
  const fiveTuple = connection.fiveTupleKey;
  const existing = context.allocations.get(fiveTuple);
  if (existing?.allocateResponse && existing.allocateTransactionId.equals(request.transactionId)) {
    connection.send(existing.allocateResponse);
    return;
  }
  // A retransmission while the first copy is still being processed: the client will send it again.
  if (context.pendingAllocations.has(fiveTuple)) {
    context.counters.droppedPackets++;
    return;
  }
  context.pendingAllocations.set(fiveTuple, Buffer.from(request.transactionId));
  try {
    await allocate(context, connection, request);
  } finally {
    context.pendingAllocations.delete(fiveTuple);
    context.checkDrained();
  }
}

async function allocate(context: ServerContext, connection: ClientConnection, request: StunMessage): Promise<void> {
  const auth = await authenticate(context, connection, request);
  if (auth === null) return;
  const signing: Signing = { key: auth.key, algorithm: auth.algorithm };
  if (auth.allocation !== undefined) {
    sendError(context, connection, request, 437, signing);
    return;
  }

  const transport = readBytes(request, Attr.RequestedTransport);
  if (transport === undefined || transport.length !== 4) {
    sendError(context, connection, request, 400, signing, undefined, "REQUESTED-TRANSPORT is required");
    return;
  }
  if (transport[0] !== TRANSPORT_UDP) {
    sendError(context, connection, request, 442, signing);
    return;
  }
  if (findAttribute(request, Attr.DontFragment) !== undefined) {
    // RFC 8656 §7.2: a server that cannot set DF treats DONT-FRAGMENT as an unknown comprehension-required attribute.
    sendError(context, connection, request, 420, signing, (builder) => builder.addUnknownAttributes([Attr.DontFragment]));
    return;
  }

  const evenPort = readBytes(request, Attr.EvenPort);
  const token = readBytes(request, Attr.ReservationToken);
  const requestedFamily = readBytes(request, Attr.RequestedAddressFamily);
  const additionalFamily = findAttribute(request, Attr.AdditionalAddressFamily);
  if (token !== undefined && (evenPort !== undefined || requestedFamily !== undefined || token.length !== 8)) {
    sendError(context, connection, request, 400, signing, undefined, "RESERVATION-TOKEN excludes EVEN-PORT and REQUESTED-ADDRESS-FAMILY");
    return;
  }
  if (evenPort !== undefined && evenPort.length < 1) {
    sendError(context, connection, request, 400, signing, undefined, "malformed EVEN-PORT");
    return;
  }
  if (requestedFamily !== undefined && additionalFamily !== undefined) {
    sendError(context, connection, request, 400, signing, undefined, "REQUESTED-ADDRESS-FAMILY excludes ADDITIONAL-ADDRESS-FAMILY");
    return;
  }
  if (additionalFamily !== undefined && request.raw[additionalFamily.offset] !== FAMILY_IPV6) {
    sendError(context, connection, request, 400, signing, undefined, "ADDITIONAL-ADDRESS-FAMILY must be IPv6");
    return;
  }
  let family: 4 | 6 = 4;
  if (requestedFamily !== undefined) {
    const code = requestedFamily.length === 4 ? requestedFamily[0] : -1;
    if (code !== FAMILY_IPV4 && code !== FAMILY_IPV6) {
      sendError(context, connection, request, 400, signing, undefined, "malformed REQUESTED-ADDRESS-FAMILY");
      return;
    }
    family = code === FAMILY_IPV6 ? 6 : 4;
  }
  const endpoint: RelayEndpoint | undefined = context.options.relayEndpoints.get(family);
  if (endpoint === undefined && token === undefined) {
    sendError(context, connection, request, 440, signing);
    return;
  }
  const lifetimeRequest = readUint32(request, Attr.Lifetime);
  if (lifetimeRequest === null) {
    sendError(context, connection, request, 400, signing, undefined, "malformed LIFETIME");
    return;
  }

  if (context.drain.active) {
    const alternate = context.drain.alternate;
    const alternateIp = alternate ? parseIp(alternate.address) : null;
    if (alternate && alternateIp) {
      sendError(context, connection, request, 300, signing, (builder) =>
        builder.addPlainAddress(Attr.AlternateServer, alternateIp, alternate.port),
      );
    } else {
      sendError(context, connection, request, 508, signing, undefined, "server is draining");
    }
    return;
  }
  const quota = context.options.quota?.(auth.user, {
    userAllocations: context.allocations.userAllocations(auth.user),
    totalAllocations: context.allocations.size,
  });
  if (quota !== undefined && quota !== "ok") {
    context.counters.quotaRefusals++;
    context.emit("quota-refused", { client: connection.source, user: auth.user, code: quota.code });
    sendError(context, connection, request, quota.code, signing, undefined, quota.reason);
    return;
  }

  const even = evenPort !== undefined;
  const reserveNext = even && (evenPort[0]! & 0x80) !== 0;
  const relay = await context.allocations.bindRelay(
    endpoint ?? (context.options.relayEndpoints.values().next().value as RelayEndpoint),
    even,
    reserveNext,
    token ?? null,
  );
  if (relay === null) {
    context.counters.quotaRefusals++;
    context.emit("quota-refused", { client: connection.source, user: auth.user, code: 508 });
    sendError(
      context,
      connection,
      request,
      508,
      signing,
      undefined,
      token ? "unknown or expired RESERVATION-TOKEN" : "no relay port available",
    );
    return;
  }
  if (context.closed || !connection.open || context.allocations.get(connection.fiveTupleKey) !== undefined) {
    context.allocations.discardRelay(relay);
    return;
  }

  const now = context.clock();
  const maxAge = context.options.maxAllocationAgeSeconds;
  const maxExpiresAt = maxAge > 0 ? now + maxAge * 1000 : Number.POSITIVE_INFINITY;
  const lifetime = grantedLifetimeSeconds(lifetimeRequest, context.options);
  const allocation = new Allocation({
    id: randomUUID(),
    connection,
    username: auth.username,
    user: auth.user,
    key: auth.key,
    family: relay.endpoint.family,
    relaySocket: relay.socket,
    relayBindAddress: relay.endpoint.bindAddress,
    relayPort: relay.port,
    relayAddress: relay.endpoint.reportedAddress,
    createdAt: now,
    expiresAt: Math.min(now + lifetime * 1000, maxExpiresAt),
    maxExpiresAt,
    allocateTransactionId: request.transactionId,
    maxBytesPerSecond: context.options.maxBytesPerSecond,
    context,
  });
  context.allocations.add(allocation);
  const clientIp = parseIp(connection.remoteAddress);
  allocation.allocateResponse = sendSuccess(context, connection, request, signing, (builder) => {
    builder.addXorAddress(Attr.XorRelayedAddress, relay.endpoint.reportedIp, relay.port);
    builder.addUint32(Attr.Lifetime, remainingSeconds(allocation.expiresAt, now));
    if (relay.reservationToken !== null) builder.addBytes(Attr.ReservationToken, relay.reservationToken);
    if (clientIp !== null) builder.addXorAddress(Attr.XorMappedAddress, clientIp, connection.remotePort);
    if (additionalFamily !== undefined) {
      // RFC 8656 §7.2: no dual allocation here; say so for the IPv6 family instead of failing the request.
      const value = encodeErrorCode(440, "Address Family not Supported");
      value[0] = FAMILY_IPV6;
      builder.addBytes(Attr.AddressErrorCode, value);
    }
  });
  context.emit("allocation-created", {
    allocationId: allocation.id,
    user: allocation.user,
    client: connection.source,
    relayAddress: allocation.relayAddress,
    relayPort: allocation.relayPort,
  });
  context.options.logger.info(
    {
      event: "allocation-created",
      allocationId: allocation.id,
      user: allocation.user,
      client: `${connection.transport}:${connection.remoteAddress}:${connection.remotePort}`,
      relay: `${allocation.relayAddress}:${allocation.relayPort}`,
    },
    "allocation created",
  );
}
