import { matches, parsePlatform } from './platforms';

describe('platforms', () => {
  it('parses and normalises', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64', variant: undefined });
    expect(parsePlatform('linux/x86_64')).toMatchObject({ architecture: 'amd64' });
    expect(parsePlatform('linux/aarch64')).toMatchObject({ architecture: 'arm64' });
    expect(parsePlatform('linux/arm64/v8')).toMatchObject({ architecture: 'arm64', variant: undefined });
    expect(parsePlatform('linux/arm/v7')).toMatchObject({ architecture: 'arm', variant: 'v7' });
    expect(() => parsePlatform('linux//')).toThrow();
  });

  it('matches descriptors', () => {
    const want = parsePlatform('linux/amd64');
    expect(matches(want, { os: 'linux', architecture: 'amd64' })).toBe(true);
    expect(matches(want, { os: 'linux', architecture: 'arm64' })).toBe(false);
    expect(matches(want, { os: 'windows', architecture: 'amd64' })).toBe(false);
    expect(matches(want, undefined)).toBe(true);
    expect(matches(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(false);
  });
});
