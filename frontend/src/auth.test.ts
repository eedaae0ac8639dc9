import { describe, expect, it } from "vitest";
import { restoreDevSession, tokenExpiry } from "./auth";

function jwt(claims: object): string {
  const encode = (value: object) =>
    btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${encode({ alg: "HS256" })}.${encode(claims)}.sig`;
}

describe("dev session", () => {
  it("reads the expiry of a token", () => {
    expect(tokenExpiry(jwt({ exp: 123 }))).toBe(123);
    expect(tokenExpiry("nonsense")).toBeNull();
  });

  it("restores a live session and drops an expired one", async () => {
    const live = jwt({ exp: Math.floor(Date.now() / 1000) + 3600 });
    localStorage.setItem(
      "euglena.devSession",
      JSON.stringify({ access_token: live, user_id: "u1", user: "demo" }),
    );
    const session = restoreDevSession();
    expect(session?.label).toBe("demo");
    expect(await session?.getToken()).toBe(live);

    const dead = jwt({ exp: 1 });
    localStorage.setItem(
      "euglena.devSession",
      JSON.stringify({ access_token: dead, user_id: "u1", user: "demo" }),
    );
    expect(restoreDevSession()).toBeNull();
    expect(localStorage.getItem("euglena.devSession")).toBeNull();
  });
});
