// Just enough XML for the fault proxy to read and rewrite EC2 query-protocol answers (flat,
// namespace-free element names, <item> lists) without a parser dependency of its own.

/** The text of the first <tag>…</tag> in `xml`, entities left as sent. */
export function tagText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m?.[1];
}

export interface ItemSpan {
  start: number;
  end: number;
  text: string;
}

/** The top-level <item>s of the first <setTag> in `xml` (nested <item>s stay inside their parent). */
export function setItems(xml: string, setTag: string): { items: ItemSpan[]; open: number; close: number } | undefined {
  const openTag = `<${setTag}>`;
  const open = xml.indexOf(openTag);
  if (open < 0) return undefined;
  const re = /<item>|<\/item>|<\/([A-Za-z]+)>/g;
  re.lastIndex = open + openTag.length;
  const items: ItemSpan[] = [];
  let depth = 0;
  let itemStart = -1;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    if (m[0] === '<item>') {
      if (depth === 0) itemStart = m.index;
      depth++;
    } else if (m[0] === '</item>') {
      depth--;
      if (depth === 0) items.push({ start: itemStart, end: re.lastIndex, text: xml.slice(itemStart, re.lastIndex) });
    } else if (depth === 0 && m[1] === setTag) {
      return { items, open, close: m.index };
    }
  }
  return undefined;
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An EC2 error answer, as AWS sends it. */
export function ec2ErrorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}
