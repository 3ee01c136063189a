/**
 * The room's SQLite schema and every statement it runs. What is written when:
 * - join, leave, metadata change, drop and resume: the peer row, at once (membership events, not the hot path);
 * - durable frames: never per frame. A coalesced flush writes each recipient's unacked frames and seq counter;
 *   frames for a disconnected recipient are written through (there is no socket to be fast for);
 * - `last_client_seq` (the sender's processed cseq): with the coalesced flush, in the same transaction as every
 *   recipient's frames, so a stored cseq always comes with the stored effects of the frames it covers; and at
 *   once with a drop, a resume, or a frame written through for an absent recipient (room.ts #persist);
 * - `seq_reserve`: written when the first seq after a flush is handed out. The write precedes that frame's
 *   send, and the output gate holds the send until the write is durable, so a restart can always continue
 *   above every seq a client may have seen (https://developers.cloudflare.com/durable-objects/reference/in-memory-state/).
 */
import type { Metadata } from "../../protocol/messages.ts";
import type { PeerSession } from "./peers.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS room (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  empty_since INTEGER,
  seq_reserve INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS peers (
  peer_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  name TEXT,
  metadata TEXT NOT NULL,
  joined_at INTEGER NOT NULL,
  can_publish INTEGER NOT NULL,
  admin INTEGER NOT NULL,
  resume_token TEXT NOT NULL,
  token_key TEXT NOT NULL,
  token_exp INTEGER NOT NULL,
  connection_id TEXT NOT NULL,
  grace_until INTEGER NOT NULL,
  next_seq INTEGER NOT NULL,
  acked_seq INTEGER NOT NULL,
  last_client_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS frames (
  peer_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (peer_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS banned_tokens (
  token_key TEXT PRIMARY KEY,
  until INTEGER NOT NULL
);
`;

/** The room row. */
export interface RoomRow {
  name: string;
  createdAt: number;
  emptySince: number | null;
  /** 0 after a complete flush; > 0 while seqs may have been handed out beyond what storage holds. */
  seqReserve: number;
}

/** A peer row as loaded. */
export interface PeerRow {
  peerId: string;
  userId: string;
  name: string | undefined;
  metadata: Metadata;
  joinedAt: number;
  canPublishData: boolean;
  admin: boolean;
  resumeToken: string;
  tokenKey: string;
  tokenExp: number;
  connectionId: string;
  graceUntil: number;
  nextSeq: number;
  ackedSeq: number;
  /** Highest client cseq processed and stored with its effects. */
  lastClientSeq: number;
}

type SqlRow = Record<string, SqlStorageValue>;

/** Typed access to the room's tables. The schema is created on the first write, so reading an unknown room stores nothing. */
export class RoomStore {
  readonly #storage: DurableObjectStorage;
  readonly #sql: SqlStorage;
  #hasSchema: boolean;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#hasSchema = this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'room'").toArray().length > 0;
    if (this.#hasSchema) this.#migrate();
  }

  /** Brings a room stored by an earlier version up to the current schema (columns added since). */
  #migrate(): void {
    try {
      this.#sql.exec("SELECT last_client_seq FROM peers LIMIT 0");
    } catch {
      // Stored before client sequence numbers existed: every session starts at 0, as a fresh one does.
      this.#sql.exec("ALTER TABLE peers ADD COLUMN last_client_seq INTEGER NOT NULL DEFAULT 0");
    }
  }

  /** Forgets the schema after `deleteAll()` wiped the database. */
  forgetSchema(): void {
    this.#hasSchema = false;
  }

  #ensureSchema(): void {
    if (this.#hasSchema) return;
    this.#sql.exec(SCHEMA);
    this.#hasSchema = true;
  }

  /** The room row, or null for a room with no state. */
  loadRoom(): RoomRow | null {
    if (!this.#hasSchema) return null;
    const row = this.#sql.exec<SqlRow>("SELECT name, created_at, empty_since, seq_reserve FROM room WHERE id = 1").toArray()[0];
    if (!row) return null;
    return {
      name: String(row.name),
      createdAt: Number(row.created_at),
      emptySince: row.empty_since === null ? null : Number(row.empty_since),
      seqReserve: Number(row.seq_reserve),
    };
  }

  /** Creates the room row (first join). */
  createRoom(name: string, createdAt: number): void {
    this.#ensureSchema();
    this.#sql.exec("INSERT OR IGNORE INTO room (id, name, created_at, seq_reserve) VALUES (1, ?, ?, 0)", name, createdAt);
  }

  /** Records when the room became empty (null: it has peers). */
  setEmptySince(emptySince: number | null): void {
    if (!this.#hasSchema) return;
    this.#sql.exec("UPDATE room SET empty_since = ? WHERE id = 1", emptySince);
  }

  /** Writes the seq reserve (see the file comment). */
  setSeqReserve(reserve: number): void {
    this.#ensureSchema();
    this.#sql.exec("UPDATE room SET seq_reserve = ? WHERE id = 1", reserve);
  }

  /** Every peer row. */
  loadPeers(): PeerRow[] {
    if (!this.#hasSchema) return [];
    return this.#sql
      .exec<SqlRow>(
        `SELECT p.*, COALESCE((SELECT MAX(seq) FROM frames f WHERE f.peer_id = p.peer_id), 0) AS max_frame_seq FROM peers p ORDER BY joined_at, peer_id`,
      )
      .toArray()
      .map((row) => ({
        peerId: String(row.peer_id),
        userId: String(row.user_id),
        name: row.name === null ? undefined : String(row.name),
        metadata: JSON.parse(String(row.metadata)) as Metadata,
        joinedAt: Number(row.joined_at),
        canPublishData: row.can_publish === 1,
        admin: row.admin === 1,
        resumeToken: String(row.resume_token),
        tokenKey: String(row.token_key),
        tokenExp: Number(row.token_exp),
        connectionId: String(row.connection_id),
        graceUntil: Number(row.grace_until),
        // A frame written through may be newer than the last flushed counter.
        nextSeq: Math.max(Number(row.next_seq), Number(row.max_frame_seq) + 1),
        ackedSeq: Number(row.acked_seq),
        lastClientSeq: Number(row.last_client_seq),
      }));
  }

  /** Retained frames of one peer, in seq order. */
  loadFrames(peerId: string): { seq: number; body: string }[] {
    if (!this.#hasSchema) return [];
    return this.#sql
      .exec<SqlRow>("SELECT seq, body FROM frames WHERE peer_id = ? ORDER BY seq", peerId)
      .toArray()
      .map((row) => ({ seq: Number(row.seq), body: String(row.body) }));
  }

  /** Inserts or replaces a peer's row (join, resume, drop, metadata change). */
  savePeer(session: PeerSession): void {
    this.#ensureSchema();
    this.#sql.exec(
      `INSERT OR REPLACE INTO peers (peer_id, user_id, name, metadata, joined_at, can_publish, admin, resume_token, token_key,
         token_exp, connection_id, grace_until, next_seq, acked_seq, last_client_seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      session.peerId,
      session.userId,
      session.name ?? null,
      JSON.stringify(session.metadata),
      session.joinedAt,
      session.grants.canPublishData ? 1 : 0,
      session.grants.admin ? 1 : 0,
      session.resumeToken,
      session.tokenKey,
      session.tokenExp,
      session.connectionId,
      session.graceUntil,
      session.outbox.persistedNextSeq,
      session.outbox.persistedAckedSeq,
      // Like the seq counters, only what a flush stored: a cseq is stored together with its frames' effects.
      session.clientSeq.persisted,
    );
  }

  /** Deletes a peer and its retained frames. */
  deletePeer(peerId: string): void {
    if (!this.#hasSchema) return;
    this.#sql.exec("DELETE FROM frames WHERE peer_id = ?", peerId);
    this.#sql.exec("DELETE FROM peers WHERE peer_id = ?", peerId);
  }

  /** Brings one peer's stored frames, seq counters and processed cseq up to date with memory. */
  flushSession(session: PeerSession): void {
    const { peerId, outbox, clientSeq } = session;
    this.#ensureSchema();
    if (outbox.ackedSeq > outbox.persistedAckedSeq) {
      this.#sql.exec("DELETE FROM frames WHERE peer_id = ? AND seq <= ?", peerId, outbox.ackedSeq);
    }
    for (const frame of outbox.unpersisted()) {
      this.#sql.exec("INSERT OR REPLACE INTO frames (peer_id, seq, body) VALUES (?, ?, ?)", peerId, frame.seq, frame.text);
    }
    this.#sql.exec(
      "UPDATE peers SET next_seq = ?, acked_seq = ?, last_client_seq = ? WHERE peer_id = ?",
      outbox.nextSeq,
      outbox.ackedSeq,
      clientSeq.processed,
      peerId,
    );
    outbox.markPersisted();
    clientSeq.markPersisted();
  }

  /** Bans a room token (by tokenKey) until `until` (Unix seconds), e.g. the token of a kicked peer. */
  banToken(key: string, until: number): void {
    this.#ensureSchema();
    this.#sql.exec("INSERT OR REPLACE INTO banned_tokens (token_key, until) VALUES (?, ?)", key, until);
  }

  /** True when the token is banned at `nowSeconds`; expired bans are purged on the way. */
  isTokenBanned(key: string, nowSeconds: number): boolean {
    if (!this.#hasSchema) return false;
    this.#sql.exec("DELETE FROM banned_tokens WHERE until < ?", nowSeconds);
    return this.#sql.exec("SELECT 1 FROM banned_tokens WHERE token_key = ?", key).toArray().length > 0;
  }

  /** Runs `work` in one SQLite transaction (one commit, so one output-gate wait). */
  transaction(work: () => void): void {
    this.#storage.transactionSync(work);
  }
}
