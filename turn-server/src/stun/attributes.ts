/**
 * Which attributes this server understands (RFC 8489 §15: types 0x0000–0x7FFF are comprehension-required;
 * a request carrying one we do not understand is answered 420 with UNKNOWN-ATTRIBUTES, §6.3.1).
 */
import { Attr } from "./constants.ts";

/** Comprehension-required attributes the server processes or may safely accept. */
const UNDERSTOOD = new Set<number>([
  Attr.MappedAddress,
  Attr.Username,
  Attr.MessageIntegrity,
  Attr.ErrorCode,
  Attr.UnknownAttributes,
  Attr.ChannelNumber,
  Attr.Lifetime,
  Attr.XorPeerAddress,
  Attr.Data,
  Attr.Realm,
  Attr.Nonce,
  Attr.XorRelayedAddress,
  Attr.RequestedAddressFamily,
  Attr.EvenPort,
  Attr.RequestedTransport,
  // DONT-FRAGMENT is "understood" by the codec; the Allocate handler answers 420 for it (RFC 8656 §7.2)
  // because Node cannot set the DF bit on relayed datagrams.
  Attr.DontFragment,
  Attr.MessageIntegritySha256,
  Attr.XorMappedAddress,
  Attr.ReservationToken,
  // ICE attributes (RFC 8445 §16.1) that some agents put in Binding requests to any STUN server.
  Attr.Priority,
  Attr.UseCandidate,
]);

/** True for types 0x0000–0x7FFF (RFC 8489 §15). */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

/** True when a comprehension-required attribute is one the server understands. */
export function isUnderstood(type: number): boolean {
  return UNDERSTOOD.has(type);
}
