/** Introspection logic: the plugin list with statuses, and the server's identity. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../../../runtime/src/atomic-file';
import { GrpcCode, toGrpcCode } from '../../../../proto/src/errdefs';
import type { PluginEntry } from '../../daemon/plugins';
import { parseAll, type Adaptor } from '../../filters/filters';

export interface PluginInfo {
  type: string;
  id: string;
  requires: string[];
  platforms: Array<{ os: string; architecture: string; variant: string }>;
  exports: Record<string, string>;
  capabilities: string[];
  initErr: { code: number; message: string; details: [] } | null;
}

function toInfo(e: PluginEntry): PluginInfo {
  const r = e.registration;
  let initErr: PluginInfo['initErr'] = null;
  if (e.status === 'skipped') {
    // ctr plugins ls shows "skip" when the message contains "skip plugin".
    initErr = { code: GrpcCode.FAILED_PRECONDITION, message: `${e.error?.message}: skip plugin`, details: [] };
  } else if (e.status === 'disabled') {
    initErr = { code: GrpcCode.FAILED_PRECONDITION, message: 'disabled by configuration: skip plugin', details: [] };
  } else if (e.status === 'error') {
    initErr = { code: toGrpcCode(e.error) || GrpcCode.UNKNOWN, message: e.error?.message ?? 'unknown error', details: [] };
  }
  return {
    type: r.type,
    id: r.id,
    requires: r.requires ?? [],
    platforms: r.platforms ?? [],
    exports: e.exports,
    capabilities: r.capabilities ?? [],
    initErr,
  };
}

function adaptor(p: PluginInfo): Adaptor {
  return (fp) => {
    switch (fp[0]) {
      case 'type':
        return [p.type, p.type.length > 0];
      case 'id':
        return [p.id, p.id.length > 0];
      default: // platforms and capabilities do not filter (as containerd's adaptPlugin)
        return ['', false];
    }
  };
}

export class IntrospectionLocal {
  private uuid: string | undefined;
  private pidns: number | undefined;

  constructor(
    private readonly entries: () => readonly PluginEntry[],
    private readonly root: string,
  ) {}

  plugins(filters: string[]): PluginInfo[] {
    const f = parseAll(filters);
    return this.entries().map(toInfo).filter((p) => f.match(adaptor(p)));
  }

  /** A UUID made once per root and kept in <root>/uuid (written atomically). */
  server(): { uuid: string; pid: number; pidns: number } {
    if (!this.uuid) {
      const file = path.join(this.root, 'uuid');
      try {
        this.uuid = fs.readFileSync(file, 'utf8').trim();
      } catch {
        fs.mkdirSync(this.root, { recursive: true });
        writeFileAtomic(file, crypto.randomUUID(), 0o644);
        this.uuid = fs.readFileSync(file, 'utf8').trim();
      }
    }
    if (this.pidns === undefined) {
      // A process never changes pid namespace: one stat, not one per `ctr version`.
      try {
        this.pidns = fs.statSync('/proc/self/ns/pid').ino;
      } catch {
        this.pidns = 0; // no procfs
      }
    }
    return { uuid: this.uuid, pid: process.pid, pidns: this.pidns };
  }
}
