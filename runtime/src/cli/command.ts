/**
 * Commands declared once, as data: their positionals and options feed both
 * yargs (help, usage errors, anything unusual) and a small fast parser for
 * the plain command lines that containerd, conmon and Podman send on every
 * operation. Parsing with yargs costs ~20 ms per run even from the start-up
 * snapshot, more than the rest of a `state` or `kill`; the fast path gives
 * the handler the same argv yargs would, or declines and lets yargs parse.
 */
import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from './global';

export type OptionType = 'string' | 'number' | 'boolean' | 'strings' | 'numbers';

export interface OptionSpec {
  type: OptionType;
  alias?: string;
  default?: string | number | boolean;
  describe: string;
  hidden?: boolean;
  choices?: readonly string[];
}

export interface PositionalSpec {
  name: string;
  required?: boolean;
  /** Takes the rest of the arguments (exec's command). */
  variadic?: boolean;
  default?: string;
}

export interface CommandSpec<A> {
  name: string;
  aliases?: string[];
  describe: string;
  positionals?: PositionalSpec[];
  options?: Record<string, OptionSpec>;
  /** Arguments after the first positional belong to something else (exec: the command; ps: ps(1)), in argv['--']. */
  passThrough?: boolean;
  handler(argv: A): void | Promise<void>;
}

/** Each command's argv as handlers see it: globals, positionals and options by their long names. */
export type Args = GlobalArgs & Record<string, unknown> & { '--'?: string[] };

function yargsOption(o: OptionSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { describe: o.describe };
  // Repeatable options are not yargs arrays: those would swallow the positionals after them.
  out.type = o.type === 'strings' ? 'string' : o.type === 'numbers' ? 'number' : o.type;
  if (o.alias) out.alias = o.alias;
  if (o.default !== undefined) out.default = o.default;
  if (o.hidden) out.hidden = true;
  if (o.choices) out.choices = o.choices;
  return out;
}

/** The yargs command module for a spec. */
export function toYargs<A>(spec: CommandSpec<A>): CommandModule<GlobalArgs, A> {
  const pos = (spec.positionals ?? []).map((p) => (p.variadic ? `[${p.name}..]` : p.required ? `<${p.name}>` : `[${p.name}]`)).join(' ');
  return {
    command: pos ? `${spec.name} ${pos}` : spec.name,
    aliases: spec.aliases,
    describe: spec.describe,
    builder: (y: Argv<GlobalArgs>) => {
      let b = y as Argv;
      for (const p of spec.positionals ?? []) {
        b = b.positional(p.name, { type: 'string', ...(p.variadic ? { array: true, default: [] } : {}), ...(p.default !== undefined ? { default: p.default } : {}) });
      }
      for (const [name, o] of Object.entries(spec.options ?? {})) b = b.option(name, yargsOption(o));
      if (spec.passThrough) b = b.parserConfiguration({ 'populate--': true });
      return b as never;
    },
    handler: (argv) => spec.handler(argv as A),
  };
}

/**
 * Parses `args` (already normalised: "--long" forms, "--" after a
 * pass-through command's id) without yargs, for the plain cases only.
 * Returns undefined — yargs takes over — for help, version, unknown options,
 * bad values or missing positionals.
 */
export function fastParse(
  specs: readonly CommandSpec<never>[],
  globals: Record<string, OptionSpec>,
  args: readonly string[],
): { spec: CommandSpec<never>; argv: Args } | undefined {
  const argv: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(globals)) if (o.default !== undefined) argv[name] = o.default;
  let i = 0;
  // Global options, then the command.
  for (; i < args.length && args[i].startsWith('-'); i++) {
    const consumed = takeOption(globals, args, i, argv);
    if (consumed < 0) return undefined;
    i += consumed - 1;
  }
  const name = args[i++];
  const spec = specs.find((s) => s.name === name || s.aliases?.includes(name));
  if (!spec) return undefined;
  for (const [n, o] of Object.entries(spec.options ?? {})) if (o.default !== undefined) argv[n] = o.default;
  for (const [n, o] of Object.entries(spec.options ?? {})) if (o.type === 'strings' || o.type === 'numbers') argv[n] ??= [];
  const positionals: string[] = [];
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      if (!spec.passThrough) return undefined;
      argv['--'] = args.slice(i + 1);
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      const consumed = takeOption(spec.options ?? {}, args, i, argv);
      if (consumed < 0) return undefined;
      i += consumed - 1;
      continue;
    }
    positionals.push(a);
  }
  const specs_ = spec.positionals ?? [];
  for (const [k, p] of specs_.entries()) {
    if (p.variadic) {
      argv[p.name] = positionals.slice(k);
      break;
    }
    const v = positionals[k] ?? p.default;
    if (v === undefined && p.required) return undefined;
    if (v !== undefined) argv[p.name] = v;
  }
  if (!specs_.some((p) => p.variadic) && positionals.length > specs_.length) return undefined;
  argv._ = [name];
  return { spec, argv: argv as Args };
}

/** Reads one option at args[i] into argv; returns how many arguments it took, or -1 to decline. */
function takeOption(options: Record<string, OptionSpec>, args: readonly string[], i: number, argv: Record<string, unknown>): number {
  const m = /^--?([^=]+)(?:=(.*))?$/.exec(args[i]);
  if (!m) return -1;
  const [, flag, inline] = m;
  const entry = Object.entries(options).find(([n, o]) => n === flag || o.alias === flag);
  if (!entry) return -1;
  const [name, o] = entry;
  let value: string | undefined = inline;
  let taken = 1;
  if (o.type === 'boolean') {
    if (value === undefined) argv[name] = true;
    else if (value === 'true' || value === 'false') argv[name] = value === 'true';
    else return -1;
    return 1;
  }
  if (value === undefined) {
    if (i + 1 >= args.length) return -1;
    value = args[i + 1];
    taken = 2;
  }
  if (o.choices && !o.choices.includes(value)) return -1;
  if (o.type === 'number' || o.type === 'numbers') {
    if (!/^-?\d+$/.test(value)) return -1;
    if (o.type === 'number') argv[name] = Number(value);
    else (argv[name] as number[]).push(Number(value));
  } else if (o.type === 'strings') {
    (argv[name] as string[]).push(value);
  } else {
    argv[name] = value;
  }
  return taken;
}
