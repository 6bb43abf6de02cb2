import { describe, expect, it } from "vitest";
import { effectiveEmbedSettings, embedderSettingOptions, settingSourcesLine } from "./embedder-adapter.js";
import type { AdapterSettings } from "./settings.js";

const TRAINED: AdapterSettings = {
  attention: "bidirectional",
  pooling: "last_token",
  skipInstruction: false,
  promptTemplate: "Q: {input}",
  maxLength: { query: 64, document: 256 },
};
const DEFAULTS = { pooling: "mean", maxLength: 512 } as const;

describe("effectiveEmbedSettings", () => {
  it("takes every setting from the adapter when the user chose none", () => {
    const s = effectiveEmbedSettings(TRAINED, {}, DEFAULTS);
    expect(s).toMatchObject({ attention: "bidirectional", pooling: "last_token", skipInstruction: false, promptTemplate: "Q: {input}", maxLength: { query: 64, document: 256 } });
    expect(s.fromAdapter).toEqual(["attention", "pooling", "skip_instruction", "prompt_template", "max_length"]);
    expect(s.overridden).toEqual([]);
    expect(embedderSettingOptions(s)).toEqual({ attention: "bidirectional", pooling: "last_token", skipInstruction: false, promptTemplate: "Q: {input}", maxLength: 256 });
  });

  it("lets the user's choices win, and lists only real disagreements as overrides", () => {
    const s = effectiveEmbedSettings(TRAINED, { pooling: "mean", maxLength: 128, attention: "bidirectional" }, DEFAULTS);
    expect(s).toMatchObject({ pooling: "mean", maxLength: { query: 128, document: 128 }, attention: "bidirectional" });
    expect(s.fromAdapter).toEqual(["skip_instruction", "prompt_template"]);
    expect(s.overridden).toEqual(["pooling", "max_length"]);
    expect(settingSourcesLine({ dir: "/a", settings: TRAINED }, s)).toBe(
      `adapter /a: from dembed_adapter.json: skip_instruction false, prompt_template "Q: {input}"; flags replaced pooling mean, max_length 128`,
    );
  });

  it("falls back to flags and defaults without settings (a plain PEFT folder)", () => {
    const s = effectiveEmbedSettings(undefined, { skipInstruction: false }, DEFAULTS);
    expect(s).toMatchObject({ attention: undefined, pooling: "mean", skipInstruction: false, promptTemplate: undefined, maxLength: { query: 512, document: 512 }, fromAdapter: [] });
    expect(embedderSettingOptions(s)).toEqual({ pooling: "mean", skipInstruction: false, maxLength: 512 });
    expect(settingSourcesLine({ dir: "/b", settings: undefined }, s)).toBe("adapter /b: no dembed_adapter.json; settings come from flags and defaults");
  });

  it("uses one length for both roles when training saved none", () => {
    const { maxLength: _none, ...withoutLengths } = TRAINED;
    const s = effectiveEmbedSettings(withoutLengths, {}, DEFAULTS);
    expect(s.maxLength).toEqual({ query: 512, document: 512 });
    expect(s.fromAdapter).not.toContain("max_length");
    expect(settingSourcesLine({ dir: "/c", settings: withoutLengths }, s)).toMatch(/prompt_template "Q: \{input\}"$/);
  });
});
