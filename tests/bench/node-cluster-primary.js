// SPDX-License-Identifier: GPL-3.0-or-later
// node-cluster-primary.js: a cluster primary written the way Node's
// documentation shows it, as the Node peer of the lifecycle benchmarks
// (tests/bench/lifecycle.js):
//
//   node node-cluster-primary.js N SCRIPT [ARG...]
//
// forks N workers running SCRIPT with cluster.fork(); forks a replacement
// as soon as one exits ('exit'), as the documentation's example does; on
// SIGTERM or SIGINT sends every worker the message "shutdown" and exits 0
// once the last one has exited. Prints "online NS" on stdout when all N
// first workers have sent 'online' (NS: process.hrtime.bigint(), i.e.
// CLOCK_MONOTONIC in ns), and nothing else.

'use strict';

const cluster = require('cluster');

const n = Number(process.argv[2]);
const [script, ...args] = process.argv.slice(3);
if (!(n > 0) || !script) {
  console.error('usage: node-cluster-primary.js N SCRIPT [ARG...]');
  process.exit(2);
}

cluster.setupPrimary({ exec: script, args });

let online = 0;
let alive = 0;
let stopping = false;

function fork() {
  alive++;
  return cluster.fork();
}

cluster.on('online', () => {
  online++;
  if (online === n)
    process.stdout.write(`online ${process.hrtime.bigint()}\n`);
});

// cluster.workers may still hold a worker that has exited (until its
// channel closes): count them here.
cluster.on('exit', () => {
  alive--;
  if (!stopping)
    fork();
  else if (alive === 0)
    process.exit(0);
});

function stop() {
  if (stopping)
    return;
  stopping = true;
  if (alive === 0)
    process.exit(0);
  for (const worker of Object.values(cluster.workers))
    if (!worker.isDead())
      worker.send('shutdown');
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);

for (let i = 0; i < n; i++)
  fork();
