// The badBody fault's garbled 2xx answers, the same five kinds for every emulator (BadBodyKind):
// a cloud gives its own gateway error page, its own wrong-shaped JSON and its own padding; cut in
// half and empty are the same everywhere.

import type { BadBodyKind } from '../faults.js';

export interface GarbledForms {
  /** invalidJson: what a broken gateway in front of the API answers (an HTML page). */
  invalidJson: string;
  /** wrongShape: valid JSON that is not the operation's answer. */
  wrongShape: unknown;
  /** oversized: `real` (the real answer as JSON) grown past `bytes`, still valid JSON. */
  oversized(real: string, bytes: number): string;
}

/** `body` (the real answer) garbled as `kind`. */
export function garbledText(kind: BadBodyKind, body: unknown, bytes: number, forms: GarbledForms): string {
  const real = JSON.stringify(body);
  switch (kind) {
    case 'invalidJson':
      return forms.invalidJson;
    case 'empty':
      return '';
    case 'wrongShape':
      return JSON.stringify(forms.wrongShape);
    case 'truncated':
      return real.slice(0, Math.floor(real.length / 2));
    case 'oversized':
      return forms.oversized(real, bytes);
  }
}

/** Copies of `pad`, comma-separated: as many as grow `real` past `bytes` (at least one). */
export function paddingItems(real: string, bytes: number, pad: string): string {
  const count = Math.max(1, Math.floor((bytes - real.length) / (pad.length + 1)));
  return new Array<string>(count).fill(pad).join(',');
}
