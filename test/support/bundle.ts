/**
 * Test bundles: a busybox rootfs (Debian's busybox-static, one binary plus an
 * applet symlink each) and a config.json like `runc spec` makes, adjusted for
 * tests (no terminal). Every bundle lives in its own temp dir and is removed
 * by cleanup.ts, after anything mounted below it is unmounted.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { defaultSpec } from '../../runtime/src/spec/default';
import type { Spec } from '../../runtime/src/spec/types';
import { track } from './cleanup';

export const BUSYBOX = '/bin/busybox';

let applets: string[] | undefined;

/** Makes a busybox rootfs at dir (which must not exist yet or be empty). */
export function makeBusyboxRootfs(dir: string): void {
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(dir, 'bin', 'busybox'));
  fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
  applets ??= execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) fs.symlinkSync('busybox', path.join(dir, 'bin', a));
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc', 'root', 'usr/bin', 'var']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
  fs.writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\ntest:x:1000:1000:test:/:/bin/sh\n');
  fs.writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\ntest:x:1000:\n');
}

export interface Bundle {
  dir: string;
  rootfs: string;
  config: Spec;
  /** Changes config and writes config.json. */
  update(fn: (c: Spec) => void): void;
  write(): void;
}

export function testSpec(args: string[] = ['true']): Spec {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = args;
  return spec;
}

export function setupBundle(args: string[] = ['true']): Bundle {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bundle-'));
  track.dir(dir);
  const rootfs = path.join(dir, 'rootfs');
  makeBusyboxRootfs(rootfs);
  const b: Bundle = {
    dir,
    rootfs,
    config: testSpec(args),
    update(fn) {
      fn(b.config);
      b.write();
    },
    write() {
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(b.config, null, 2));
    },
  };
  b.write();
  return b;
}

/** A fresh --root for the runtime's state. */
export function stateRoot(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-root-'));
  track.dir(dir);
  return dir;
}

let counter = 0;
export function uniqueId(prefix = 't'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}
