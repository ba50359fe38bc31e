// SPDX-License-Identifier: GPL-3.0-or-later
// pm2-monitor.js: what `pm2 monit` and `pm2 dashboard` ask PM2's daemon
// for, once every INTERVAL_MS: its process list with each process's CPU
// and memory (the daemon's getMonitorData, which reads them on every
// request). The sampling workload of tests/bench/run uses it to measure
// PM2 sampled every second, as Cohort samples its workers.
//
//   node pm2-monitor.js PM2_MODULE_DIR INTERVAL_MS EXPECTED DAEMON_PID
//
// PM2_HOME names the daemon, DAEMON_PID its pid: it must be running (PM2's
// connect() would start a daemon of its own otherwise, which nobody would
// stop). Asks until EXPECTED processes are online with their figures
// (within 60 s, or exits 1), prints "ready EXPECTED", then one line
// "sample N" per request; exits 0 on SIGTERM or SIGINT, 1 when a request
// fails.

'use strict';

const [moduleDir, intervalText, expectedText, daemonText] = process.argv.slice(2);
const interval = Number(intervalText);
const expected = Number(expectedText);
const daemon = Number(daemonText);
const READY_TIMEOUT_MS = 60000;

if (!moduleDir || !(interval > 0) || !(expected > 0) || !(daemon > 0)) {
  process.stderr.write('usage: pm2-monitor.js PM2_MODULE_DIR INTERVAL_MS EXPECTED DAEMON_PID\n');
  process.exit(2);
}

function fail(what) {
  process.stderr.write(`pm2-monitor.js: ${what}\n`);
  process.exit(1);
}

try {
  process.kill(daemon, 0);
} catch (e) {
  fail(`PM2's daemon (pid ${daemon}) is not running`);
}

const pm2 = require(moduleDir);
const started = Date.now();
let timer = null;
let ready = false;

function stop() {
  if (timer !== null)
    clearTimeout(timer);
  pm2.disconnect();
  process.exit(0);
}

function sample() {
  pm2.list((err, list) => {
    if (err)
      fail(`list: ${err.message || err}`);
    const online = list.filter((p) => p.pm2_env && p.pm2_env.status === 'online' &&
                                      p.monit && typeof p.monit.cpu === 'number').length;
    if (ready) {
      process.stdout.write(`sample ${online}\n`);
    } else if (online === expected) {
      ready = true;
      process.stdout.write(`ready ${online}\n`);
    } else if (Date.now() - started > READY_TIMEOUT_MS) {
      fail(`${online} of ${expected} processes online after ${READY_TIMEOUT_MS / 1000} s`);
    }
    timer = setTimeout(sample, interval);
  });
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
pm2.connect(false, (err) => {
  if (err)
    fail(`connect: ${err.message || err}`);
  sample();
});
