// SPDX-License-Identifier: GPL-3.0-or-later
// lifecycle.js: one run of the lifecycle workloads of tests/bench/run —
// cold start, restart after SIGKILL, graceful stop and the status command —
// against one process manager (or, for status, several side by side).
//
//   node lifecycle.js coldstart --manager M --worker c|node --n N [--says]
//   node lifecycle.js restart   --manager M --worker c|node [--n 4] [--kills 8]
//   node lifecycle.js stop      --manager M --worker c|node [--n 16] [--stop-ms 200]
//                               [--via signal|command]
//   node lifecycle.js status    --managers cohort,pm2,supervisord [--n 64] [--calls 15]
//   common: --idle PATH (bench-idle) --idle-js PATH (bench-idle.js)
//           --primary PATH (node-cluster-primary.js) --cohort PATH --pm2 PATH
//           --supervisord PATH --node PATH
//           --channel MODE (Cohort's Channel=; default: none written, so
//           auto, i.e. Node's channel for a Node worker; none measures what
//           that channel costs a Node worker's start-up)
//
// Managers (M):
//   shell         the floor: /bin/sh starting the N workers with `&` (for
//                 restart, each in a `while :; do WORKER; done` loop); its
//                 "stop" is this script sending SIGTERM to each worker itself
//   cohort        `cohort --headless PROFILE` on a private session bus of its
//                 own (dbus-daemon, so that `cohort --status` reaches it and
//                 no other Cohort in the session is touched); one cluster of
//                 N, RestartDelay=0 (its default is 100 ms; PM2's is 0),
//                 StopMessage="shutdown"
//   supervisord   `supervisord -n -c CONF`, [program:w] numprocs=N,
//                 startsecs=0, autorestart=true, stopsignal=TERM
//   pm2           PM2_HOME in the run's folder, daemon not running before;
//                 `pm2 start ECOSYSTEM` with instances N, restart_delay 0;
//                 a C worker in fork mode (interpreter none), a Node worker
//                 in cluster mode (what `pm2 start app.js -i N` does), with
//                 shutdown_with_message for the Node worker
//   node-cluster  node-cluster-primary.js (cluster.fork() N times, fork on
//                 'exit', "shutdown" to every worker on SIGTERM); Node
//                 workers only
//
// How it is measured, the same way for everyone: every worker (bench-idle.c
// or bench-idle.js) reads CLOCK_MONOTONIC first thing and writes
// "start PID NS" to a FIFO that this script reads, and keeps the FIFO open
// until it is gone. process.hrtime.bigint() is that same clock (checked:
// a C program's clock_gettime(CLOCK_MONOTONIC) falls between two hrtime
// readings around it), so the workers' own times compare with this
// script's. Nothing polls the managers unless asked (--says, status):
//   coldstart  ms = from just before spawning the manager (or its CLI:
//              `pm2 start`) to the last of the N workers' "start" times;
//              --says: meanwhile poll the manager's own status back to back
//              (`cohort --status --json`, `supervisorctl status`, `pm2
//              jlist` once `pm2 start` has returned) and said_ms = the end
//              of the first answer with all N online/RUNNING; node-cluster
//              reports its 'online' events itself (said_ms, always)
//   restart    K times, SIGKILL the longest-running worker, one at a time:
//              ms = the median from just before kill() to the replacement's
//              own "start" time (a new pid); the shell floor is its
//              `while` loop (the shell's wait, fork, exec)
//   stop       N workers that exit BENCH_STOP_MS (200) ms after a stop
//              request; ms = from just before the stop request (the
//              signal to the manager, or spawning its command: `cohort
//              --quit`, `supervisorctl stop all`, `pm2 stop all`) to end of
//              file on the FIFO, i.e. the last worker's descriptors closed
//              by its exit; left = workers still in /proc (zombies
//              included) once the manager is done
//   status     all managers up with N C workers each, the status command of
//              each timed in turn (the order rotating each round), --calls
//              rounds; ms = median wall time of a call (spawn to exit)
//
// Every run has a folder of its own (FIFO, configs, logs, PM2_HOME, the bus
// socket), removed at the end; every process it starts carries BENCH_RUN in
// its environment, and anything still carrying it at the end is killed
// (and said). One JSON line on stdout per result (status: one per manager);
// progress and problems on stderr; exit 1 when the run failed.

'use strict';

const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { spawn, spawnSync, execFile } = require('child_process');

const TIMEOUT_MS = { start: 60000, restart: 10000, stop: 20000, teardown: 20000 };

// ---- options --------------------------------------------------------------

function parseArgs(argv) {
  const opts = { test: argv[0], manager: null, managers: 'cohort,pm2,supervisord', worker: 'c', n: null,
                 says: false, channel: null, kills: 8, stopMs: 200, via: 'signal', calls: 15, idle: null, idleJs: null,
                 primary: null, cohort: null, pm2: null, supervisord: null,
                 node: process.execPath };
  const names = { '--manager': 'manager', '--managers': 'managers', '--worker': 'worker', '--n': 'n',
                  '--kills': 'kills', '--channel': 'channel', '--stop-ms': 'stopMs', '--via': 'via', '--calls': 'calls',
                  '--idle': 'idle', '--idle-js': 'idleJs', '--primary': 'primary', '--cohort': 'cohort',
                  '--pm2': 'pm2', '--supervisord': 'supervisord', '--node': 'node' };
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === '--says')
      opts.says = true;
    else if (names[argv[i]] && i + 1 < argv.length)
      opts[names[argv[i]]] = argv[++i];
    else
      usage(`unknown argument ${argv[i]}`);
  }
  for (const k of ['n', 'kills', 'stopMs', 'calls'])
    if (opts[k] !== null)
      opts[k] = Number(opts[k]);
  opts.n ??= { coldstart: 8, restart: 4, stop: 16, status: 64 }[opts.test];
  if (!['coldstart', 'restart', 'stop', 'status'].includes(opts.test))
    usage('the test is coldstart, restart, stop or status');
  if (!['c', 'node'].includes(opts.worker))
    usage('--worker is c or node');
  if (opts.test !== 'status' && !opts.manager)
    usage('--manager is needed');
  return opts;
}

function usage(message) {
  console.error(`lifecycle: ${message}`);
  if (TMP !== null)
    fs.rmSync(TMP, { recursive: true, force: true });
  process.exit(2);
}

let TMP = null;   // the run's folder, made once the arguments are good
const opts = parseArgs(process.argv.slice(2));

// ---- time -------------------------------------------------------------------

const now = () => process.hrtime.bigint();
const ms = (a, b) => Number(a - b) / 1e6;
const sleep = (t) => new Promise((resolve) => setTimeout(resolve, t));
const round = (x, d = 3) => Number(x.toFixed(d));

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function log(text) {
  process.stderr.write(`lifecycle: ${text}\n`);
}

// waitFor(cond, timeout, what): resolves when cond() is true (checked at
// each event the caller signals through wake(), and every 50 ms).
let wakers = [];
function wake() {
  const w = wakers;
  wakers = [];
  for (const f of w)
    f();
}
async function waitFor(cond, timeout, what) {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}`);
    await new Promise((resolve) => {
      wakers.push(resolve);
      setTimeout(resolve, 50);
    });
  }
}

// ---- the run's folder and its processes ----------------------------------------

TMP = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'cohort-lifecycle-'));
const spawned = [];   // { child, group } to kill at the end if still there

function runEnv(extra = {}) {
  return { ...process.env, BENCH_RUN: TMP, BENCH_STOP_MS: '0', ...extra };
}

function logFile(name) {
  return fs.openSync(path.join(TMP, `${name}.log`), 'a');
}

// start(argv, env, name): a detached child (its own process group), output
// to NAME.log.
function start(argv, env, name, stdout = null) {
  const out = logFile(name);
  const child = spawn(argv[0], argv.slice(1), { env, detached: true,
                                                stdio: ['ignore', stdout ?? out, out] });
  fs.closeSync(out);
  child.on('error', (e) => log(`${name}: ${e.message}`));
  child.exited = new Promise((resolve) => child.on('exit', resolve));
  child.done = false;
  child.exited.then(() => { child.done = true; wake(); });
  spawned.push(child);
  return child;
}

// A command run to its end, asynchronously: { status, stdout, ms }.
function command(argv, env, timeout = 30000) {
  return new Promise((resolve) => {
    const t0 = now();
    execFile(argv[0], argv.slice(1), { env, timeout, maxBuffer: 64 << 20, killSignal: 'SIGKILL' },
             (error, stdout, stderr) => resolve({ status: error ? (error.code ?? 1) : 0, stdout, stderr,
                                                  ms: ms(now(), t0) }));
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

function kill(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

// The processes whose environment carries this run's BENCH_RUN.
function markedProcesses() {
  const marker = Buffer.from(`BENCH_RUN=${TMP}\0`);
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid)
      continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/environ`).includes(marker) && !isZombie(Number(entry)))
        pids.push(Number(entry));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

function exists(pid) {
  return fs.existsSync(`/proc/${pid}`);
}

// ---- the FIFO the workers write to -----------------------------------------------

class Notifier {
  constructor(name) {
    this.path = path.join(TMP, `${name}.fifo`);
    const r = spawnSync('mkfifo', [this.path]);
    if (r.status !== 0)
      throw new Error(`mkfifo ${this.path} failed`);
    this.starts = [];        // { pid, ns } in arrival order
    this.pids = new Set();
    this.exits = [];
    this.ended = null;       // hrtime of end of file
    this.socket = new net.Socket({ fd: fs.openSync(this.path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK),
                                   readable: true, writable: false });
    let rest = '';
    this.socket.on('data', (data) => {
      const lines = (rest + data).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        const [what, pid, ns] = line.split(' ');
        if (what === 'start') {
          this.starts.push({ pid: Number(pid), ns: BigInt(ns) });
          this.pids.add(Number(pid));
        } else if (what === 'exit') {
          this.exits.push({ pid: Number(pid), ns: BigInt(ns) });
        }
      }
      wake();
    });
    this.socket.on('end', () => {
      this.ended = now();
      wake();
    });
    this.socket.on('error', (e) => log(`${this.path}: ${e.message}`));
  }

  // The pids that have started and are still there.
  live() {
    return [...this.pids].filter((pid) => exists(pid) && !isZombie(pid));
  }

  close() {
    this.socket.destroy();
  }
}

function isZombie(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

// ---- the workers ----------------------------------------------------------------

function workerArgv(kind) {
  if (kind === 'c') {
    if (!opts.idle)
      usage('--idle is needed');
    return [path.resolve(opts.idle)];
  }
  if (!opts.idleJs)
    usage('--idle-js is needed');
  return [opts.node, path.resolve(opts.idleJs)];
}

// ---- managers ------------------------------------------------------------------------
//
// Each: prepare() (configs, a bus: not timed), launch() (spawns; the caller
// takes the time just before), says() (its own view: are all N online?),
// statusArgv(), stop(via) (starts a graceful stop; the caller takes the
// time just before), done() (has the manager finished after a stop?) and
// teardown() (stop everything now, quietly).

// terminate(child): SIGTERM, and SIGKILL if it is still there after the
// teardown timeout.
async function terminate(child) {
  if (child === undefined || child.done)
    return;
  kill(child.pid, 'SIGTERM');
  await Promise.race([child.exited, sleep(TIMEOUT_MS.teardown)]);
  if (!child.done)
    kill(child.pid, 'SIGKILL');
}

// What most managers do: a manager process of ours (this.child, from
// launch()) that a SIGTERM stops with everything it started.
class Manager {
  // The option naming the manager's program, when it needs one.
  static program = null;

  constructor(name, notifier, n, worker, env) {
    Object.assign(this, { name, notifier, n, worker, env });
    const program = this.constructor.program;
    if (program && !opts[program])
      usage(`--${program} is needed`);
  }

  // A folder of the run's for this manager's files.
  folder() {
    return fs.mkdtempSync(path.join(TMP, `${this.name}-`));
  }

  async prepare() {}

  // The stop is over when the manager has exited.
  done() {
    return this.child.done;
  }

  // Whether it died before its workers had all started.
  crashed() {
    return this.child !== undefined && this.child.done;
  }

  async teardown() {
    await terminate(this.child);
  }
}

class Shell extends Manager {

  // SIGTERM to the shell (teardown) kills its workers and reaps them: a
  // process left to the machine's init may stay a zombie here.
  launch() {
    const slot = opts.test === 'restart'
      ? `(trap 'kill -KILL $w; wait; exit 0' TERM; while :; do "$@" & w=$!; wait $w; done) &`
      : '"$@" &';
    const loop = `trap 'kill -${opts.test === 'restart' ? 'TERM' : 'KILL'} $pids 2>/dev/null; wait; exit 0' TERM
n=$1; shift; i=0; pids=
while [ $i -lt $n ]; do ${slot} pids="$pids $!"; i=$((i+1)); done
wait`;
    this.child = start(['/bin/sh', '-c', loop, 'sh', String(this.n), ...workerArgv(this.worker)],
                       this.env, 'shell');
  }

  async says() {
    return this.notifier.pids.size >= this.n;
  }

  stop() {
    for (const pid of this.notifier.live())
      kill(pid, 'SIGTERM');
  }

}

class Cohort extends Manager {
  static program = 'cohort';

  async prepare() {
    const dir = this.folder();
    const socket = path.join(dir, 'bus');
    this.env = { ...this.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${socket}` };
    delete this.env.DISPLAY;
    delete this.env.WAYLAND_DISPLAY;
    this.bus = start(['dbus-daemon', '--session', '--nofork', '--nopidfile', `--address=unix:path=${socket}`],
                     this.env, 'dbus');
    await waitFor(() => fs.existsSync(socket) || this.bus.done, 10000, 'the private session bus');
    if (this.bus.done)
      throw new Error('dbus-daemon exited');
    const quote = (s) => `'${s.replace(/'/g, "'\\''")}'`;
    this.profile = path.join(dir, 'bench.cohort');
    fs.writeFileSync(this.profile,
                     '[Profile]\nName=Bench\n\n[Cluster w]\n' +
                     `Command=${workerArgv(this.worker).map(quote).join(' ')}\n` +
                     `Instances=${this.n}\nRestartDelay=0\nStopMessage="shutdown"\nStopTimeout=10\n` +
                     (opts.channel ? `Channel=${opts.channel}\n` : ''));
  }

  launch() {
    this.child = start([opts.cohort, '--headless', this.profile], this.env, 'cohort');
  }

  async says() {
    const r = await command([opts.cohort, '--status', '--json'], this.env);
    if (r.status !== 0)
      return false;
    const status = JSON.parse(r.stdout);
    return status.clusters[0].workers.filter((w) => w.state === 'online').length >= this.n;
  }

  statusArgv() {
    return [opts.cohort, '--status', '--json'];
  }

  check(stdout) {
    return JSON.parse(stdout).clusters[0].workers.filter((w) => w.state === 'online').length;
  }

  // `cohort --quit` returns once everything has stopped, and the instance
  // exits: done() is the instance's exit either way.
  stop(via) {
    if (via === 'command')
      start([opts.cohort, '--quit'], this.env, 'cohort-quit');
    else
      kill(this.child.pid, 'SIGTERM');
  }

  async teardown() {
    await terminate(this.child);
    await terminate(this.bus);
  }
}

class Supervisord extends Manager {
  static program = 'supervisord';

  async prepare() {
    const dir = this.folder();
    this.conf = path.join(dir, 'supervisord.conf');
    fs.writeFileSync(this.conf, `[supervisord]
nodaemon=true
logfile=${dir}/supervisord.log
pidfile=${dir}/supervisord.pid
childlogdir=${dir}
minfds=4096

[unix_http_server]
file=${dir}/supervisor.sock

[supervisorctl]
serverurl=unix://${dir}/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:w]
command=${workerArgv(this.worker).join(' ')}
numprocs=${this.n}
process_name=%(program_name)s_%(process_num)02d
startsecs=0
autorestart=true
stopsignal=TERM
stopwaitsecs=10
`);
    this.ctl = path.join(path.dirname(opts.supervisord), 'supervisorctl');
    if (!fs.existsSync(this.ctl))
      this.ctl = 'supervisorctl';
  }

  launch() {
    this.child = start([opts.supervisord, '-n', '-c', this.conf], this.env, 'supervisord');
  }

  async says() {
    const r = await command(this.statusArgv(), this.env);
    return this.check(r.stdout) >= this.n;
  }

  statusArgv() {
    return [this.ctl, '-c', this.conf, 'status'];
  }

  check(stdout) {
    return stdout.split('\n').filter((l) => /\bRUNNING\b/.test(l)).length;
  }

  stop(via) {
    if (via === 'command')
      this.stopCli = start([this.ctl, '-c', this.conf, 'stop', 'all'], this.env, 'supervisorctl');
    else
      kill(this.child.pid, 'SIGTERM');
  }

  // After `supervisorctl stop all`: when it has returned (supervisord stays).
  done() {
    return (this.stopCli ?? this.child).done;
  }
}

class Pm2 extends Manager {
  static program = 'pm2';

  async prepare() {
    const dir = this.folder();
    this.env = { ...this.env, PM2_HOME: path.join(dir, 'home') };
    this.ecosystem = path.join(dir, 'ecosystem.json');
    const [program, ...args] = workerArgv(this.worker);
    const app = { name: 'w', instances: this.n, autorestart: true, restart_delay: 0, kill_timeout: 10000,
                  out_file: '/dev/null', error_file: path.join(dir, 'w.err'),
                  env: { BENCH_NOTIFY: this.env.BENCH_NOTIFY, BENCH_STOP_MS: this.env.BENCH_STOP_MS,
                         BENCH_RUN: TMP } };
    if (this.worker === 'c')
      Object.assign(app, { script: program, interpreter: 'none', exec_mode: 'fork' });
    else
      Object.assign(app, { script: args[0], exec_mode: 'cluster', shutdown_with_message: true });
    fs.writeFileSync(this.ecosystem, JSON.stringify({ apps: [app] }));
    this.started = false;
  }

  launch() {
    this.cli = start([opts.pm2, 'start', this.ecosystem], this.env, 'pm2');
  }

  // jlist before `pm2 start` has returned could start a second daemon.
  async says() {
    if (!this.cli.done)
      return false;
    const r = await command(this.statusArgv(), this.env);
    return r.status === 0 && this.check(r.stdout) >= this.n;
  }

  statusArgv() {
    return [opts.pm2, 'jlist'];
  }

  check(stdout) {
    return JSON.parse(stdout).filter((p) => p.pm2_env.status === 'online').length;
  }

  daemonPid() {
    try {
      return Number(fs.readFileSync(path.join(this.env.PM2_HOME, 'pm2.pid'), 'utf8'));
    } catch {
      return 0;
    }
  }

  stop(via) {
    this.stopCli = start([opts.pm2, 'stop', 'all'], this.env, 'pm2-stop');
  }

  // `pm2 stop` has returned (the daemon stays, as it does for PM2 users).
  done() {
    return this.stopCli.done;
  }

  // The CLI exits when it has launched them; a failure is a status.
  crashed() {
    return this.cli.done && this.cli.exitCode !== 0;
  }

  // `pm2 kill` returns before its daemon has quite exited: wait for it.
  async teardown() {
    if (this.cli === undefined)
      return;
    await Promise.race([this.cli.exited, sleep(TIMEOUT_MS.teardown)]);
    const daemon = this.daemonPid();
    if (daemon > 0) {
      const r = await command([opts.pm2, 'kill'], this.env, TIMEOUT_MS.teardown);
      if (r.status !== 0)
        log(`pm2 kill: status ${r.status}`);
      try {
        await waitFor(() => !exists(daemon) || isZombie(daemon), TIMEOUT_MS.teardown, 'PM2\'s daemon to exit');
      } catch (e) {
        log(e.message);
      }
    }
  }
}

class NodeCluster extends Manager {
  static program = 'primary';

  constructor(...args) {
    super(...args);
    if (this.worker !== 'node')
      usage('node-cluster runs Node workers only');
    this.online = null;
  }

  launch() {
    this.child = start([opts.node, path.resolve(opts.primary), String(this.n), path.resolve(opts.idleJs)],
                       this.env, 'node-cluster', 'pipe');
    this.child.stdout.on('data', (data) => {
      const m = /online (\d+)/.exec(String(data));
      if (m) {
        this.online = BigInt(m[1]);
        wake();
      }
    });
  }

  async says() {
    return this.online !== null;
  }

  stop() {
    kill(this.child.pid, 'SIGTERM');
  }

}

const managers = [];   // every one made, for a teardown after a failure
const MANAGERS = { shell: Shell, cohort: Cohort, supervisord: Supervisord, pm2: Pm2, 'node-cluster': NodeCluster };

function makeManager(name, notifier, n, worker, extraEnv = {}) {
  const Class = MANAGERS[name];
  if (!Class)
    usage(`no manager ${name} (there are: ${Object.keys(MANAGERS).join(', ')})`);
  const manager = new Class(name, notifier, n, worker, runEnv({ BENCH_NOTIFY: notifier.path, ...extraEnv }));
  managers.push(manager);
  return manager;
}

async function startAll(manager, notifier) {
  await manager.prepare();
  const t0 = now();
  manager.launch();
  await waitFor(() => notifier.pids.size >= manager.n || manager.crashed(), TIMEOUT_MS.start,
                `${manager.n} workers of ${manager.name}`);
  if (notifier.pids.size < manager.n)
    throw new Error(`${manager.name} exited with ${notifier.pids.size} of ${manager.n} workers started`);
  return t0;
}

// teardown(manager): everything stopped, and every worker gone (end of
// file on its FIFO: the last worker's descriptors are closed).
async function teardown(manager) {
  await manager.teardown();
  try {
    await waitFor(() => manager.notifier.ended !== null, TIMEOUT_MS.teardown, `${manager.name}'s workers to be gone`);
  } catch (e) {
    log(e.message);
  }
}

// ---- the tests -----------------------------------------------------------------------

function result(fields) {
  process.stdout.write(JSON.stringify({ peer: opts.manager, worker: opts.worker, n: opts.n, test: opts.test,
                                        ...(opts.channel ? { channel: opts.channel } : {}), ...fields }) + '\n');
}

async function coldstart() {
  const notifier = new Notifier('w');
  const manager = makeManager(opts.manager, notifier, opts.n, opts.worker);
  let saidAt = null;
  let polls = 0;
  await manager.prepare();
  const t0 = now();
  manager.launch();
  const polling = (async () => {
    if (opts.manager === 'node-cluster') {
      await waitFor(() => manager.online !== null || manager.crashed(), TIMEOUT_MS.start, 'the primary\'s online');
      saidAt = manager.online;
      return;
    }
    if (!opts.says || opts.manager === 'shell')
      return;
    if (opts.manager === 'pm2')
      await waitFor(() => manager.cli.done, TIMEOUT_MS.start, '`pm2 start` to return');
    // Back to back, as a script waiting for them would.
    while (!(await manager.says())) {
      polls++;
      if (ms(now(), t0) > TIMEOUT_MS.start || manager.crashed())
        throw new Error(`${manager.name} did not say all ${opts.n} are online`);
    }
    polls++;
    saidAt = now();
  })();
  // Awaited below; a failure meanwhile must not end the process before
  // the clean-up (an unhandled rejection would).
  polling.catch(() => {});
  await waitFor(() => notifier.pids.size >= opts.n || manager.crashed(), TIMEOUT_MS.start,
                `${opts.n} workers to start`);
  if (notifier.pids.size < opts.n)
    throw new Error(`${manager.name} exited with ${notifier.pids.size} of ${opts.n} workers started`);
  const last = notifier.starts.slice(0, opts.n).reduce((a, s) => (s.ns > a ? s.ns : a), 0n);
  const first = notifier.starts.reduce((a, s) => (s.ns < a ? s.ns : a), last);
  await polling;
  await sleep(100);
  if (notifier.pids.size !== opts.n)
    throw new Error(`${notifier.pids.size} workers started, not ${opts.n}: some were restarted`);
  const fields = { says: opts.says, ms: round(ms(last, t0)), first_ms: round(ms(first, t0)) };
  if (saidAt !== null)
    Object.assign(fields, { said_ms: round(ms(saidAt, t0)), polls });
  await teardown(manager);
  result(fields);
}

async function restart() {
  const notifier = new Notifier('w');
  const manager = makeManager(opts.manager, notifier, opts.n, opts.worker);
  await startAll(manager, notifier);
  await sleep(500);
  const latencies = [];
  for (let k = 0; k < opts.kills; k++) {
    const live = notifier.live();
    if (live.length < opts.n)
      throw new Error(`${live.length} of ${opts.n} workers running before kill ${k + 1}`);
    const startedAt = new Map(notifier.starts.map((s) => [s.pid, s.ns]));
    const victim = live.reduce((a, pid) => (startedAt.get(pid) < startedAt.get(a) ? pid : a));
    const before = notifier.starts.length;
    const t = now();
    kill(victim, 'SIGKILL');
    await waitFor(() => notifier.starts.length > before, TIMEOUT_MS.restart,
                  `a replacement for worker ${victim} (kill ${k + 1})`);
    latencies.push(ms(notifier.starts[before].ns, t));
    // Let the manager settle (and not count a worker's uptime as a quick crash).
    await sleep(300);
  }
  await teardown(manager);
  result({ kills: latencies.length, ms: round(median(latencies)), ms_min: round(Math.min(...latencies)),
           ms_max: round(Math.max(...latencies)), all_ms: latencies.map((x) => round(x, 2)) });
}

async function stop() {
  const notifier = new Notifier('w');
  const manager = makeManager(opts.manager, notifier, opts.n, opts.worker, { BENCH_STOP_MS: String(opts.stopMs) });
  if (opts.via === 'command' && (opts.manager === 'shell' || opts.manager === 'node-cluster'))
    usage(`${opts.manager} has no stop command`);
  if (opts.via === 'signal' && opts.manager === 'pm2')
    usage('pm2 is stopped with its command (pm2 stop all)');
  await startAll(manager, notifier);
  await sleep(500);
  const pids = [...notifier.pids];
  const t0 = now();
  manager.stop(opts.via);
  await waitFor(() => notifier.ended !== null, TIMEOUT_MS.stop, 'every worker to be gone');
  const gone = ms(notifier.ended, t0);
  const exits = notifier.exits.map((e) => ms(e.ns, t0));
  await waitFor(() => manager.done(), TIMEOUT_MS.stop, `${manager.name} to finish stopping`);
  const left = pids.filter(exists).length;
  await teardown(manager);
  result({ via: opts.via, stop_ms: opts.stopMs, ms: round(gone),
           first_exit_ms: exits.length ? round(Math.min(...exits)) : null,
           last_exit_ms: exits.length ? round(Math.max(...exits)) : null,
           exits: exits.length, left });
}

async function status() {
  const names = opts.managers.split(',');
  const managers = names.map((name) => makeManager(name, new Notifier(name), opts.n, 'c'));
  for (const manager of managers) {
    await startAll(manager, manager.notifier);
    const deadline = Date.now() + TIMEOUT_MS.start;
    while (!(await manager.says())) {
      if (Date.now() > deadline)
        throw new Error(`${manager.name} does not say its ${opts.n} workers are online`);
      await sleep(100);
    }
  }
  await sleep(1000);
  const times = new Map(names.map((n) => [n, []]));
  for (let r = 0; r < opts.calls; r++) {
    for (let i = 0; i < managers.length; i++) {
      const manager = managers[(r + i) % managers.length];
      const t = now();
      const out = spawnSync(manager.statusArgv()[0], manager.statusArgv().slice(1),
                            { env: manager.env, maxBuffer: 64 << 20, timeout: 30000, encoding: 'utf8' });
      const took = ms(now(), t);
      if (out.status !== 0 && !(manager.name === 'supervisord' && out.stdout))
        throw new Error(`${manager.statusArgv().join(' ')}: status ${out.status}: ${out.stderr}`);
      if (r === 0 || r === opts.calls - 1) {
        const online = manager.check(out.stdout);
        if (online !== opts.n)
          throw new Error(`${manager.name}'s status shows ${online} of ${opts.n} online`);
      }
      times.get(manager.name).push(took);
    }
  }
  for (const manager of managers)
    await teardown(manager);
  for (const name of names) {
    const t = times.get(name);
    process.stdout.write(JSON.stringify({ peer: name, worker: 'c', n: opts.n, test: 'status', calls: t.length,
                                          ms: round(median(t)), ms_min: round(Math.min(...t)),
                                          ms_max: round(Math.max(...t)) }) + '\n');
  }
}

// ---- main ---------------------------------------------------------------------------

let cleaning = false;
function cleanup() {
  if (cleaning)
    return;
  cleaning = true;
  let left = 0;
  for (let pass = 0; pass < 3; pass++) {
    const pids = markedProcesses();
    if (pids.length === 0)
      break;
    left += pids.length;
    for (const pid of pids) {
      let name = '?';
      try {
        name = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 100);
      } catch {
        // gone
      }
      log(`left behind: ${pid} ${name}`);
      kill(pid, 'SIGKILL');
    }
    spawnSync('sleep', ['0.1']);
  }
  if (left > 0)
    log(`killed ${left} process(es) of this run still there at the end`);
  fs.rmSync(TMP, { recursive: true, force: true });
}

process.on('SIGTERM', () => {
  log('terminated: cleaning up');
  cleanup();
  process.exit(1);
});
process.on('SIGINT', () => {
  cleanup();
  process.exit(1);
});

({ coldstart, restart, stop, status })[opts.test]()
  .then(() => {
    cleanup();
    process.exit(0);
  })
  .catch(async (e) => {
    log(`${opts.test} ${opts.manager ?? opts.managers}/${opts.worker}: ${e.message}`);
    for (const name of fs.existsSync(TMP) ? fs.readdirSync(TMP) : [])
      if (name.endsWith('.log')) {
        const text = fs.readFileSync(path.join(TMP, name), 'utf8').trim().split('\n').slice(-8).join('\n');
        if (text)
          log(`${name}:\n${text}`);
      }
    // What can still be stopped the ordinary way; then the marker scan.
    for (const manager of managers)
      await manager.teardown().catch((err) => log(`teardown of ${manager.name}: ${err.message}`));
    cleanup();
    process.exit(1);
  });
