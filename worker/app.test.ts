import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("app", () => {
  it("answers /healthz", async () => {
    const response = await SELF.fetch("https://switchboard.test/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("answers unknown routes with a 404 problem", async () => {
    const response = await SELF.fetch("https://switchboard.test/v1/nope");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const body = (await response.json()) as { code: string; status: number };
    expect(body).toMatchObject({ code: "not_found", status: 404 });
  });
});
