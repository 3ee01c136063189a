/** Room tokens from a development worker, for tests that drive the client or the demo page directly. */

/** Mints a room token through the development-only route `GET /dev/token` of the worker at `origin`. */
export async function devToken(origin: string, room: string, user: string): Promise<string> {
  const response = await fetch(`${origin}/dev/token?room=${encodeURIComponent(room)}&user=${encodeURIComponent(user)}`);
  if (!response.ok) throw new Error(`GET /dev/token answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}
