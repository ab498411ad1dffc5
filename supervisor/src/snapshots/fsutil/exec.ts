/** One place that runs the helper tools fsutil needs, with their stderr in the error. */
import { execFile, spawn } from 'node:child_process';
import { InternalError } from '../../../../proto/src/errdefs';

export class ToolError extends InternalError {
  constructor(
    readonly tool: string,
    readonly stderr: string,
    readonly exitCode: number | null,
    options?: { cause?: unknown },
  ) {
    super(`${tool} failed: ${stderr.trim() || `exit status ${exitCode}`}`, options);
  }
}

/** Runs tool with args (optionally feeding stdin), resolving to stdout; rejects with ToolError. */
export function run(tool: string, args: string[], opts: { input?: string | Buffer; cwd?: string; okCodes?: number[] } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(tool, args, { cwd: opts.cwd, maxBuffer: 1 << 30, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
        if (code !== null && opts.okCodes?.includes(code)) return resolve(stdout);
        return reject(new ToolError(`${tool} ${args.join(' ')}`, stderr, code, { cause: err }));
      }
      resolve(stdout);
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export { spawn };
