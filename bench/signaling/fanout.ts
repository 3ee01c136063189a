/**
 * Workload 3 — fan-out in a 16-peer room: peer 0 broadcasts, one broadcast at a time; the sample is send →
 * arrival at the *last* of the 15 receivers. Room and BareRelay relay one `broadcast` frame; PeerJS has no
 * broadcast, so its sender writes 15 unicasts (all encoded before the clock starts).
 */
import { performance } from "node:perf_hooks";
import type { BenchClient } from "./bench-client.ts";
import { type Receipt, receipt } from "./receipt.ts";
import { benchData } from "./targets.ts";

/** A room of clients; clients[0] broadcasts. */
export interface FanoutRoom {
  clients: BenchClient[];
  nextIndex: number;
}

/** Sizes of one round. */
export interface FanoutRound {
  warmUpBroadcasts: number;
  measuredBroadcasts: number;
  broadcastTimeoutMs: number;
}

/** Runs one round, appending last-receiver latencies (ms) to `samples`. Throws when a receiver misses one. */
export async function fanoutRound(room: FanoutRoom, round: FanoutRound, samples: number[]): Promise<void> {
  const [sender, ...receivers] = room.clients;
  if (!sender || receivers.length === 0) throw new Error("fan-out needs a sender and receivers");
  const dialect = sender.dialect;
  const others = receivers.map((receiver) => receiver.peerId);
  let expected = -1;
  let remaining = 0;
  const arrived = new Uint8Array(receivers.length);
  let waiting: Receipt<number> | undefined;
  receivers.forEach((receiver, position) => {
    receiver.onPayload = (data, receivedAt) => {
      if (data.i !== expected || arrived[position] === 1) return; // a duplicate must not count as another receiver
      arrived[position] = 1;
      if (--remaining === 0) waiting?.resolve(receivedAt);
    };
  });
  try {
    for (let sent = 0; sent < round.warmUpBroadcasts + round.measuredBroadcasts; sent++) {
      expected = room.nextIndex++;
      const texts = dialect.broadcast(benchData(0, expected), others);
      remaining = receivers.length;
      arrived.fill(0);
      waiting = receipt<number>(round.broadcastTimeoutMs, `${dialect.name} broadcast ${expected}`);
      const sentAt = performance.now();
      for (const text of texts) sender.send(text);
      const lastArrival = await waiting.promise;
      if (sent >= round.warmUpBroadcasts) samples.push(lastArrival - sentAt);
    }
  } finally {
    for (const receiver of receivers) receiver.onPayload = () => {};
  }
}
