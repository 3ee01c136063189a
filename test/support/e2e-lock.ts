/**
 * One browser scenario at a time across vitest workers: each e2e file runs two or three Chromium
 * instances, wrangler and TURN nodes, and two of those at once on a 2-core CI machine turn timing
 * assertions (frames within 10 s) into noise. A directory is the lock (mkdir is atomic); it records the
 * holder's pid so a lock left by a crashed run is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const LOCK_DIR = join(tmpdir(), "switchboard-e2e.lock");

function holderAlive(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(LOCK_DIR, "pid"), "utf8"));
  } catch {
    // Just created, pid not written yet: treat as alive.
    return true;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Waits (at most `timeoutMs`) until this process holds the e2e lock; returns the function that releases it. */
export async function acquireE2eLock(owner: string, timeoutMs = 600_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; Date.now() < deadline && attempt < 100_000; attempt++) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(join(LOCK_DIR, "pid"), String(process.pid));
      writeFileSync(join(LOCK_DIR, "owner"), owner);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(LOCK_DIR, { recursive: true, force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (!holderAlive()) {
      rmSync(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    await sleep(500);
  }
  throw new Error(`could not get the e2e lock ${LOCK_DIR} within ${timeoutMs} ms (held by ${lockOwner()})`);
}

function lockOwner(): string {
  try {
    return readFileSync(join(LOCK_DIR, "owner"), "utf8");
  } catch {
    return "unknown";
  }
}
