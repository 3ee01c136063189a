/** Worker entry point: the HTTP app plus the Durable Object classes wrangler.toml binds. */
import { createApp } from "./app.ts";

export { Registry } from "./registry/registry.ts";
export { Room } from "./room/room.ts";

export default createApp();
