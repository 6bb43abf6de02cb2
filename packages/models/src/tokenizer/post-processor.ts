// An exported tokenizer.json must give any client dembed's token ids. dembed adds BOS (and EOS, where a profile
// appends it) itself, from the family profile; many tokenizer.json files (the @lenml Llama 3 copy among them) carry
// only a ByteLevel post-processor, so other clients would add neither. The export therefore writes the profile's
// special tokens into the file as a TemplateProcessing step, after the file's own byte-level step.
import type { TokenizerProfile } from "./profile.js";

type Json = Record<string, unknown>;

function tokenId(tokenizer: Json, token: string, file: string): number {
  const added = (tokenizer.added_tokens as { id: number; content: string }[] | undefined)?.find((t) => t.content === token);
  if (added !== undefined) return added.id;
  const vocab = (tokenizer.model as { vocab?: Record<string, number> } | undefined)?.vocab;
  const id = vocab?.[token];
  if (typeof id !== "number") throw new Error(`${file}: has no token ${JSON.stringify(token)} for the profile's special tokens`);
  return id;
}

/** The steps of a post-processor without any TemplateProcessing (the profile's template replaces it). */
function withoutTemplate(post: unknown): Json[] {
  if (post === null || post === undefined) return [];
  const p = post as Json;
  if (p.type === "TemplateProcessing" || p.type === "BertProcessing" || p.type === "RobertaProcessing") return [];
  if (p.type === "Sequence") return (p.processors as unknown[]).flatMap(withoutTemplate);
  return [p];
}

/**
 * `tokenizer` (a parsed tokenizer.json) with a post-processor that adds what `profile` adds: BOS before the text
 * and, with appendEos, EOS after it. A profile that adds nothing leaves the file's post-processor as it is.
 */
export function withProfileTemplate(tokenizer: Json, profile: TokenizerProfile, file: string): Json {
  const bos = profile.bosToken;
  const eos = profile.appendEos ? profile.eosToken : undefined;
  if (bos === undefined && eos === undefined) return tokenizer;
  const special: Json = {};
  const asToken = (t: string | number) => {
    const name = typeof t === "string" ? t : String(t);
    const id = typeof t === "number" ? t : tokenId(tokenizer, t, file);
    special[name] = { id: name, ids: [id], tokens: [name] };
    return { SpecialToken: { id: name, type_id: 0 } };
  };
  const piece = (seq: "A" | "B", typeId: number) => [
    ...(bos === undefined ? [] : [asToken(bos)]),
    { Sequence: { id: seq, type_id: typeId } },
    ...(eos === undefined ? [] : [asToken(eos)]),
  ];
  const template = { type: "TemplateProcessing", single: piece("A", 0), pair: [...piece("A", 0), ...piece("B", 1)], special_tokens: special };
  const kept = withoutTemplate(tokenizer.post_processor);
  return { ...tokenizer, post_processor: kept.length === 0 ? template : { type: "Sequence", processors: [...kept, template] } };
}
