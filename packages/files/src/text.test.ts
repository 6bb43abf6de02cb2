import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { decodeUtf8, readUtf8Lines } from "./text.js";

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));

async function lines(chunks: Uint8Array[]): Promise<string[]> {
  const out: string[] = [];
  for await (const line of readUtf8Lines(Readable.from(chunks), "in.jsonl")) out.push(line);
  return out;
}

describe("the UTF-8 policy", () => {
  it("drops a leading BOM", () => {
    expect(decodeUtf8(bytes([0xef, 0xbb, 0xbf], '{"a":1}'), "c.json")).toBe('{"a":1}');
  });

  it("names the line of invalid bytes", () => {
    expect(() => decodeUtf8(bytes("ok\nok\nbad ", [0xc3, 0x28], "\n"), "c.json")).toThrow("c.json:3: not valid UTF-8");
  });

  it("splits lines across chunk boundaries, inside multi-byte characters, with CRLF", async () => {
    const text = bytes([0xef, 0xbb, 0xbf], "héllo\r\nwörld\n€ end");
    const chunks = Array.from({ length: text.length }, (_, i) => text.subarray(i, i + 1));
    expect(await lines(chunks)).toEqual(["héllo", "wörld", "€ end"]);
  });

  it("reports the line of a bad byte in a stream", async () => {
    await expect(lines([bytes("a\nb\n"), bytes("c", [0xff], "\n")])).rejects.toThrow("in.jsonl:3: not valid UTF-8");
  });
});
