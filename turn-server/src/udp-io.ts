/**
 * --udp-io: which DatagramIo the relay runs on. `native` (the batched recvmmsg/sendmmsg addon) must load
 * or start-up fails; `auto` uses it when it loads and says why not when it falls back to Node's dgram.
 */
import type { UdpIoMode } from "./config.ts";
import type { DatagramIo } from "./transports/datagram.ts";
import { dgramIo } from "./transports/dgram-io.ts";
import { loadNativeIo } from "./transports/native-io.ts";

/**
 * The chosen implementation and, when auto fell back, why. Throws when `native` was asked for and cannot
 * load. `load` is the native loader (tests pass one that fails).
 */
export function selectUdpIo(mode: UdpIoMode, load: () => DatagramIo = loadNativeIo): { io: DatagramIo; fallbackReason: string | null } {
  if (mode === "dgram") return { io: dgramIo, fallbackReason: null };
  try {
    return { io: load(), fallbackReason: null };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (mode === "native") throw new Error(`--udp-io=native: ${reason}`);
    return { io: dgramIo, fallbackReason: reason };
  }
}
