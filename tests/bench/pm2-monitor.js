// SPDX-License-Identifier: GPL-3.0-or-later
// pm2-monitor.js: what `pm2 monit` and `pm2 dashboard` ask PM2's daemon
// for, once every INTERVAL_MS: its process list with each process's CPU
// and memory (the daemon's getMonitorData, which reads them on every
// request). The sampling workload of tests/bench/run uses it to measure
// PM2 sampled every second, as Cohort samples its workers.
//
//   node pm2-monitor.js PM2_MODULE_DIR INTERVAL_MS
//
// PM2_HOME names the daemon, which must be running. Prints "ready N" on
// stdout once the first answer came (N = processes online in it), then
// one line "sample N" a request; exits 0 on SIGTERM or SIGINT, 1 when a
// request fails.

'use strict';

const [moduleDir, intervalText] = process.argv.slice(2);
const interval = Number(intervalText);

if (!moduleDir || !(interval > 0)) {
  process.stderr.write('usage: pm2-monitor.js PM2_MODULE_DIR INTERVAL_MS\n');
  process.exit(2);
}

const pm2 = require(moduleDir);
let timer = null;
let first = true;

function stop() {
  if (timer !== null)
    clearTimeout(timer);
  pm2.disconnect();
  process.exit(0);
}

function sample() {
  pm2.list((err, list) => {
    if (err) {
      process.stderr.write(`pm2-monitor.js: list: ${err.message || err}\n`);
      process.exit(1);
    }
    const online = list.filter((p) => p.pm2_env && p.pm2_env.status === 'online' &&
                                      p.monit && typeof p.monit.cpu === 'number').length;
    process.stdout.write(`${first ? 'ready' : 'sample'} ${online}\n`);
    first = false;
    timer = setTimeout(sample, interval);
  });
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// noDaemonMode false: connect to the daemon of PM2_HOME, never start one
// in this process.
pm2.connect(false, (err) => {
  if (err) {
    process.stderr.write(`pm2-monitor.js: connect: ${err.message || err}\n`);
    process.exit(1);
  }
  sample();
});
