/**
 * An emulation of the cgroup v1 devices controller, ported from runc's
 * libcontainer/cgroups/devices/devices_emulator.go. It serves two purposes:
 *
 *  - v1: compute the smallest set of devices.allow/devices.deny writes that
 *    takes a cgroup from its current devices.list to the target, without a
 *    window where a running container loses access to a device it keeps;
 *  - v2: reduce any rule list to a clean one (default action + exceptions)
 *    for the BPF program, with the same semantics as v1, including the
 *    refusal to "punch a hole" in a wildcard rule, which v1 would silently ignore.
 */
import { InvalidArgumentError } from '../../../../proto/src/errdefs';
import { type DeviceRule, WILDCARD, ruleString } from './rules';

type Node = 'b' | 'c';

interface Meta {
  node: Node;
  major: number;
  minor: number;
}

const R = 1;
const W = 2;
const M = 4;

function toSet(p: string): number {
  let s = 0;
  for (const c of p) s |= c === 'r' ? R : c === 'w' ? W : c === 'm' ? M : 0;
  return s;
}

function fromSet(s: number): string {
  return (s & R ? 'r' : '') + (s & W ? 'w' : '') + (s & M ? 'm' : '');
}

const key = (m: Meta): string => `${m.node} ${m.major} ${m.minor}`;

function parseKey(k: string): Meta {
  const [node, major, minor] = k.split(' ');
  return { node: node as Node, major: Number(major), minor: Number(minor) };
}

export class DeviceEmulator {
  /** true: black-list (allow all but the rules); false: white-list (deny all but the rules). */
  defaultAllow = false;
  /** Meta key → permission set. */
  rules = new Map<string, number>();

  isBlacklist(): boolean {
    return this.defaultAllow;
  }

  isAllowAll(): boolean {
    return this.defaultAllow && this.rules.size === 0;
  }

  private addRule(meta: Meta, perms: number): void {
    const k = key(meta);
    this.rules.set(k, (this.rules.get(k) ?? 0) | perms);
  }

  private rmRule(meta: Meta, perms: number): void {
    // A rule that overlaps a wildcard exception cannot be removed: cgroup v1
    // silently ignores such a request, which would give a false sense of safety.
    for (const partial of [
      { node: meta.node, major: WILDCARD, minor: meta.minor },
      { node: meta.node, major: meta.major, minor: WILDCARD },
      { node: meta.node, major: WILDCARD, minor: WILDCARD },
    ]) {
      if (key(partial) === key(meta)) continue;
      const partialPerms = this.rules.get(key(partial)) ?? 0;
      if ((partialPerms & perms) !== 0) {
        throw new InvalidArgumentError(
          `requested rule [${ruleString({ type: meta.node, major: meta.major, minor: meta.minor, permissions: fromSet(perms) })}] not supported by devices cgroupv1 ` +
            `(cannot punch hole in existing wildcard rule [${ruleString({ type: partial.node, major: partial.major, minor: partial.minor, permissions: fromSet(partialPerms) })}])`,
        );
      }
    }
    const k = key(meta);
    const left = (this.rules.get(k) ?? 0) & ~perms;
    if (left === 0) this.rules.delete(k);
    else this.rules.set(k, left);
  }

  /** Applies one rule as the kernel would (allow or deny; "a" resets the mode). */
  apply(rule: DeviceRule): void {
    if (rule.type === 'a') {
      this.defaultAllow = rule.allow;
      this.rules = new Map();
      return;
    }
    const meta: Meta = { node: rule.type, major: rule.major, minor: rule.minor };
    const perms = toSet(rule.permissions);
    const remove = rule.allow === this.defaultAllow; // allow in a black-list, deny in a white-list
    try {
      if (remove) this.rmRule(meta, perms);
      else this.addRule(meta, perms);
    } catch (err) {
      const what = rule.allow ? "unable to remove 'deny' exception" : "unable to remove 'allow' exception";
      throw new InvalidArgumentError(`${what}: ${(err as Error).message}`, { cause: err });
    }
  }

  static fromRules(rules: DeviceRule[]): DeviceEmulator {
    const e = new DeviceEmulator();
    for (const r of rules) e.apply(r);
    return e;
  }

  /**
   * Reads devices.list. "a *:* rwm" means black-list mode; then nothing else
   * can be known about the deny rules in place (the kernel does not list them).
   */
  static fromList(list: string): DeviceEmulator {
    const e = new DeviceEmulator();
    for (const line of list.split('\n')) {
      if (line.trim() === '') continue;
      const f = line.split(/[ :]/);
      if (f.length !== 4) throw new InvalidArgumentError(`malformed devices.list rule ${line}`);
      const [node, major, minor, perms] = f;
      if (node === 'a') {
        e.defaultAllow = true;
        e.rules = new Map();
        continue;
      }
      if (node !== 'b' && node !== 'c') throw new InvalidArgumentError(`devices.list: unknown device type ${JSON.stringify(node)}`);
      const num = (s: string): number => (s === '*' ? WILDCARD : Number(s));
      if (perms === '' || fromSet(toSet(perms)) !== perms) throw new InvalidArgumentError(`devices.list: bad access mode ${JSON.stringify(perms)}`);
      e.apply({ type: node, major: num(major), minor: num(minor), permissions: perms, allow: true });
    }
    return e;
  }

  /** Rules sorted by (major, minor, type), so the writes are deterministic. */
  private static ordered(rules: Map<string, number>): Array<{ meta: Meta; perms: number }> {
    return [...rules.entries()]
      .map(([k, perms]) => ({ meta: parseKey(k), perms }))
      .sort((a, b) => a.meta.major - b.meta.major || a.meta.minor - b.meta.minor || (a.meta.node < b.meta.node ? -1 : a.meta.node > b.meta.node ? 1 : 0));
  }

  /**
   * The least disruptive rules that take this cgroup to target: a reset to the
   * target's default only when the mode differs (or the source is a black-list,
   * whose deny rules cannot be read back), then the dropped and the gained permissions.
   */
  transition(target: DeviceEmulator): DeviceRule[] {
    const out: DeviceRule[] = [];
    let oldRules = this.rules;
    if (this.isBlacklist() || this.defaultAllow !== target.defaultAllow) {
      out.push({ type: 'a', major: WILDCARD, minor: WILDCARD, permissions: 'rwm', allow: target.defaultAllow });
      oldRules = new Map();
    }
    for (const { meta, perms } of DeviceEmulator.ordered(oldRules)) {
      const dropped = perms & ~(target.rules.get(key(meta)) ?? 0);
      if (dropped !== 0) out.push({ type: meta.node, major: meta.major, minor: meta.minor, permissions: fromSet(dropped), allow: target.defaultAllow });
    }
    for (const { meta, perms } of DeviceEmulator.ordered(target.rules)) {
      const gained = perms & ~(oldRules.get(key(meta)) ?? 0);
      if (gained !== 0) out.push({ type: meta.node, major: meta.major, minor: meta.minor, permissions: fromSet(gained), allow: !target.defaultAllow });
    }
    return out;
  }

  /** The rules that turn a deny-all cgroup into this one (runc's Emulator.Rules). */
  cleanRules(): DeviceRule[] {
    const denyAll = new DeviceEmulator();
    return denyAll.transition(this);
  }

  equals(o: DeviceEmulator): boolean {
    if (this.defaultAllow !== o.defaultAllow || this.rules.size !== o.rules.size) return false;
    for (const [k, v] of this.rules) if (o.rules.get(k) !== v) return false;
    return true;
  }
}
