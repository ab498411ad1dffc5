"""Runs a command on a new pseudo-terminal of a given size and prints what it wrote.

    python3 pty-run.py [--input TEXT --input-after SEC] [--resize R C --resize-after SEC] ROWS COLS -- CMD...

Exit status: the command's. Used by the shim's terminal tests to drive `ctr -t`.
"""
import argparse, fcntl, os, pty, select, signal, struct, subprocess, sys, termios, time

ap = argparse.ArgumentParser()
ap.add_argument('rows', type=int)
ap.add_argument('cols', type=int)
ap.add_argument('--input', default=None)
ap.add_argument('--input-after', type=float, default=1.0)
ap.add_argument('--resize', nargs=2, type=int, default=None)
ap.add_argument('--resize-after', type=float, default=1.0)
ap.add_argument('--timeout', type=float, default=30.0)
ap.add_argument('cmd', nargs=argparse.REMAINDER)
a = ap.parse_args()
cmd = a.cmd[1:] if a.cmd and a.cmd[0] == '--' else a.cmd

master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', a.rows, a.cols, 0, 0))
proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
os.close(slave)
out = b''
start = time.time()
sent_input = resized = False
while True:
    now = time.time() - start
    if a.input is not None and not sent_input and now >= a.input_after:
        os.write(master, a.input.encode())
        sent_input = True
    if a.resize and not resized and now >= a.resize_after:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', a.resize[0], a.resize[1], 0, 0))
        proc.send_signal(signal.SIGWINCH)
        resized = True
    if now > a.timeout:
        proc.kill()
        break
    r, _, _ = select.select([master], [], [], 0.05)
    if master in r:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b''
        if not data:
            break
        out += data
    elif proc.poll() is not None:
        break
proc.wait()
sys.stdout.buffer.write(out)
sys.exit(proc.returncode)
