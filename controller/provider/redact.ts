// Scrubs secrets out of text that may reach a log line, an Event or a condition (a cloud's error
// message can echo a request). Each provider adds the patterns of its own signature headers on
// top (controller/provider/<cloud>/).

/** Replaces every occurrence of each secret (4 characters or more; longest first) with ***. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  const list = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4).sort((a, b) => b.length - a.length);
  let out = text;
  for (const s of list) out = out.split(s).join('***');
  return out;
}
