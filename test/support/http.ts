/**
 * Plain HTTP GETs from the test process, or from inside a network namespace: the test runs in the host's
 * namespace, which has no route into the namespaces the blocked-path test builds (and gets none: addresses
 * of 10.77.0.0/16 live only inside them), so a probe there runs as a short Node process under `ip netns exec`.
 */
import { execFile } from "node:child_process";

/** The answer of a GET. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/** A GET of `url`; `undefined` when nothing answered (refused, timed out). `netns` runs it inside that namespace. */
export async function httpGet(
  url: string,
  options: { headers?: Record<string, string>; netns?: string; timeoutMs?: number } = {},
): Promise<HttpAnswer | undefined> {
  const timeoutMs = options.timeoutMs ?? 3000;
  if (options.netns === undefined) {
    try {
      const response = await fetch(url, { headers: options.headers, signal: AbortSignal.timeout(timeoutMs) });
      return { status: response.status, body: await response.text() };
    } catch {
      return undefined;
    }
  }
  const script = `
    const [url, headers, timeout] = process.argv.slice(1);
    try {
      const response = await fetch(url, { headers: JSON.parse(headers), signal: AbortSignal.timeout(Number(timeout)) });
      process.stdout.write(JSON.stringify({ status: response.status, body: await response.text() }));
    } catch {
      process.stdout.write("null");
    }`;
  return new Promise((resolve) => {
    execFile(
      "ip",
      [
        "netns",
        "exec",
        options.netns!,
        process.execPath,
        "--input-type=module",
        "-e",
        script,
        url,
        JSON.stringify(options.headers ?? {}),
        String(timeoutMs),
      ],
      { timeout: timeoutMs + 5000 },
      (error, stdout) => {
        if (error) return resolve(undefined);
        try {
          resolve((JSON.parse(stdout) as HttpAnswer | null) ?? undefined);
        } catch {
          resolve(undefined);
        }
      },
    );
  });
}
