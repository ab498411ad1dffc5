/**
 * The .proto files berth serves against containerd 1.6's api/ (the
 * specification, read from the Go sources installed on this machine): every
 * message field has the same number, type and label, every rpc the same
 * request, response and streaming. Extra fields are allowed only where listed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

const upstream = '/usr/share/gocode/src/github.com/containerd/containerd/api';
const ours = path.resolve(__dirname, '..', '..', 'proto');
const files = [
  'services/version/v1/version.proto',
  'services/namespaces/v1/namespace.proto',
  'services/introspection/v1/introspection.proto',
  'services/content/v1/content.proto',
  'services/images/v1/images.proto',
  'services/leases/v1/leases.proto',
  'services/events/v1/events.proto',
  'services/containers/v1/containers.proto',
  'services/tasks/v1/tasks.proto',
  'events/container.proto',
  'events/content.proto',
  'events/image.proto',
  'events/namespace.proto',
];
/** containerd 1.7's additions that 1.6 clients ignore. */
const allowedExtra = new Set(['containerd.services.introspection.v1.ServerResponse.pid', 'containerd.services.introspection.v1.ServerResponse.pidns']);

const short = (t: string) => t.split('.').pop()!;

function shape(file: string): Map<string, string> {
  const root = protobuf.parse(fs.readFileSync(file, 'utf8'), { keepCase: true }).root;
  const out = new Map<string, string>();
  const walk = (ns: protobuf.NamespaceBase, prefix: string) => {
    for (const o of ns.nestedArray) {
      const name = `${prefix}${o.name}`;
      if (o instanceof protobuf.Type) {
        for (const f of o.fieldsArray) {
          const map = f instanceof protobuf.MapField ? `map<${f.keyType},${short(f.type)}>` : '';
          out.set(`${name}.${f.name}`, `${f.id} ${f.repeated ? 'repeated ' : ''}${map || short(f.type)}`);
        }
      } else if (o instanceof protobuf.Enum) {
        for (const [k, v] of Object.entries(o.values)) out.set(`${name}.${k}`, `= ${v}`);
      } else if (o instanceof protobuf.Service) {
        for (const m of o.methodsArray) out.set(`${name}.${m.name}`, `(${m.requestStream ? 'stream ' : ''}${short(m.requestType)}) → (${m.responseStream ? 'stream ' : ''}${short(m.responseType)})`);
      }
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) walk(o as protobuf.NamespaceBase, `${name}.`);
    }
  };
  walk(root, '');
  return out;
}

const present = fs.existsSync(upstream);
(present ? describe : describe.skip)(present ? 'wire shape matches containerd 1.6 api/' : 'wire shape — skipped: containerd api sources not installed', () => {
  it.each(files)('%s', (f) => {
    const want = shape(path.join(upstream, f));
    const have = shape(path.join(ours, f));
    const problems: string[] = [];
    for (const [k, v] of want) if (have.get(k) !== v) problems.push(`${k}: containerd ${v}, berth ${have.get(k) ?? 'missing'}`);
    for (const k of have.keys()) if (!want.has(k) && !allowedExtra.has(k)) problems.push(`${k}: only in berth`);
    expect(problems).toEqual([]);
    expect(want.size).toBeGreaterThan(0);
  });
});
