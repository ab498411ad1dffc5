import { EXEC_RULES, INIT_RULES, canTransition, check } from './states';

describe('process states', () => {
  it('lets an init start only once created', () => {
    expect(() => check(INIT_RULES, 'start', 'created')).not.toThrow();
    expect(() => check(INIT_RULES, 'start', 'running')).toThrow('cannot start a running process');
    expect(() => check(INIT_RULES, 'start', 'stopped')).toThrow('cannot start a stopped process');
  });

  it('uses FailedPrecondition for refusals and NotFound once deleted', () => {
    try {
      check(INIT_RULES, 'delete', 'running');
      throw new Error('no refusal');
    } catch (err) {
      expect((err as { kind: string }).kind).toBe('FailedPrecondition');
    }
    try {
      check(INIT_RULES, 'kill', 'deleted');
      throw new Error('no refusal');
    } catch (err) {
      expect((err as { kind: string }).kind).toBe('NotFound');
    }
  });

  it('pauses and resumes only where containerd does', () => {
    expect(() => check(INIT_RULES, 'pause', 'created')).toThrow('cannot pause task in created state');
    expect(() => check(INIT_RULES, 'pause', 'running')).not.toThrow();
    expect(() => check(INIT_RULES, 'resume', 'paused')).not.toThrow();
    expect(() => check(INIT_RULES, 'exec', 'paused')).toThrow('cannot exec in a paused state');
    expect(() => check(EXEC_RULES, 'pause', 'running')).toThrow();
  });

  it('has only the legal transitions', () => {
    expect(canTransition('created', 'running')).toBe(true);
    expect(canTransition('running', 'paused')).toBe(true);
    expect(canTransition('paused', 'stopped')).toBe(true);
    expect(canTransition('stopped', 'running')).toBe(false);
    expect(canTransition('deleted', 'created')).toBe(false);
  });
});
