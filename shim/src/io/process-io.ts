/**
 * A process's stdio as the shim runs it (containerd pkg/process/io.go).
 * Every kind hands fds to the runtime, does its copying once the runtime has
 * returned, and can be closed. Which kind follows the stdout URI's scheme:
 * "" or fifo → PipeIO (copied to the FIFOs), file:// → PipeIO into one
 * file, binary:// → BinaryIO (a logging binary reads the pipes); a terminal
 * → ConsoleIO (the pty master relayed by the native parent).
 */
import type { RuntimeIO } from '../runtime-client';

export interface Stdio {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

export interface ProcessIO {
  /** The fds the runtime passes on to the process. */
  runtimeIO(): RuntimeIO;
  /** --console-socket, for a terminal. */
  readonly consoleSocket?: string;
  /** After the runtime returned: drop the container's ends, start copying. */
  start(): Promise<void>;
  /** CloseIO: close stdin (after the client closes its end, the process sees EOF). */
  closeStdin(): void;
  /** The process exited: a terminal is drained and closed. */
  exited(): Promise<void>;
  /** Resolves once every output stream has been copied out (or `ms` passed). */
  wait(ms: number): Promise<void>;
  /** ResizePty; a no-op without a terminal. */
  resize(cols: number, rows: number): Promise<void>;
  /** Releases everything (after delete, or when create fails). */
  close(): void;
}

export function isNull(s: Stdio): boolean {
  return !s.stdin && !s.stdout && !s.stderr;
}

/** The scheme of a stdout URI: "fifo" for a plain path, as url.Parse + default. */
export function scheme(uri: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  return m ? m[1].toLowerCase() : 'fifo';
}

/** Waits for `p` at most `ms`. */
export function within(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<void>((r) => { timer = setTimeout(r, ms); })]).finally(() => clearTimeout(timer));
}
