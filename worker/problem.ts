/** HTTP problem answers (RFC 9457) with a Switchboard error code: the one error shape of every route. */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ErrorCode, PROBLEM_CONTENT_TYPE, type Problem } from "../protocol/errors.ts";

/** Builds a problem+json Response. `extra` adds machine-readable members (e.g. `setting`, `field`). */
export function problemResponse(
  status: number,
  code: ErrorCode,
  detail: string,
  extra: Record<string, unknown> = {},
  headers?: HeadersInit,
): Response {
  const body: Problem = {
    type: `https://switchboard.dev/problems/${code}`,
    title: code.replaceAll("_", " "),
    status,
    code,
    detail,
    ...extra,
  };
  const response = new Response(JSON.stringify(body), { status, headers });
  response.headers.set("content-type", PROBLEM_CONTENT_TYPE);
  response.headers.set("cache-control", "no-store");
  return response;
}

/** A refusal thrown anywhere in a request; the app's onError turns it into a problem answer. */
export class ProblemError extends HTTPException {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly extra: Record<string, unknown>;
  readonly extraHeaders: HeadersInit | undefined;

  constructor(status: number, code: ErrorCode, detail: string, extra: Record<string, unknown> = {}, headers?: HeadersInit) {
    super(status as ContentfulStatusCode, { message: detail });
    this.code = code;
    this.detail = detail;
    this.extra = extra;
    this.extraHeaders = headers;
  }

  override getResponse(): Response {
    return problemResponse(this.status, this.code, this.detail, this.extra, this.extraHeaders);
  }
}
