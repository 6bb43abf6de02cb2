import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, tempDir } from "../../test/support/fixtures.js";
import { DataError } from "../errors.js";
import { JsonlFile, readJsonl } from "./jsonl.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

describe("readJsonl", () => {
  it("streams lines with numbers and byte spans: BOM, CRLF, blank lines, multi-byte text, no final newline", async () => {
    const path = join(dir, "mixed.jsonl");
    const text = '\uFEFF{"a":1}\r\n\n{"b":"héllo wörld ✓"}\n   \n{"c":[1,2,3]}';
    await writeFile(path, text);
    // a 4-byte chunk splits lines and multi-byte characters across reads
    for (const chunkBytes of [4, 1 << 20]) {
      const records = await collect(readJsonl(path, { chunkBytes }));
      expect(records.map((r) => [r.value, r.line])).toEqual([
        [{ a: 1 }, 1],
        [{ b: "héllo wörld ✓" }, 3],
        [{ c: [1, 2, 3] }, 5],
      ]);
      const file = await JsonlFile.open(path);
      expect(await file.readMany([...records].reverse())).toEqual(records.map((r) => r.value).reverse());
      await file.close();
    }
  });

  it("names the file and line of invalid JSON, or reports and skips it when asked", async () => {
    const path = join(dir, "bad.jsonl");
    await writeFile(path, '{"ok":1}\n{"broken": \n{"ok":2}\n');
    await expect(collect(readJsonl(path))).rejects.toThrow(new RegExp(`${path} line 2: invalid JSON`));
    const errors: DataError[] = [];
    const records = await collect(readJsonl(path, { onInvalid: (e) => errors.push(e) }));
    expect(records.map((r) => r.value)).toEqual([{ ok: 1 }, { ok: 2 }]);
    expect(errors.map((e) => e.position.line)).toEqual([2]);
  });

  it("starts from a byte offset", async () => {
    const path = join(dir, "offset.jsonl");
    await writeFile(path, '{"i":0}\n{"i":1}\n{"i":2}\n');
    const [, second] = await collect(readJsonl(path));
    const rest = await collect(readJsonl(path, { start: second!.offset, startLine: second!.line }));
    expect(rest.map((r) => [r.value, r.line])).toEqual([
      [{ i: 1 }, 2],
      [{ i: 2 }, 3],
    ]);
  });

  it("says when a span lies past the end of a changed file", async () => {
    const path = join(dir, "short.jsonl");
    await writeFile(path, '{"i":0}\n');
    const file = await JsonlFile.open(path);
    await expect(file.readMany([{ offset: 4, bytes: 100, line: 9 }])).rejects.toThrow(/line 9: record lies past the end/);
    await file.close();
  });
});
