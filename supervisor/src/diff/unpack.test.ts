import { chainIds } from './unpack';

// the vectors of opencontainers/image-spec identity/chainid_test.go
test('chain IDs as the image spec defines them', () => {
  expect(chainIds([])).toEqual([]);
  expect(chainIds(['sha256:a'])).toEqual(['sha256:a']);
  expect(chainIds(['sha256:a', 'sha256:b', 'sha256:c'])).toEqual([
    'sha256:a',
    'sha256:970a948bffa8de94d6e22d747ba8c95030e6e546909f98f54e99a13005e173a8',
    'sha256:dee159b33409cefa3f6eda71539f006014283e9d9130c18a1dea7bd8a33c9b1b',
  ]);
});
