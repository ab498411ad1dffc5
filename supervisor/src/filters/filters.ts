/**
 * containerd's filter syntax (filters/parser.go):
 *
 *   filter    := selector ("," selector)*        every selector must match (AND)
 *   selector  := fieldpath [op value]             no op: the field is present
 *   fieldpath := field ("." field)*
 *   field     := quoted | [A-Za-z0-9_-]+
 *   op        := "==" | "!=" | "~="               ~= is a regular expression match
 *   value     := quoted | any run without "," or spaces
 *   quoted    := "..." (Go escapes) | /.../ or |...| (for regular expressions)
 *
 * Several filter strings match when any of them does (OR), as ParseAll.
 * Examples: `labels."a.b"==x,name~=^busy`, `digest==sha256:...`, `parent!=""`.
 *
 * The one filter implementation of berthd: images, content, leases,
 * containers, events, introspection and snapshots (Walk) all parse here.
 */
import { InvalidArgumentError } from '../../../proto/src/errdefs';

/** Looks a field path up on an object: [value, present]. */
export type Adaptor = (fieldpath: string[]) => [string, boolean];

export interface Filter {
  match(adaptor: Adaptor): boolean;
}

type Op = 'present' | '==' | '!=' | '~=';

interface Selector {
  fieldpath: string[];
  op: Op;
  value: string;
  re?: RegExp;
}

export const always: Filter = { match: () => true };

class Scanner {
  pos = 0;
  constructor(readonly input: string) {}
  error(msg: string): never {
    throw new InvalidArgumentError(`filters: parse error: [${this.input} >|${this.input.slice(this.pos)}|<]: ${msg}: invalid argument`);
  }
  skipSpace(): void {
    while (this.pos < this.input.length && /\s/.test(this.input[this.pos])) this.pos++;
  }
  peek(): string {
    return this.input[this.pos] ?? '';
  }
  eof(): boolean {
    return this.pos >= this.input.length;
  }
  /**
   * A quoted string (filters/quote.go): "..." takes Go's escapes (\a \b \f \n
   * \r \t \v \\ \" \xHH \uHHHH \UHHHHHHHH and octal \OOO); /.../ and |...|
   * (for regular expressions) unescape only their own quote and keep other
   * escapes for RegExp.
   */
  quoted(): string {
    const q = this.input[this.pos];
    let out = '';
    this.pos++;
    while (this.pos < this.input.length) {
      const c = this.input[this.pos++];
      if (c === q) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const n = this.input[this.pos++];
      if (n === undefined) break;
      if (q !== '"') {
        out += n === q ? q : '\\' + n; // regexp escapes stay for RegExp
        continue;
      }
      const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v' };
      if (n in esc) {
        out += esc[n];
        continue;
      }
      const numeric: Record<string, [number, number]> = { x: [2, 16], u: [4, 16], U: [8, 16] };
      const [len, base, from] = n in numeric ? [...numeric[n], this.pos] : /[0-7]/.test(n) ? [3, 8, this.pos - 1] : [0, 0, 0];
      if (!len) this.error(`invalid escape \\${n}`);
      const digits = this.input.slice(from, from + len);
      const valid = base === 16 ? /^[0-9A-Fa-f]+$/ : /^[0-7]+$/;
      const code = parseInt(digits, base);
      if (digits.length !== len || !valid.test(digits) || code > 0x10ffff || (base === 8 && code > 255)) this.error('illegal numeric escape sequence');
      out += String.fromCodePoint(code);
      this.pos = from + len;
    }
    this.error('quoted literal not terminated');
  }
  field(): string {
    const c = this.peek();
    if (c === '"') return this.quoted();
    const m = /^[A-Za-z0-9_-]+/.exec(this.input.slice(this.pos));
    if (!m) this.error('expected field or quoted');
    this.pos += m[0].length;
    return m[0];
  }
  value(): string {
    const c = this.peek();
    if (c === '"' || c === '/' || c === '|') return this.quoted();
    const m = /^[^,\s]+/.exec(this.input.slice(this.pos));
    if (!m) this.error('expected value or quoted');
    this.pos += m[0].length;
    return m[0];
  }
}

function parseSelector(s: Scanner): Selector {
  const fieldpath = [s.field()];
  while (s.peek() === '.') {
    s.pos++;
    fieldpath.push(s.field());
  }
  s.skipSpace();
  const two = s.input.slice(s.pos, s.pos + 2);
  if (two === '==' || two === '!=' || two === '~=') {
    s.pos += 2;
    s.skipSpace();
    const value = s.value();
    const sel: Selector = { fieldpath, op: two, value };
    if (two === '~=') {
      try {
        sel.re = new RegExp(value);
      } catch (err) {
        s.error(`${(err as Error).message}`);
      }
    }
    return sel;
  }
  return { fieldpath, op: 'present', value: '' };
}

/** Parses one filter string (AND of its selectors); "" matches everything. */
export function parse(input: string): Filter {
  const s = new Scanner(input);
  const selectors: Selector[] = [];
  s.skipSpace();
  if (s.eof()) return always;
  for (;;) {
    s.skipSpace();
    selectors.push(parseSelector(s));
    s.skipSpace();
    if (s.eof()) break;
    if (s.peek() !== ',') s.error('expected a comma or end of input');
    s.pos++;
  }
  return {
    match(adaptor) {
      return selectors.every((sel) => {
        const [value, present] = adaptor(sel.fieldpath);
        switch (sel.op) {
          case 'present':
            return present;
          case '==':
            return present && value === sel.value;
          case '!=':
            return value !== sel.value;
          case '~=':
            return present && sel.re!.test(value);
        }
      });
    },
  };
}

/** Parses several filter strings: any of them matching is a match (ParseAll). */
export function parseAll(inputs: readonly string[] | undefined): Filter {
  const fs = (inputs ?? []).filter((x) => x !== '').map(parse);
  if (fs.length === 0) return always;
  return { match: (a) => fs.some((f) => f.match(a)) };
}

/** The label part of an adaptor: labels.<key...> joined with "." (as containerd's adaptors). */
export function labelField(labels: Record<string, string> | undefined, rest: string[]): [string, boolean] {
  if (!labels || Object.keys(labels).length === 0) return ['', false];
  const key = rest.join('.');
  return Object.prototype.hasOwnProperty.call(labels, key) ? [labels[key], true] : ['', false];
}

/**
 * Builds an adaptor from a field table: each top-level field name maps to a
 * string (present when non-empty) and `labels` to a label map.
 */
export function adapt(fields: Record<string, string | undefined>, labels?: Record<string, string>): Adaptor {
  return (fp) => {
    if (fp.length === 0) return ['', false];
    if (fp[0] === 'labels') return labelField(labels, fp.slice(1));
    if (fp.length !== 1) return ['', false];
    const v = fields[fp[0]];
    return v === undefined || v === '' ? ['', false] : [v, true];
  };
}
