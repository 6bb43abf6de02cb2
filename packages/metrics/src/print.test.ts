import { describe, expect, it } from "vitest";
import { formatFixed4 } from "./index.js";

describe("formatFixed4", () => {
  it("rounds like glibc printf %6.4f: exact binary ties go to even", () => {
    expect(formatFixed4(1 / 32)).toBe("0.0312"); // 0.03125 exactly: toFixed would say 0.0313
    expect(formatFixed4(3 / 32)).toBe("0.0938"); // 0.09375 exactly: to even
    expect(formatFixed4(0.00005)).toBe("0.0001"); // the double is just above the tie
    expect(formatFixed4(0.12345)).toBe("0.1235"); // the double is just above the tie
    expect(formatFixed4(0.33335)).toBe("0.3333"); // the double is just below the tie
    expect(formatFixed4(2 / 3)).toBe("0.6667");
    expect(formatFixed4(1)).toBe("1.0000");
    expect(formatFixed4(0)).toBe("0.0000");
    expect(formatFixed4(-1 / 3)).toBe("-0.3333");
    expect(formatFixed4(12.5)).toBe("12.5000");
  });
});
