// SPDX-License-Identifier: GPL-3.0-or-later
// node-worker-pool.js: Node's worker_threads doing what bench-threads does
// with Cohort's thread clusters, for comparison in the same run. No npm
// package: the pool is the one of Node's own documentation ("Using
// AsyncResource for a Worker thread pool", node:async_hooks): a fixed
// pool of N workers, each running one task at a time, fed from a queue in
// the main thread; the task is the blocking sum loop of Cohort's "sum".
//
//   node node-worker-pool.js --mode throughput [--threads 2] [--inflight 1000]
//                            [--batch K] [--seconds 3] [--warmup 0.5]
//   node node-worker-pool.js --mode speedup [--tasks 8] [--n 200000000]
//                            [--order 1,2]
//
// throughput: sums of n=1, --inflight of them kept in flight (the next one
// is submitted from the callback of each result); after the warm-up, the
// results of --seconds seconds are counted. With --batch K, the way a
// worker_threads pool is made fast for tiny tasks: one postMessage carries
// {task, batch: [args × K]} and one answer {task, results: [{result} × K]}
// (Cohort's batch message, the same shape), --inflight/K of them in
// flight; tasks (not messages) per second.
// speedup: --tasks sums of n=--n submitted at once to a pool of 1 thread,
// then to a pool of 2 (or 2 then 1 with --order 2,1); the workers are
// online before the clock starts. Every sum is checked against n(n-1)/2
// (exact while it is below 2^53; above it, to a millionth: the loop adds
// doubles, as a JavaScript loop does).
//
// One line of JSON, the fields of bench-threads:
//   {"peer":"worker_threads","worker":"pool"|"batched","test":"throughput",
//    "threads":2,"inflight":1000,"batch":K,"tasks":N,"seconds":S,
//    "per_second":X,"cpu_seconds":C,"cpu_us_per_task":U}
//   {"peer":"worker_threads","worker":"pool","test":"speedup","tasks":K,"n":N,
//    "order":"1,2","seconds_1":T1,"seconds_2":T2,"speedup":T1/T2,
//    "cores_1":C1,"cores_2":C2,"runq_1":R1,"runq_2":R2}
// cpu_* is the whole process (every thread) over the window; cores_T that
// CPU time over the wall time of the T-thread phase; runq_T the time the
// process's threads spent runnable but waiting for a CPU in it (the
// kernel's schedstat), over that wall time.

'use strict';

const fs = require('node:fs');
const { AsyncResource } = require('node:async_hooks');
const { EventEmitter } = require('node:events');
const { Worker, isMainThread, parentPort } = require('node:worker_threads');

// ---- the worker -------------------------------------------------------------

function sum(n) {
  let total = 0;
  for (let i = 0; i < n; i++)
    total += i;
  return { n, sum: total };
}

if (!isMainThread) {
  parentPort.on('message', ({ task, args, batch }) => {
    const start = performance.now();
    if (task !== 'sum') {
      parentPort.postMessage({ task, error: `no task named ${task}` });
      return;
    }
    if (batch !== undefined) {
      const results = batch.map((a) => (a && Number.isInteger(a.n) ? { result: sum(a.n) }
                                                                    : { error: 'missing argument n' }));
      parentPort.postMessage({ task, results, ms: performance.now() - start });
      return;
    }
    const result = sum(args.n);
    parentPort.postMessage({ task, result, ms: performance.now() - start });
  });
  return;
}

// ---- the pool (Node's documentation, unchanged but for the file) ------------

const kTaskInfo = Symbol('kTaskInfo');
const kWorkerFreedEvent = Symbol('kWorkerFreedEvent');

class WorkerPoolTaskInfo extends AsyncResource {
  constructor(callback) {
    super('WorkerPoolTaskInfo');
    this.callback = callback;
  }

  done(err, result) {
    this.runInAsyncScope(this.callback, null, err, result);
    this.emitDestroy();  // `TaskInfo`s are used only once.
  }
}

class WorkerPool extends EventEmitter {
  constructor(numThreads) {
    super();
    this.numThreads = numThreads;
    this.workers = [];
    this.freeWorkers = [];
    this.tasks = [];

    for (let i = 0; i < numThreads; i++)
      this.addNewWorker();

    // Any time the kWorkerFreedEvent is emitted, dispatch
    // the next task pending in the queue, if any.
    this.on(kWorkerFreedEvent, () => {
      if (this.tasks.length > 0) {
        const { task, callback } = this.tasks.shift();
        this.runTask(task, callback);
      }
    });
  }

  addNewWorker() {
    const worker = new Worker(__filename);
    worker.on('message', (result) => {
      // In case of success: Call the callback that was passed to `runTask`,
      // remove the `TaskInfo` associated with the Worker, and mark it as free
      // again.
      worker[kTaskInfo].done(null, result);
      worker[kTaskInfo] = null;
      this.freeWorkers.push(worker);
      this.emit(kWorkerFreedEvent);
    });
    worker.on('error', (err) => {
      // In case of an uncaught exception: Call the callback that was passed to
      // `runTask` with the error.
      if (worker[kTaskInfo])
        worker[kTaskInfo].done(err, null);
      else
        this.emit('error', err);
      // Remove the worker from the list and start a new Worker to replace the
      // current one.
      this.workers.splice(this.workers.indexOf(worker), 1);
      this.addNewWorker();
    });
    this.workers.push(worker);
    this.freeWorkers.push(worker);
    this.emit(kWorkerFreedEvent);
  }

  runTask(task, callback) {
    if (this.freeWorkers.length === 0) {
      // No free threads, wait until a worker thread becomes free.
      this.tasks.push({ task, callback });
      return;
    }

    const worker = this.freeWorkers.pop();
    worker[kTaskInfo] = new WorkerPoolTaskInfo(callback);
    worker.postMessage(task);
  }

  close() {
    for (const worker of this.workers) worker.terminate();
  }
}

// ---- the benchmark ------------------------------------------------------------

function parseArgs(argv) {
  const opts = { mode: 'throughput', threads: 2, inflight: 1000, batch: 0, seconds: 3, warmup: 0.5,
                 tasks: 8, n: 200000000, order: '1,2' };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[i + 1];
    switch (name) {
      case '--mode': opts.mode = value; i++; break;
      case '--threads': opts.threads = Number(value); i++; break;
      case '--inflight': opts.inflight = Number(value); i++; break;
      case '--batch': opts.batch = Number(value); i++; break;
      case '--seconds': opts.seconds = Number(value); i++; break;
      case '--warmup': opts.warmup = Number(value); i++; break;
      case '--tasks': opts.tasks = Number(value); i++; break;
      case '--n': opts.n = Number(value); i++; break;
      case '--order': opts.order = value; i++; break;
      default:
        console.error(`node-worker-pool: unknown argument ${name}`);
        process.exit(2);
    }
  }
  if (!['throughput', 'speedup'].includes(opts.mode) || !(opts.threads >= 1) ||
      !(opts.inflight >= 1) || !(Number.isInteger(opts.batch) && opts.batch >= 0) || !(opts.seconds > 0) || !(opts.warmup >= 0) ||
      !(opts.tasks >= 1) || !(opts.n >= 1) || !['1,2', '2,1'].includes(opts.order)) {
    console.error('node-worker-pool: --mode throughput|speedup, --threads >= 1, --inflight >= 1, --batch >= 0, ' +
                  '--seconds > 0, --warmup >= 0, --tasks >= 1, --n >= 1, --order 1,2|2,1');
    process.exit(2);
  }
  return opts;
}

function die(message) {
  console.error(`node-worker-pool: ${message}`);
  process.exit(1);
}

// Resolves once every worker of the pool has started its thread.
function online(pool) {
  return Promise.all(pool.workers.map((w) => new Promise((resolve) => w.once('online', resolve))));
}

async function throughput(opts) {
  const pool = new WorkerPool(opts.threads);
  const perMessage = Math.max(1, opts.batch);
  const task = opts.batch > 0 ? { task: 'sum', batch: Array.from({ length: opts.batch }, () => ({ n: 1 })) }
                              : { task: 'sum', args: { n: 1 } };
  const warmupNs = BigInt(Math.round(opts.warmup * 1e9));
  const measureNs = BigInt(Math.round(opts.seconds * 1e9));
  let measuring = false;
  let done = false;
  let phaseStart;
  let cpuStart;
  let counted = 0;

  pool.on('error', (err) => die(err.message));
  await online(pool);

  await new Promise((resolve) => {
    const callback = (err, result) => {
      if (done)
        return;
      if (err || !result || result.error || !(opts.batch > 0 ? result.results : result.result))
        die(`task failed: ${err ? err.message : JSON.stringify(result)}`);
      if (opts.batch > 0 && (result.results.length !== perMessage || result.results.some((r) => !r.result)))
        die(`not ${perMessage} results: ${JSON.stringify(result).slice(0, 200)}`);
      const now = process.hrtime.bigint();
      if (!measuring) {
        if (now - phaseStart >= warmupNs) {
          measuring = true;
          phaseStart = now;
          cpuStart = process.cpuUsage();
        }
      } else {
        counted += perMessage;
        if (now - phaseStart >= measureNs) {
          const cpu = process.cpuUsage(cpuStart);
          const cpuSeconds = (cpu.user + cpu.system) / 1e6;
          const seconds = Number(now - phaseStart) / 1e9;
          done = true;
          console.log(JSON.stringify({
            peer: 'worker_threads',
            worker: opts.batch > 0 ? 'batched' : 'pool',
            test: 'throughput',
            threads: opts.threads,
            inflight: opts.inflight,
            batch: opts.batch,
            tasks: counted,
            seconds: Number(seconds.toFixed(4)),
            per_second: Number((counted / seconds).toFixed(1)),
            cpu_seconds: Number(cpuSeconds.toFixed(4)),
            cpu_us_per_task: Number((cpuSeconds * 1e6 / counted).toFixed(3)),
          }));
          resolve();
          return;
        }
      }
      pool.runTask(task, callback);
    };

    phaseStart = process.hrtime.bigint();
    for (let i = 0; i < Math.max(1, Math.floor(opts.inflight / perMessage)); i++)
      pool.runTask(task, callback);
  });
  pool.close();
}

// Seconds this process's threads have spent runnable but not running.
function runqSeconds() {
  let total = 0;
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      total += Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
    } catch {
      // The thread has gone.
    }
  }
  return total;
}

// Seconds for opts.tasks sums through a pool of `threads`.
async function timedPool(opts, threads) {
  const pool = new WorkerPool(threads);
  const expected = opts.n * (opts.n - 1) / 2;

  pool.on('error', (err) => die(err.message));
  await online(pool);

  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const runqStart = runqSeconds();
  await new Promise((resolve) => {
    let left = opts.tasks;
    for (let i = 0; i < opts.tasks; i++) {
      pool.runTask({ task: 'sum', args: { n: opts.n } }, (err, result) => {
        if (err || !result || !result.result)
          die(`task failed: ${err ? err.message : JSON.stringify(result)}`);
        if (Math.abs(result.result.sum - expected) > expected * 1e-6)
          die(`wrong sum ${result.result.sum} (expected ${expected})`);
        if (--left === 0)
          resolve();
      });
    }
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const runq = (runqSeconds() - runqStart) / seconds;
  await Promise.all(pool.workers.map((w) => w.terminate()));
  return { seconds, cores: (cpu.user + cpu.system) / 1e6 / seconds, runq };
}

async function speedup(opts) {
  const seconds = {};
  const cores = {};
  const runq = {};
  for (const threads of opts.order.split(',').map(Number))
    ({ seconds: seconds[threads], cores: cores[threads], runq: runq[threads] } = await timedPool(opts, threads));
  console.log(JSON.stringify({
    peer: 'worker_threads',
    worker: 'pool',
    test: 'speedup',
    tasks: opts.tasks,
    n: opts.n,
    order: opts.order,
    seconds_1: Number(seconds[1].toFixed(4)),
    seconds_2: Number(seconds[2].toFixed(4)),
    speedup: Number((seconds[1] / seconds[2]).toFixed(3)),
    cores_1: Number(cores[1].toFixed(3)),
    cores_2: Number(cores[2].toFixed(3)),
    runq_1: Number(runq[1].toFixed(3)),
    runq_2: Number(runq[2].toFixed(3)),
  }));
}

const opts = parseArgs(process.argv.slice(2));
(opts.mode === 'throughput' ? throughput(opts) : speedup(opts))
  .then(() => process.exit(0), (err) => die(err.stack || String(err)));
