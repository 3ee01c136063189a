import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { IceConfigResponse } from "../../protocol/ice.ts";
import { SwitchboardError } from "./client-error.ts";
import { getIceServers, IceConfigProvider, nodeIdForUrl } from "./ice.ts";

interface Call {
  url: URL;
  authorization: string | null;
}

/** A fake /v1/ice: records requests and answers with node "a" unless excluded (then "b"). */
function fakeIce(options: { ttl?: number; status?: number; warnings?: string[]; fail?: () => boolean } = {}) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    calls.push({ url, authorization: new Headers(init?.headers).get("authorization") });
    if (options.fail?.()) throw new TypeError("fetch failed");
    if (options.status && options.status !== 200) {
      return new Response(JSON.stringify({ code: "token_invalid", detail: "the room token is not valid", status: options.status }), {
        status: options.status,
        headers: { "content-type": "application/problem+json" },
      });
    }
    const excluded = (url.searchParams.get("exclude") ?? "").split(",");
    const nodeId = excluded.includes("a") ? "b" : "a";
    const body: IceConfigResponse = {
      iceServers: [
        {
          urls: [`turn:turn-${nodeId}.test:3478?transport=udp`, `turns:turn-${nodeId}.test:5349?transport=tcp`],
          username: "u",
          credential: "c",
        },
      ],
      ttl: options.ttl ?? 100,
      expiresAt: new Date(Date.now() + (options.ttl ?? 100) * 1000).toISOString(),
      nodeId,
      ...(options.warnings ? { warnings: options.warnings } : {}),
    };
    return Response.json(body);
  });
  return { calls, fetch: fetch as unknown as typeof globalThis.fetch };
}

describe("getIceServers", () => {
  it("asks /v1/ice with the room, exclusions, ttl and a bearer credential", async () => {
    const ice = fakeIce();
    const config = await getIceServers({
      baseUrl: "https://sb.test/prefix",
      token: () => "tok",
      room: "r1",
      exclude: ["x", "y"],
      ttlSeconds: 120,
      fetch: ice.fetch,
    });
    expect(config.nodeId).toBe("a");
    const [call] = ice.calls;
    expect(call?.url.pathname).toBe("/prefix/v1/ice");
    expect(call?.url.searchParams.get("room")).toBe("r1");
    expect(call?.url.searchParams.get("exclude")).toBe("x,y");
    expect(call?.url.searchParams.get("ttl")).toBe("120");
    expect(call?.authorization).toBe("Bearer tok");
  });

  it("turns a problem answer into a SwitchboardError with its code and status", async () => {
    const ice = fakeIce({ status: 401 });
    const error = await getIceServers({ baseUrl: "https://sb.test", apiKey: "k", fetch: ice.fetch }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SwitchboardError);
    expect(error).toMatchObject({ code: "token_invalid", status: 401, message: "the room token is not valid" });
  });

  it("reports an unreachable server as code `network`", async () => {
    const ice = fakeIce({ fail: () => true });
    await expect(getIceServers({ baseUrl: "https://sb.test", fetch: ice.fetch })).rejects.toMatchObject({ code: "network" });
  });
});

describe("IceConfigProvider", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => vi.useRealTimers());

  it("serves the cached config until 80 % of the ttl, then fetches a fresh one", async () => {
    const ice = fakeIce({ ttl: 100 });
    const provider = new IceConfigProvider({ baseUrl: "https://sb.test", token: "t", room: "r", fetch: ice.fetch });
    const first = await provider.get();
    expect(first.renewAt - first.fetchedAt).toBe(80_000);
    expect(first.expiresAtMs - first.fetchedAt).toBe(100_000);
    vi.advanceTimersByTime(79_999);
    expect(await provider.get()).toBe(first);
    expect(ice.calls).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const second = await provider.get();
    expect(second).not.toBe(first);
    expect(ice.calls).toHaveLength(2);
  });

  it("shares one request among concurrent callers", async () => {
    const ice = fakeIce();
    const provider = new IceConfigProvider({ baseUrl: "https://sb.test", token: "t", fetch: ice.fetch });
    const [a, b, c] = await Promise.all([provider.get(), provider.get(), provider.get()]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(ice.calls).toHaveLength(1);
  });

  it("renews automatically before expiry and announces each config (for setConfiguration)", async () => {
    const ice = fakeIce({ ttl: 100 });
    const provider = new IceConfigProvider({ baseUrl: "https://sb.test", token: "t", fetch: ice.fetch });
    const seen: number[] = [];
    provider.on("config", (config) => seen.push(config.fetchedAt));
    provider.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([1_000_000]);
    await vi.advanceTimersByTimeAsync(79_999);
    expect(seen).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual([1_000_000, 1_080_000]);
    await vi.advanceTimersByTimeAsync(80_000);
    expect(seen).toEqual([1_000_000, 1_080_000, 1_160_000]);
    // Every renewal happened while the previous credentials were still valid.
    for (let index = 1; index < seen.length; index++) expect(seen[index]! - seen[index - 1]!).toBeLessThan(100_000);
    provider.stop();
    await vi.advanceTimersByTimeAsync(500_000);
    expect(seen).toHaveLength(3);
  });

  it("never renews more often than once a second, whatever the ttl", async () => {
    const ice = fakeIce({ ttl: 0 });
    const provider = new IceConfigProvider({ baseUrl: "https://sb.test", token: "t", fetch: ice.fetch });
    provider.start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(ice.calls.length).toBeLessThanOrEqual(6);
    provider.stop();
  });

  it("retries a failed automatic renewal with growing delays and reports each failure", async () => {
    let failing = false;
    const ice = fakeIce({ ttl: 100, fail: () => failing });
    const provider = new IceConfigProvider({ baseUrl: "https://sb.test", token: "t", fetch: ice.fetch, retryDelayMs: 1000 });
    const errors: string[] = [];
    provider.on("error", (error) => errors.push(error.code));
    provider.start();
    await vi.advanceTimersByTimeAsync(0);
    failing = true;
    await vi.advanceTimersByTimeAsync(80_000);
    expect(errors).toEqual(["network"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(errors).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1999);
    expect(errors).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(errors).toHaveLength(3);
    failing = false;
    await vi.advanceTimersByTimeAsync(4000);
    expect(provider.current?.fetchedAt).toBe(1_000_000 + 80_000 + 1000 + 2000 + 4000);
    provider.stop();
  });

  it("excludes a failed node in this and later fetches, and the connections failing together share one fetch", async () => {
    const ice = fakeIce();
    const provider = new IceConfigProvider({ baseUrl: "https://sb.test", token: "t", fetch: ice.fetch, excludeForMs: 30_000 });
    expect((await provider.get()).nodeId).toBe("a");
    const fresh = await Promise.all([provider.renew({ exclude: "a" }), provider.renew({ exclude: "a" }), provider.renew({ exclude: "a" })]);
    expect(fresh.map((config) => config.nodeId)).toEqual(["b", "b", "b"]);
    expect(ice.calls).toHaveLength(2);
    expect(ice.calls[1]?.url.searchParams.get("exclude")).toBe("a");
    // A moment later another connection reports the same node: the fresh config already avoids it.
    vi.advanceTimersByTime(1000);
    expect((await provider.renew({ exclude: "a" })).nodeId).toBe("b");
    expect(ice.calls).toHaveLength(2);
    // Plain renewals keep excluding it until excludeForMs has passed.
    await provider.renew();
    expect(ice.calls[2]?.url.searchParams.get("exclude")).toBe("a");
    vi.advanceTimersByTime(30_000);
    await provider.renew();
    expect(ice.calls[3]?.url.searchParams.has("exclude")).toBe(false);
  });

  it("falls back to the excluded node when excluding it leaves none", async () => {
    const calls: string[] = [];
    const fetch = (async (input: string | URL | Request) => {
      const url = new URL(String(input));
      calls.push(url.searchParams.get("exclude") ?? "");
      if (url.searchParams.get("exclude")) {
        return Response.json({ code: "no_turn_nodes", detail: "no TURN node is live", status: 503 }, { status: 503 });
      }
      return Response.json({ iceServers: [{ urls: ["turn:only.test:3478"] }], ttl: 100, expiresAt: "", nodeId: "only" });
    }) as typeof globalThis.fetch;
    const provider = new IceConfigProvider({ baseUrl: "https://sb.test", token: "t", fetch });
    expect((await provider.renew({ exclude: "only" })).nodeId).toBe("only");
    expect(calls).toEqual(["only", ""]);
    await provider.renew();
    expect(calls).toEqual(["only", "", ""]);
  });

  it("emits each server warning (e.g. no_turn_nodes)", async () => {
    const ice = fakeIce({ warnings: ["no_turn_nodes"] });
    const provider = new IceConfigProvider({ baseUrl: "https://sb.test", token: "t", fetch: ice.fetch });
    const warnings: string[] = [];
    provider.on("warning", ({ code }) => warnings.push(code));
    await provider.get();
    expect(warnings).toEqual(["no_turn_nodes"]);
  });

  it("rejects a renewFraction outside (0, 1)", () => {
    expect(() => new IceConfigProvider({ baseUrl: "https://sb.test", renewFraction: 1 })).toThrow(/renewFraction/);
  });
});

describe("nodeIdForUrl", () => {
  const config: IceConfigResponse = {
    iceServers: [{ urls: ["turn:a.test:3478?transport=udp", "turns:a.test:5349?transport=tcp"] }],
    ttl: 60,
    expiresAt: "",
    nodeId: "node-a",
    backup: { nodeId: "node-b", iceServers: [{ urls: ["turn:b.test:3478?transport=udp"] }] },
  };

  it("maps a relay candidate's server URL to its node, ignoring the query and case", () => {
    expect(nodeIdForUrl(config, "turn:A.test:3478")).toBe("node-a");
    expect(nodeIdForUrl(config, "turns:a.test:5349?transport=tcp")).toBe("node-a");
    expect(nodeIdForUrl(config, "turn:b.test:3478?transport=udp")).toBe("node-b");
    expect(nodeIdForUrl(config, "turn:c.test:3478")).toBeUndefined();
    expect(nodeIdForUrl(undefined, "turn:a.test:3478")).toBeUndefined();
  });
});
