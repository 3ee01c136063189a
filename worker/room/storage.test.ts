import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Room } from "./room.ts";
import { roomStub, TestPeer, uniqueRoom } from "./testing.ts";

/** The `room` and `peers` tables as stored before client sequence numbers (no `last_client_seq`). */
const SCHEMA_BEFORE_CSEQ = `
CREATE TABLE room (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, created_at INTEGER NOT NULL,
  empty_since INTEGER, seq_reserve INTEGER NOT NULL DEFAULT 0);
CREATE TABLE peers (peer_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, name TEXT, metadata TEXT NOT NULL,
  joined_at INTEGER NOT NULL, can_publish INTEGER NOT NULL, admin INTEGER NOT NULL, resume_token TEXT NOT NULL,
  token_key TEXT NOT NULL, token_exp INTEGER NOT NULL, connection_id TEXT NOT NULL, grace_until INTEGER NOT NULL,
  next_seq INTEGER NOT NULL, acked_seq INTEGER NOT NULL);
CREATE TABLE frames (peer_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (peer_id, seq)) WITHOUT ROWID;
CREATE TABLE banned_tokens (token_key TEXT PRIMARY KEY, until INTEGER NOT NULL);
`;

describe("room storage", () => {
  it("upgrades a room stored by an earlier version: its peers keep their session and start at cseq 0", async () => {
    const room = uniqueRoom();
    const graceUntil = Date.now() + 30_000;
    await runInDurableObject(roomStub(room), (_instance: Room, state) => {
      state.storage.sql.exec(SCHEMA_BEFORE_CSEQ);
      state.storage.sql.exec("INSERT INTO room (id, name, created_at, seq_reserve) VALUES (1, ?, ?, 0)", room, Date.now());
      state.storage.sql.exec(
        `INSERT INTO peers VALUES ('old-peer', 'a', NULL, '{}', ?, 1, 0, 'old-resume-token', 'a', 9999999999, 'c1', ?, 1, 0)`,
        Date.now(),
        graceUntil,
      );
    });
    await evictDurableObject(roomStub(room)); // the next instance loads the old tables

    const a = await TestPeer.connect(room, "a", { resume: "old-resume-token", lastSeq: 0 });
    expect(a.welcome).toMatchObject({ peerId: "old-peer", resumed: true, lastClientSeq: 0 });
    const b = await TestPeer.connect(room, "b");
    expect(b.welcome.peers.map((peer) => peer.peerId)).toEqual(["old-peer"]);
    a.send({ type: "signal", to: b.peerId, data: "numbered", cseq: 1 });
    expect(await b.expect("signal")).toMatchObject({ data: "numbered" });
    expect(await a.expect("peer-joined")).toMatchObject({ peerId: b.peerId });
    expect(await a.expect("client-ack")).toEqual({ type: "client-ack", cseq: 1 });
  });
});
