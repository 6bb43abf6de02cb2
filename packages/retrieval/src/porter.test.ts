import { describe, expect, it } from "vitest";
import { porterStem } from "./porter.js";

// Pairs from Porter's paper and his published voc.txt/output.txt test vocabulary.
const CASES: Array<[string, string]> = [
  ["caresses", "caress"], ["ponies", "poni"], ["ties", "ti"], ["caress", "caress"], ["cats", "cat"],
  ["feed", "feed"], ["agreed", "agre"], ["plastered", "plaster"], ["bled", "bled"], ["motoring", "motor"],
  ["sing", "sing"], ["conflated", "conflat"], ["troubled", "troubl"], ["sized", "size"], ["hopping", "hop"],
  ["tanned", "tan"], ["falling", "fall"], ["hissing", "hiss"], ["fizzed", "fizz"], ["failing", "fail"],
  ["filing", "file"], ["happy", "happi"], ["sky", "sky"], ["relational", "relat"], ["conditional", "condit"],
  ["rational", "ration"], ["valenci", "valenc"], ["digitizer", "digit"], ["operator", "oper"],
  ["feudalism", "feudal"], ["decisiveness", "decis"], ["hopefulness", "hope"], ["callousness", "callous"],
  ["formaliti", "formal"], ["sensitiviti", "sensit"], ["sensibiliti", "sensibl"], ["triplicate", "triplic"],
  ["formative", "form"], ["formalize", "formal"], ["electriciti", "electr"], ["electrical", "electr"],
  ["hopeful", "hope"], ["goodness", "good"], ["revival", "reviv"], ["allowance", "allow"], ["inference", "infer"],
  ["airliner", "airlin"], ["gyroscopic", "gyroscop"], ["adjustable", "adjust"], ["defensible", "defens"],
  ["irritant", "irrit"], ["replacement", "replac"], ["adjustment", "adjust"], ["dependent", "depend"],
  ["adoption", "adopt"], ["homologou", "homolog"], ["communism", "commun"], ["activate", "activ"],
  ["angulariti", "angular"], ["homologous", "homolog"], ["effective", "effect"], ["bowdlerize", "bowdler"],
  ["probate", "probat"], ["rate", "rate"], ["cease", "ceas"], ["controll", "control"], ["roll", "roll"],
  ["generalizations", "gener"], ["oscillators", "oscil"], ["abbreviation", "abbrevi"], ["possibly", "possibl"],
  ["archaeology", "archaeolog"], ["onion", "onion"], ["is", "is"], ["a", "a"], ["running", "run"],
];

describe("porterStem", () => {
  it.each(CASES)("%s → %s", (word, stem) => {
    expect(porterStem(word)).toBe(stem);
  });
});
