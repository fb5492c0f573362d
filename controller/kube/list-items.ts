// Splits a Kubernetes list answer ({"apiVersion":…,"items":[{…},{…}],"kind":…,"metadata":{…}}),
// fed as text in pieces of any size, into the text of each item and the rest of the document
// (with "items":[]). Each item can then be parsed alone as soon as it is complete, so a list of
// 5,000 objects never exists as one 30 MB string beside its parsed form (issue 16). Pure: no I/O.
// It follows JSON's grammar only as far as it must: strings (with escapes) and nesting depth.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

export class ListItemSplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Inside the top-level "items" array. */
  private inItems = false;
  private itemsSeen = false;
  /** Text of the item being read, from earlier pieces. */
  private partialItem = '';
  private inItem = false;
  /** The document without the items' text. */
  private rest = '';

  /** `onItem` receives each complete item's text, in order. */
  constructor(private readonly onItem: (text: string) => void) {}

  feed(piece: string): void {
    let itemStart = this.inItem ? 0 : -1;
    let restStart = this.inItems ? -1 : 0;
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (c === QUOTE) {
        this.inString = true;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.depth++;
        if (this.inItems && this.depth === 3 && c === OPEN_BRACE) {
          this.inItem = true;
          itemStart = i;
        } else if (this.depth === 2 && c === OPEN_BRACKET && !this.itemsSeen && /"items"\s*:\s*$/.test(this.rest + piece.slice(restStart, i))) {
          // The top-level "items" array begins: the rest keeps its brackets, not its content.
          this.rest += piece.slice(restStart, i + 1);
          restStart = -1;
          this.inItems = true;
          this.itemsSeen = true;
        }
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.inItem && this.depth === 2) {
          this.onItem(this.partialItem + piece.slice(itemStart, i + 1));
          this.partialItem = '';
          this.inItem = false;
          itemStart = -1;
        } else if (this.inItems && this.depth === 1) {
          this.inItems = false;
          restStart = i;
        }
      }
    }
    if (this.inItem) this.partialItem += piece.slice(itemStart);
    if (restStart >= 0) this.rest += piece.slice(restStart);
  }

  /** The document without its items ("items":[]), once every piece has been fed. */
  end(): string {
    if (this.depth !== 0 || this.inString) throw new SyntaxError('the list answer ended in the middle of the document');
    return this.rest;
  }
}
