import { describe, expect, it } from "vitest";
import { recordedCommand, redactUrlPasswords } from "./secrets.js";

describe("redactUrlPasswords", () => {
  it("hides passwords in URLs and leaves the rest", () => {
    expect(redactUrlPasswords("embed --queue redis://:hunter2@10.0.0.5:6379/1 --workers 2")).toBe("embed --queue redis://:***@10.0.0.5:6379/1 --workers 2");
    expect(redactUrlPasswords("rediss://alice:p%40ss@host")).toBe("rediss://alice:***@host");
    expect(redactUrlPasswords("redis://host:6379 and https://example.org/a:b")).toBe("redis://host:6379 and https://example.org/a:b");
    expect(recordedCommand(["bench", "longembed", "--queue=redis://u:pw@h:1"])).toBe("bench longembed --queue=redis://u:***@h:1");
  });
});
