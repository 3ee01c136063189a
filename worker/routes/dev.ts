/** Development-only helpers (e.g. minting a room token); every route answers 404 outside ENVIRONMENT=development. */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";

/** Routes mounted at /dev. */
export const devRoutes = new Hono<AppEnv>();
