/**
 * Keep-alive frames, in a module of their own without zod so the browser client can import them
 * without bundling the schema library (messages.ts re-exports them).
 */

/** Exact text a client sends as a keep-alive; the server answers PONG_FRAME without waking the room. */
export const PING_FRAME = '{"type":"ping"}';
/** Exact text of the answer to PING_FRAME. */
export const PONG_FRAME = '{"type":"pong"}';
