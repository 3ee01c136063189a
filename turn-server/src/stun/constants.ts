/**
 * STUN/TURN numbers: header layout (RFC 8489 §5), methods and classes (RFC 8489 §5, RFC 8656 §17),
 * attribute types (RFC 8489 §18.3, RFC 8656 §18). Plain `as const` objects: `erasableSyntaxOnly` forbids enums.
 */

/** RFC 8489 §5: fixed value in bytes 4–7 of every STUN message. */
export const MAGIC_COOKIE = 0x2112a442;
/** RFC 8489 §5: 20-byte header (type, length, cookie, 96-bit transaction id). */
export const HEADER_LENGTH = 20;
/** Bytes of the transaction id. */
export const TRANSACTION_ID_LENGTH = 12;
/** RFC 8489 §14.7: FINGERPRINT is CRC-32 XOR this ("STUN"). */
export const FINGERPRINT_XOR = 0x5354554e;

/** STUN/TURN methods (12-bit). */
export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

/** Message classes (the C1C0 bits of the type). */
export const MessageClass = {
  Request: 0b00,
  Indication: 0b01,
  SuccessResponse: 0b10,
  ErrorResponse: 0b11,
} as const;

/** Attribute types this server reads or writes. 0x0000–0x7FFF are comprehension-required. */
export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedAddressFamily: 0x0017,
  EvenPort: 0x0018,
  RequestedTransport: 0x0019,
  DontFragment: 0x001a,
  MessageIntegritySha256: 0x001c,
  PasswordAlgorithm: 0x001d,
  Userhash: 0x001e,
  XorMappedAddress: 0x0020,
  ReservationToken: 0x0022,
  Priority: 0x0024,
  UseCandidate: 0x0025,
  AdditionalAddressFamily: 0x8000,
  AddressErrorCode: 0x8001,
  PasswordAlgorithms: 0x8002,
  AlternateDomain: 0x8003,
  Software: 0x8022,
  AlternateServer: 0x8023,
  Fingerprint: 0x8028,
  IceControlled: 0x8029,
  IceControlling: 0x802a,
} as const;

/** RFC 8656 §14.7: REQUESTED-TRANSPORT protocol number for UDP (the only one relayed). */
export const TRANSPORT_UDP = 17;
/** RFC 8656 §14.1: address family codes in REQUESTED-ADDRESS-FAMILY and address attributes. */
export const FAMILY_IPV4 = 0x01;
export const FAMILY_IPV6 = 0x02;

/** RFC 8656 §12: channel numbers a client may bind. */
export const MIN_CHANNEL_NUMBER = 0x4000;
export const MAX_CHANNEL_NUMBER = 0x4fff;
/** RFC 5766 §11 allowed up to 0x7FFF; some clients (coturn's turnutils_uclient) still use that range. */
export const LEGACY_MAX_CHANNEL_NUMBER = 0x7fff;

/** RFC 8656 §9: permission lifetime, not refreshable by the client's choice. */
export const PERMISSION_LIFETIME_SECONDS = 300;
/** RFC 8656 §12: channel binding lifetime. */
export const CHANNEL_LIFETIME_SECONDS = 600;
/** RFC 8656 §12: after expiry a channel number/peer pair stays reserved this long. */
export const CHANNEL_COOLDOWN_SECONDS = 300;
/** RFC 8656 §7.2: a RESERVATION-TOKEN is held "about 30 seconds". */
export const RESERVATION_LIFETIME_SECONDS = 30;
