// @vitest-environment node
import { describe, expect, it } from "vitest";
import { SseParser } from "./sse";

describe("SseParser", () => {
  it("parses named events split across chunks", () => {
    const parser = new SseParser();
    expect(parser.push("event: status\nda")).toEqual([]);
    expect(parser.push('ta: {"a":1}\n')).toEqual([]);
    expect(parser.push("\nevent: status\ndata: 2\n\n")).toEqual([
      { event: "status", data: '{"a":1}' },
      { event: "status", data: "2" },
    ]);
  });

  it("joins multi-line data, ignores comments, defaults the event name", () => {
    const parser = new SseParser();
    expect(parser.push(": keep-alive\n\ndata: one\ndata: two\n\n")).toEqual([
      { event: "message", data: "one\ntwo" },
    ]);
  });

  it("handles CRLF line endings even when split between chunks", () => {
    const parser = new SseParser();
    expect(parser.push("event: status\r")).toEqual([]);
    expect(parser.push("\ndata: x\r\n\r\n")).toEqual([{ event: "status", data: "x" }]);
  });

  it("keeps id and retry fields", () => {
    const parser = new SseParser();
    expect(parser.push("id: 7\nretry: 1500\ndata: y\n\n")).toEqual([
      { event: "message", data: "y", id: "7", retry: 1500 },
    ]);
  });

  it("discards an unterminated event at end of stream", () => {
    const parser = new SseParser();
    parser.push("data: partial");
    expect(parser.end()).toEqual([]);
  });
});
