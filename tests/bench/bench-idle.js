// SPDX-License-Identifier: GPL-3.0-or-later
// bench-idle.js: the idle Node worker of the lifecycle benchmarks, the same
// as bench-idle.c (read that for the details):
//
//   BENCH_NOTIFY=FIFO   at the first line of the script, "start PID NS\n"
//                       with NS = process.hrtime.bigint(), which is
//                       CLOCK_MONOTONIC on Linux (libuv's uv_hrtime), the
//                       clock of the C worker and of the driver; the FIFO
//                       stays open until the process is gone; "exit PID NS"
//                       just before exiting on a stop
//   BENCH_STOP_MS=MS    on a stop request, wait MS ms, then exit 0
//
// A stop request: SIGTERM, SIGINT, or the message "shutdown" on Node's IPC
// channel (process.on('message'): Cohort with Channel=node, a cluster
// primary's worker.send(), PM2's shutdown_with_message).

'use strict';

const started = process.hrtime.bigint();
const fs = require('fs');

const path = process.env.BENCH_NOTIFY;
const stopMs = Number(process.env.BENCH_STOP_MS || 0);
const fd = path ? fs.openSync(path, fs.constants.O_WRONLY) : -1;

function notify(what, ns) {
  if (fd >= 0)
    fs.writeSync(fd, `${what} ${process.pid} ${ns}\n`);
}

notify('start', started);

let stopping = false;
function stop() {
  if (stopping)
    return;
  stopping = true;
  setTimeout(() => {
    notify('exit', process.hrtime.bigint());
    process.exit(0);
  }, stopMs);
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (typeof process.send === 'function')
  process.on('message', (message) => {
    if (message === 'shutdown')
      stop();
  });
// Idle until stopped (the channel, when there is one, also keeps it alive).
setInterval(() => {}, 1 << 30);
