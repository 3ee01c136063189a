/** IP text ⇄ bytes: parsing edge cases and formatting identical to Node's (libuv's) rendering. */
import { SocketAddress } from "node:net";
import { describe, expect, it } from "vitest";
import { canonicalIp, formatIpv6, parseIp, parseIpv4, unmapIpv4 } from "./ip.ts";

describe("parseIpv4", () => {
  it("accepts dotted quads only", () => {
    expect(parseIpv4("127.0.0.1")).toBe(0x7f000001);
    expect(parseIpv4("255.255.255.255")).toBe(0xffffffff);
    for (const bad of ["127.1", "256.0.0.1", "01.2.3.4", "1.2.3.4.5", "1..2.3", "", "a.b.c.d", "1.2.3.4 "]) expect(parseIpv4(bad)).toBe(-1);
  });
});

describe("parseIp", () => {
  it("parses IPv6 forms including compression, embedded IPv4 and zones", () => {
    expect(canonicalIp("0:0:0:0:0:0:0:1")).toBe("::1");
    expect(canonicalIp("::ffff:127.0.0.1")).toBe("::ffff:127.0.0.1");
    expect(canonicalIp("fe80::1%lo")).toBe("fe80::1");
    expect(canonicalIp("2001:DB8::")).toBe("2001:db8::");
    for (const bad of [":::", "1::2::3", "12345::", "::g", "1:2:3:4:5:6:7:8:9", ":1::", "1:2:3:4:5:6:7:", "::1.2.3"]) {
      expect(parseIp(bad), bad).toBeNull();
    }
  });

  it("unmaps IPv4-mapped client addresses of dual-stack sockets", () => {
    expect(unmapIpv4("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(unmapIpv4("::1")).toBe("::1");
  });
});

describe("formatIpv6", () => {
  it("matches Node's own rendering for random and tricky addresses", () => {
    const cases: Uint8Array[] = [];
    const words = (...values: number[]) => {
      const bytes = new Uint8Array(16);
      values.forEach((value, index) => {
        bytes[index * 2] = value >>> 8;
        bytes[index * 2 + 1] = value & 0xff;
      });
      return bytes;
    };
    cases.push(words(0, 0, 0, 0, 0, 0, 0, 0), words(0, 0, 0, 0, 0, 0, 0, 1), words(0, 0, 0, 0, 0, 0, 0, 2));
    cases.push(words(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1), words(0, 0, 0, 0, 0, 0, 0x7f00, 1), words(0, 0, 0, 0, 0xffff, 0, 0x7f00, 1));
    cases.push(words(1, 0, 0, 1, 0, 0, 0, 1), words(1, 0, 1, 0, 1, 0, 1, 0), words(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1));
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let i = 0; i < 2000; i++) {
      // Mostly zeros so that runs of zero words (the hard part) are common.
      cases.push(words(...Array.from({ length: 8 }, () => (random() % 3 === 0 ? random() : 0))));
    }
    for (const bytes of cases) {
      const ours = formatIpv6(bytes);
      const node = new SocketAddress({ address: ours, family: "ipv6" }).address;
      expect(ours).toBe(node);
      expect(parseIp(ours)).toEqual(bytes);
    }
  });
});
