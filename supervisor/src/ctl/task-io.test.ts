/** FifoIO against a stand-in for the shim that opens the other ends as the berth shim does. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { FifoIO } from './task-io';

const { O_RDWR, O_RDONLY, O_NONBLOCK } = fs.constants;
const run = process.platform === 'linux' ? test : test.skip;

run('output reaches our streams and ends when the shim closes; input sent before the shim opened is not lost', async () => {
  process.env.BERTH_FIFO_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fifo-'));
  const io = await FifoIO.create('p1', { stdin: true, terminal: false });
  try {
    const out = new PassThrough();
    const err = new PassThrough();
    const input = new PassThrough();
    let inputEnded = false;
    io.attach({ input, stdout: out, stderr: err, onInputEnd: () => (inputEnded = true) });
    input.end('typed before the shim\n'); // our end stays open until ready()
    await new Promise((r) => setTimeout(r, 50));
    expect(inputEnded).toBe(false);
    // the "shim" opens its ends (stdout/stderr O_RDWR, stdin O_RDONLY|O_NONBLOCK) and writes
    const so = new net.Socket({ fd: fs.openSync(io.paths.stdout, O_RDWR | O_NONBLOCK), readable: false, writable: true });
    const se = new net.Socket({ fd: fs.openSync(io.paths.stderr, O_RDWR | O_NONBLOCK), readable: false, writable: true });
    const si = new net.Socket({ fd: fs.openSync(io.paths.stdin, O_RDONLY | O_NONBLOCK), readable: true, writable: false });
    let got = '';
    si.on('data', (d) => (got += d));
    io.ready();
    await new Promise((r) => si.once('end', r));
    expect(got).toBe('typed before the shim\n');
    expect(inputEnded).toBe(true);
    let stdout = '';
    out.on('data', (d) => (stdout += d));
    so.end('hello\n');
    se.end('oops\n');
    await io.drained(2000);
    expect(stdout).toBe('hello\n');
    expect(err.read()?.toString()).toBe('oops\n');
    si.destroy();
  } finally {
    io.close();
    expect(fs.existsSync(io.dir)).toBe(false);
    fs.rmSync(process.env.BERTH_FIFO_DIR!, { recursive: true, force: true });
  }
});
