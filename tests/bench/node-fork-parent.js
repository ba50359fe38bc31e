// SPDX-License-Identifier: GPL-3.0-or-later
// node-fork-parent.js: Node's own child_process.fork() parent doing what
// bench-roundtrip --peer cohort does, for comparison in the same run.
//
//   node node-fork-parent.js --script tests/fixtures/node-worker.js
//        [--size BYTES] [--seconds S] [--warmup S]
//
// Forks `SCRIPT echo` with {serialization: 'json'}, sends {p: 'xxx…'}
// (BYTES serialized), sends the next message from the handler of the
// previous echo, and after the warm-up counts the round trips completed in
// S seconds. Prints one line of JSON, the same fields as bench-roundtrip:
//
//   {"peer":"node-fork","worker":"node","size":50,"roundtrips":N,
//    "seconds":S,"per_second":X,"cpu_seconds":C,"cpu_us_per_roundtrip":U}
//
// Every echo is checked ({echo: {p: same length}}); a wrong one exits 1.

'use strict';

const { fork } = require('child_process');

function parseArgs(argv) {
  const opts = { size: 50, seconds: 3, warmup: 0.5, script: null };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[i + 1];
    switch (name) {
      case '--size': opts.size = Number(value); i++; break;
      case '--seconds': opts.seconds = Number(value); i++; break;
      case '--warmup': opts.warmup = Number(value); i++; break;
      case '--script': opts.script = value; i++; break;
      default:
        console.error(`node-fork-parent: unknown argument ${name}`);
        process.exit(2);
    }
  }
  if (!opts.script || !(opts.size >= 8) || !(opts.seconds > 0) || !(opts.warmup >= 0)) {
    console.error('node-fork-parent: needs --script; --size >= 8, --seconds > 0, --warmup >= 0');
    process.exit(2);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
// {"p":"…"}: 8 bytes of frame, the rest 'x'.
const message = { p: 'x'.repeat(opts.size - 8) };
const pLength = message.p.length;
const warmupNs = BigInt(Math.round(opts.warmup * 1e9));
const measureNs = BigInt(Math.round(opts.seconds * 1e9));

const child = fork(opts.script, ['echo'], { serialization: 'json' });

let measuring = false;
let done = false;
let phaseStart = 0n;
let cpuStart = null;
let roundtrips = 0;

function finish(status) {
  done = true;
  if (child.connected)
    child.disconnect();
  // The worker exits on 'disconnect'; do not wait for it forever.
  const timer = setTimeout(() => { child.kill('SIGKILL'); process.exit(status); }, 10000);
  child.once('exit', () => { clearTimeout(timer); process.exit(status); });
}

child.on('message', (m) => {
  if (done)
    return;
  if (!m || typeof m !== 'object' || !m.echo || typeof m.echo.p !== 'string' ||
      m.echo.p.length !== pLength) {
    console.error('node-fork-parent: wrong echo');
    finish(1);
    return;
  }

  const now = process.hrtime.bigint();
  if (!measuring) {
    if (now - phaseStart >= warmupNs) {
      measuring = true;
      phaseStart = now;
      cpuStart = process.cpuUsage();
    }
  } else {
    roundtrips++;
    if (now - phaseStart >= measureNs) {
      const cpu = process.cpuUsage(cpuStart);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const seconds = Number(now - phaseStart) / 1e9;
      console.log(JSON.stringify({
        peer: 'node-fork',
        worker: 'node',
        size: opts.size,
        roundtrips,
        seconds: Number(seconds.toFixed(4)),
        per_second: Number((roundtrips / seconds).toFixed(1)),
        cpu_seconds: Number(cpuSeconds.toFixed(4)),
        cpu_us_per_roundtrip: Number((cpuSeconds * 1e6 / roundtrips).toFixed(2)),
      }));
      finish(0);
      return;
    }
  }
  child.send(message);
});

child.on('exit', (code, signal) => {
  if (!done) {
    console.error(`node-fork-parent: the worker exited early (${signal || code})`);
    process.exit(1);
  }
});

child.on('spawn', () => {
  phaseStart = process.hrtime.bigint();
  child.send(message);
});
