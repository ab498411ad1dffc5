import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadRoot } from '../../proto/src/loader';
import { SHIM_PROTO_FILES, shimRoot } from './protos';

const FILE = path.join(__dirname, 'generated', 'shim-protos.json');

describe('shim protos', () => {
  it('has a JSON descriptor set that matches the .proto files', () => {
    const want = JSON.stringify(loadRoot(SHIM_PROTO_FILES).toJSON(), null, 1) + '\n';
    if (process.env.BERTH_UPDATE_PROTO_JSON) fs.writeFileSync(FILE, want);
    const got = fs.readFileSync(FILE, 'utf8');
    if (got !== want) throw new Error('shim/src/generated/shim-protos.json is stale: run BERTH_UPDATE_PROTO_JSON=1 npx jest shim/src/protos.test.ts');
  });

  it('resolves the task service and the event types', () => {
    const r = shimRoot();
    expect(r.lookupService('containerd.task.v2.Task').methodsArray).toHaveLength(17);
    for (const t of ['TaskCreate', 'TaskStart', 'TaskExit', 'TaskDelete', 'TaskExecAdded', 'TaskExecStarted', 'TaskPaused', 'TaskResumed', 'TaskOOM']) {
      expect(r.lookupType(`containerd.events.${t}`)).toBeDefined();
    }
    const st = r.lookupType('containerd.task.v2.StateResponse');
    const buf = st.encode(st.fromObject({ id: 'x', pid: 7, status: 2, exitedAt: { seconds: 5, nanos: 6 } })).finish();
    expect(st.toObject(st.decode(buf), { longs: Number })).toEqual({ id: 'x', pid: 7, status: 2, exitedAt: { seconds: 5, nanos: 6 } });
  });
});
