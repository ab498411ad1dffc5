import { labelRefs } from './gc';

describe('gc label references', () => {
  it('follows content and snapshot references as containerd names them', () => {
    expect(
      labelRefs('ns', {
        'containerd.io/gc.ref.content': 'sha256:a',
        'containerd.io/gc.ref.content.config': 'sha256:b',
        'containerd.io/gc.ref.content/m/0': 'sha256:c',
        'containerd.io/gc.ref.contentx': 'sha256:ignored',
        'containerd.io/gc.ref.snapshot.overlayfs': 'chain1',
        'containerd.io/gc.ref.snapshot.native/extra': 'chain2',
        other: 'x',
      }),
    ).toEqual([
      { type: 'content', ns: 'ns', key: 'sha256:a' },
      { type: 'content', ns: 'ns', key: 'sha256:b' },
      { type: 'content', ns: 'ns', key: 'sha256:c' },
      { type: 'snapshot', ns: 'ns', key: 'overlayfs/chain1' },
      { type: 'snapshot', ns: 'ns', key: 'native/chain2' },
    ]);
  });
});
