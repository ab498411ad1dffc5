/**
 * Reading and writing cgroup files, as opencontainers/cgroups' file.go and
 * fscommon/utils.go: one open + one write per value (the kernel takes each
 * write(2) as one command), values parsed the way runc parses them, and errors
 * that quote the path and carry the errno name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError, InvalidArgumentError, NotFoundError, type ErrorKind } from '../../../proto/src/errdefs';

/** 2^64-1: what runc reports for "max". */
export const MAX_UINT64 = 0xffff_ffff_ffff_ffffn;

/** The errno name of a Node fs error ("EBUSY"), or undefined. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Which error kind a failed cgroup file operation is. */
function kindForErrno(code: string | undefined): ErrorKind {
  switch (code) {
    case 'EINVAL':
    case 'ERANGE':
    case 'EOVERFLOW':
      return 'InvalidArgument';
    case 'ENOENT':
    case 'ENODEV':
      return 'NotFound';
    case 'EBUSY':
    case 'ENOSPC':
    case 'EOPNOTSUPP':
    case 'ENOTSUP':
      return 'FailedPrecondition';
    case 'EPERM':
    case 'EACCES':
    case 'EROFS':
      return 'PermissionDenied';
    default:
      return 'Internal';
  }
}

/** A failed read or write of a cgroup file: `failed to write "100" to `/sys/fs/cgroup/x/pids.max`: EINVAL`. */
export class CgroupFileError extends BerthError {
  readonly errno: string | undefined;
  readonly path: string;
  constructor(op: string, file: string, err: unknown) {
    const code = errnoOf(err);
    super(kindForErrno(code), `failed to ${op} \`${file}\`: ${code ?? (err as Error)?.message ?? String(err)}`, { cause: err });
    this.errno = code;
    this.path = file;
  }
}

/** Reads a cgroup file whole. */
export function readCgroupFile(dir: string, file: string): string {
  const p = path.join(dir, file);
  try {
    return fs.readFileSync(p, 'utf8');
  } catch (err) {
    throw new CgroupFileError('read', p, err);
  }
}

/** Reads a cgroup file, or undefined when it does not exist (optional kernel features). */
export function readCgroupFileIfExists(dir: string, file: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8');
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENODEV') return undefined;
    throw new CgroupFileError('read', path.join(dir, file), err);
  }
}

/**
 * Writes one value with one write(2), as runc's cgroups.WriteFile: O_WRONLY|O_TRUNC,
 * never O_CREAT (a missing file is a missing kernel feature, not something to make).
 */
export function writeCgroupFile(dir: string, file: string, data: string): void {
  const p = path.join(dir, file);
  let fd: number;
  try {
    fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
  } catch (err) {
    throw new CgroupFileError(`write ${JSON.stringify(data)} to`, p, err);
  }
  try {
    const buf = Buffer.from(data);
    fs.writeSync(fd, buf, 0, buf.length);
  } catch (err) {
    throw new CgroupFileError(`write ${JSON.stringify(data)} to`, p, err);
  } finally {
    fs.closeSync(fd);
  }
}

export function exists(p: string): boolean {
  try {
    fs.statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** runc's fscommon.ParseUint: a negative number reads as 0; "max" is handled by callers. */
export function parseUint(s: string, where: string): bigint {
  const t = s.trim();
  if (/^\d+$/.test(t)) return BigInt(t);
  if (/^-\d+$/.test(t)) return 0n;
  throw new InvalidArgumentError(`unable to parse ${where}: ${JSON.stringify(t)} is not an unsigned integer`);
}

/** runc's GetCgroupParamUint: one number, "max" → 2^64-1. */
export function readUint(dir: string, file: string): bigint {
  const content = readCgroupFile(dir, file).trim();
  if (content === 'max') return MAX_UINT64;
  return parseUint(content, path.join(dir, file));
}

/** readUint, or undefined when the file does not exist. */
export function readUintIfExists(dir: string, file: string): bigint | undefined {
  const content = readCgroupFileIfExists(dir, file);
  if (content === undefined) return undefined;
  const t = content.trim();
  return t === 'max' ? MAX_UINT64 : parseUint(t, path.join(dir, file));
}

/** Parses "key value" lines (memory.stat, cpu.stat, memory.events) into a map, as fscommon.ParseKeyValue. */
export function parseFlatKeyed(content: string, where: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of content.split('\n')) {
    if (line === '') continue;
    const parts = line.split(' ');
    if (parts.length !== 2) throw new InvalidArgumentError(`unable to parse ${where}: line ${JSON.stringify(line)} is not in key value format`);
    out.set(parts[0], parts[1] === 'max' ? MAX_UINT64 : parseUint(parts[1], where));
  }
  return out;
}

/** fscommon.GetValueByKey: the value of one key in a flat keyed file, 0 when the key is absent. */
export function readValueByKey(dir: string, file: string, key: string): bigint {
  for (const line of readCgroupFile(dir, file).split('\n')) {
    const parts = line.split(' ');
    if (parts.length === 2 && parts[0] === key) return parts[1] === 'max' ? MAX_UINT64 : parseUint(parts[1], path.join(dir, file));
  }
  return 0n;
}

/** Blocks the thread for ms milliseconds (the retry loops below are runc's, which sleep). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The pids in one cgroup's cgroup.procs. */
export function readProcs(dir: string): number[] {
  const out: number[] = [];
  for (const line of readCgroupFile(dir, 'cgroup.procs').split('\n')) {
    if (line !== '') out.push(Number(line));
  }
  return out;
}

/** Every pid in dir and the cgroups below it (runc's GetAllPids). */
export function readAllProcs(dir: string): number[] {
  const out = readProcs(dir);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new CgroupFileError('read directory', dir, err);
  }
  for (const e of entries) {
    if (e.isDirectory()) out.push(...readAllProcs(path.join(dir, e.name)));
  }
  return out;
}

/**
 * Moves pid into the cgroup at dir. EINVAL can mean the task is still TASK_NEW
 * (just forked): retry a few times as runc's WriteCgroupProc does.
 */
export function writeCgroupProc(dir: string, pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new InvalidArgumentError(`invalid pid ${pid}`);
  for (let i = 0; ; i++) {
    try {
      writeCgroupFile(dir, 'cgroup.procs', String(pid));
      return;
    } catch (err) {
      if (err instanceof CgroupFileError && err.errno === 'EINVAL' && i < 4) {
        sleepSync(30);
        continue;
      }
      if (err instanceof CgroupFileError && err.errno === 'ESRCH') {
        throw new NotFoundError(`failed to add pid ${pid} to cgroup \`${dir}\`: no such process`, { cause: err });
      }
      throw err;
    }
  }
}

/** Formats an integer the kernel will parse (no exponent, exact for large values). */
export function formatInt(n: number | bigint): string {
  return typeof n === 'bigint' ? n.toString() : BigInt(Math.trunc(n)).toString();
}
