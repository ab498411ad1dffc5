#!/usr/bin/env node
// Generates runtime/src/seccomp/syscalls-<arch>.ts (syscall name -> number per
// architecture) from the kernel's own UAPI headers, as Debian ships them:
//
//   x86_64, x86 (i386), x32   linux-libc-dev                (/usr/include/x86_64-linux-gnu/asm)
//   aarch64                   linux-libc-dev-arm64-cross    (/usr/aarch64-linux-gnu/include)
//   arm (EABI)                linux-libc-dev-armhf-cross    (/usr/arm-linux-gnueabihf/include)
//
// The C preprocessor does the work: `cpp -dM` lists every __NR_* macro the
// header defines for that ABI, and a second cpp pass expands each one to an
// arithmetic expression (e.g. `(0x40000000 + 0)`), which is evaluated here.
//
// It is run by hand when the kernel headers move on (apt-get install
// linux-libc-dev-arm64-cross linux-libc-dev-armhf-cross; node scripts/gen-syscalls.mjs);
// its output is committed, so neither CI nor the runtime needs the headers.
import { execFileSync } from 'node:child_process';
import { writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'runtime/src/seccomp');

const X86_CPP = (...defs) => ['-nostdinc', '-undef', '-I/usr/include/x86_64-linux-gnu', '-I/usr/include', ...defs];

/** Each ABI: the header to include, cpp flags, the macro prefixes that name syscalls, and the Debian package. */
const ABIS = [
  // <asm/unistd.h> picks unistd_64.h, unistd_32.h or unistd_x32.h from the ABI macros, as a compiler for that ABI would.
  { arch: 'x86_64', header: 'asm/unistd.h', cpp: X86_CPP('-D__x86_64__'), pkg: 'linux-libc-dev' },
  { arch: 'x86', header: 'asm/unistd.h', cpp: X86_CPP('-D__i386__'), pkg: 'linux-libc-dev' },
  { arch: 'x32', header: 'asm/unistd.h', cpp: X86_CPP('-D__x86_64__', '-D__ILP32__'), pkg: 'linux-libc-dev' },
  {
    arch: 'aarch64',
    header: 'asm/unistd.h',
    cpp: ['-nostdinc', '-undef', '-I/usr/aarch64-linux-gnu/include', '-D__aarch64__'],
    pkg: 'linux-libc-dev-arm64-cross',
  },
  {
    arch: 'arm',
    header: 'asm/unistd.h',
    cpp: ['-nostdinc', '-undef', '-I/usr/arm-linux-gnueabihf/include', '-D__ARM_EABI__'],
    pkg: 'linux-libc-dev-armhf-cross',
    // The ARM-private calls (cacheflush, set_tls, ...) live at 0x0f0000 + n.
    extraPrefix: '__ARM_NR_',
  },
];

/** Macros that look like syscalls but are counts or markers. */
const NOT_SYSCALLS = new Set(['syscalls', 'arch_specific_syscall', 'BASE', 'SYSCALL_BASE', 'OABI_SYSCALL_BASE', 'SYSCALL_MASK']);

function cpp(args, input) {
  return execFileSync('cpp', ['-P', ...args, '-'], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** Evaluates the tiny integer expressions the headers use: numbers, + - | <<, parentheses. */
function evaluate(expr, name) {
  const e = expr.replace(/\b(0x[0-9a-fA-F]+|\d+)[uUlL]*\b/g, '$1').trim();
  if (!/^[\s0-9a-fA-Fx()+\-|<]*$/.test(e)) throw new Error(`cannot evaluate ${name} = ${expr}`);
  // The character check above admits only numbers and + - | << ( ), so this is arithmetic only.
  const v = Function(`"use strict"; return (${e});`)();
  if (!Number.isInteger(v) || v < 0) throw new Error(`bad value for ${name}: ${expr}`);
  return v;
}

function generate(abi) {
  const include = `#include <${abi.header}>\n`;
  const macros = cpp(['-dM', ...abi.cpp], include);
  const names = new Map(); // syscall name -> macro
  for (const line of macros.split('\n')) {
    const m = /^#define (__NR_|__ARM_NR_)(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    // A name defined as another syscall's macro is a libc-level alias (arm's sync_file_range2 for
    // arm_sync_file_range): the kernel and libseccomp know the syscall by its own name only.
    if (/^(__NR_|__ARM_NR_)\w+$/.test(m[3].trim())) continue;
    if (m[1] === '__ARM_NR_' && abi.extraPrefix !== '__ARM_NR_') continue;
    if (NOT_SYSCALLS.has(m[2])) continue;
    if (m[1] === '__NR_' || !names.has(m[2])) names.set(m[2], m[1] + m[2]);
  }
  const sorted = [...names.keys()].sort();
  const probe = include + sorted.map((n) => `@@${n}@@ ${names.get(n)}`).join('\n') + '\n';
  const expanded = cpp(abi.cpp, probe);
  const table = {};
  for (const line of expanded.split('\n')) {
    const m = /^@@(\w+)@@ (.*)$/.exec(line.trim());
    if (!m) continue;
    table[m[1]] = evaluate(m[2], m[1]);
  }
  if (Object.keys(table).length !== sorted.length) throw new Error(`${abi.arch}: expanded ${Object.keys(table).length} of ${sorted.length}`);
  return table;
}

function pkgVersion(pkg) {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

for (const abi of ABIS) {
  const dir = abi.cpp.find((a) => a.startsWith('-I'))?.slice(2);
  if (!existsSync(join(dir, abi.header))) {
    console.error(`gen-syscalls: ${join(dir, abi.header)} is missing: apt-get install ${abi.pkg}`);
    process.exit(1);
  }
  const table = generate(abi);
  const ident = `SYSCALLS_${abi.arch.toUpperCase()}`;
  const entries = Object.entries(table).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  const body = entries.map(([n, v]) => `  ${n}: ${v >= 0x10000 ? '0x' + v.toString(16) : v},`).join('\n');
  const text =
    `// GENERATED by scripts/gen-syscalls.mjs from <${abi.header}> of ${abi.pkg} ${pkgVersion(abi.pkg)}.\n` +
    `// Do not edit: re-run the script when the kernel headers change.\n` +
    `\n` +
    `/** Syscall name -> number for ${abi.arch} (${entries.length} syscalls), as seccomp_data.nr carries it. */\n` +
    `export const ${ident}: Readonly<Record<string, number>> = {\n${body}\n};\n`;
  writeFileSync(join(outDir, `syscalls-${abi.arch}.ts`), text);
  console.log(`gen-syscalls: ${abi.arch}: ${entries.length} syscalls`);
}
