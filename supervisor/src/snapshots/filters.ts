/**
 * containerd's filter syntax (containerd filters/parser.go), for Walk.
 *
 *   filters  := filter ("," filter)*             a comma is AND
 *   filter   := fieldpath [operator value]       no operator: the field is present
 *   fieldpath:= field ("." field)*               field: [A-Za-z0-9_]+ or a quoted string
 *   operator := "==" | "!=" | "~="              "~=" is a regular expression match
 *   value    := quoted | [^,\s]+                 quotes: "..." (Go escapes), /.../ or |...|
 *
 * Separate filter strings are OR'ed (containerd's ParseAll).
 *
 * NOTE: supervisor/src/snapshots owns this small copy until the daemon's
 * general filter package lands; they should then be merged into one.
 */
import { InvalidArgumentError } from '../../../proto/src/errdefs';

type Operator = 'present' | '==' | '!=' | '~=';

interface Selector {
  fieldpath: string[];
  operator: Operator;
  value: string;
  re?: RegExp;
}

/** Looks a field path up on an object; [value, present]. */
export type Adaptor = (fieldpath: string[]) => [string, boolean];

/** A parsed set of filters (OR of ANDs); matches everything when empty. */
export class Filter {
  constructor(private readonly alternatives: Selector[][]) {}

  match(adaptor: Adaptor): boolean {
    if (this.alternatives.length === 0) return true;
    return this.alternatives.some((all) => all.every((s) => matchSelector(s, adaptor)));
  }
}

function matchSelector(s: Selector, adaptor: Adaptor): boolean {
  const [value, present] = adaptor(s.fieldpath);
  switch (s.operator) {
    case 'present':
      return present;
    case '==':
      return present && value === s.value;
    case '!=':
      return value !== s.value;
    case '~=':
      return present && (s.re as RegExp).test(value);
  }
}

/** Parses filter strings (ParseAll); an empty list or only empty strings match everything. */
export function parseFilters(...filters: string[]): Filter {
  const alternatives: Selector[][] = [];
  for (const f of filters) {
    if (f.trim() === '') continue;
    alternatives.push(new Parser(f).parse());
  }
  return new Filter(alternatives);
}

const isFieldChar = (c: string): boolean => /[A-Za-z0-9_]/.test(c);
const isQuote = (c: string): boolean => c === '"' || c === '/' || c === '|';

class Parser {
  private pos = 0;

  constructor(private readonly input: string) {}

  parse(): Selector[] {
    const selectors: Selector[] = [];
    for (;;) {
      selectors.push(this.selector());
      this.skipSpace();
      if (this.pos >= this.input.length) return selectors;
      if (this.input[this.pos] !== ',') this.fail(`expected "," or end of input`);
      this.pos++;
    }
  }

  private selector(): Selector {
    const fieldpath = [this.field()];
    while (this.peek() === '.') {
      this.pos++;
      fieldpath.push(this.field());
    }
    this.skipSpace();
    const op = this.operator();
    if (!op) return { fieldpath, operator: 'present', value: '' };
    this.skipSpace();
    const value = this.value();
    const sel: Selector = { fieldpath, operator: op, value };
    if (op === '~=') {
      try {
        sel.re = new RegExp(value);
      } catch (err) {
        this.fail(`invalid regular expression ${JSON.stringify(value)}`, err);
      }
    }
    return sel;
  }

  private field(): string {
    this.skipSpace();
    const c = this.peek();
    if (c !== undefined && isQuote(c)) return this.quoted();
    const start = this.pos;
    while (this.pos < this.input.length && isFieldChar(this.input[this.pos])) this.pos++;
    if (this.pos === start) this.fail('expected field');
    return this.input.slice(start, this.pos);
  }

  private operator(): Operator | undefined {
    for (const op of ['==', '!=', '~='] as const) {
      if (this.input.startsWith(op, this.pos)) {
        this.pos += 2;
        return op;
      }
    }
    const c = this.peek();
    if (c === '=' || c === '!' || c === '~') this.fail('invalid operator');
    return undefined;
  }

  private value(): string {
    const c = this.peek();
    if (c !== undefined && isQuote(c)) return this.quoted();
    const start = this.pos;
    while (this.pos < this.input.length && this.input[this.pos] !== ',' && !/\s/.test(this.input[this.pos])) this.pos++;
    if (this.pos === start) this.fail('expected value');
    return this.input.slice(start, this.pos);
  }

  /** A quoted string; "..." takes Go escapes, /.../ and |...| only escape their own quote. */
  private quoted(): string {
    const q = this.input[this.pos++];
    let out = '';
    for (;;) {
      if (this.pos >= this.input.length) this.fail('quoted literal not terminated');
      const c = this.input[this.pos++];
      if (c === q) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.input[this.pos++];
      const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
      if (e === q) out += q;
      else if (q !== '"') out += '\\' + e; // regexp quoting keeps escapes for the regexp
      else if (e in simple) out += simple[e];
      else if (e === 'x' || e === 'u' || e === 'U' || /[0-7]/.test(e)) {
        const [len, base, from] = e === 'x' ? [2, 16, this.pos] : e === 'u' ? [4, 16, this.pos] : e === 'U' ? [8, 16, this.pos] : [3, 8, this.pos - 1];
        const digits = this.input.slice(from, from + len);
        if (digits.length !== len || Number.isNaN(parseInt(digits, base))) this.fail('illegal numeric escape sequence');
        out += String.fromCodePoint(parseInt(digits, base));
        this.pos = from + len;
      } else this.fail('illegal escape sequence');
    }
  }

  private peek(): string | undefined {
    return this.input[this.pos];
  }

  private skipSpace(): void {
    while (this.pos < this.input.length && /\s/.test(this.input[this.pos])) this.pos++;
  }

  private fail(msg: string, cause?: unknown): never {
    throw new InvalidArgumentError(`failed to parse filter ${JSON.stringify(this.input)}: ${msg} at ${this.pos}`, { cause });
  }
}
