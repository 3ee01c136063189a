import { describe, expect, it } from "vitest";
import type { TurnCredential } from "../../protocol/turn-credentials.ts";
import { buildIceAnswer, type IceAnswerInput } from "./ice-answer.ts";

const credential: TurnCredential = { username: "1060:alice", credential: "c2VjcmV0", expiresAt: 1060 };

function input(extra: Partial<IceAnswerInput>): IceAnswerInput & { minted: number[] } {
  const minted: number[] = [];
  return {
    staticUrls: [],
    stunUrls: [],
    exclude: new Set(),
    ttlSeconds: 60,
    now: 1000,
    mint: async (ttl) => {
      minted.push(ttl);
      return credential;
    },
    minted,
    ...extra,
  };
}

describe("buildIceAnswer", () => {
  it("mints no credential when the answer holds no TURN URL", async () => {
    const request = input({ stunUrls: ["stun:stun.test"], primary: { id: "stun-only", urls: ["stun:node.test"] } });
    const result = await buildIceAnswer(request);
    expect(request.minted).toEqual([]);
    expect(result).toEqual({
      ok: true,
      answer: {
        iceServers: [{ urls: ["stun:stun.test"] }, { urls: ["stun:node.test"] }],
        ttl: 60,
        expiresAt: new Date(1_060_000).toISOString(),
        nodeId: "stun-only",
        warnings: ["no_turn_nodes"],
      },
    });
  });

  it("mints once for primary and backup, with the requested TTL", async () => {
    const request = input({ primary: { id: "a", urls: ["turn:a.test"] }, backup: { id: "b", urls: ["turn:b.test"] } });
    const result = await buildIceAnswer(request);
    expect(request.minted).toEqual([60]);
    if (!result.ok) throw new Error("unavailable");
    expect(result.answer.iceServers).toEqual([{ urls: ["turn:a.test"], username: "1060:alice", credential: "c2VjcmV0" }]);
    expect(result.answer.backup).toEqual({
      nodeId: "b",
      iceServers: [{ urls: ["turn:b.test"], username: "1060:alice", credential: "c2VjcmV0" }],
    });
  });

  it("uses the static fallback unless excluded, and is unavailable with nothing at all", async () => {
    const staticUrls = [
      "turn:coturn.test:3478",
      "turn:coturn.test:3478?transport=tcp",
      "turns:coturn.test:5349",
      "stun:coturn.test",
      "turn:coturn.test:3479",
    ];
    const fallback = await buildIceAnswer(input({ staticUrls }));
    if (!fallback.ok) throw new Error("unavailable");
    expect(fallback.answer.nodeId).toBe("static");
    expect(fallback.answer.iceServers.flatMap((server) => server.urls)).toHaveLength(4);
    expect(await buildIceAnswer(input({ staticUrls, exclude: new Set(["static"]) }))).toEqual({ ok: false, reason: "unavailable" });
    expect(await buildIceAnswer(input({}))).toEqual({ ok: false, reason: "unavailable" });
  });
});
