// SPDX-License-Identifier: GPL-3.0-or-later
// chart.js: the data and the gnuplot script of the benchmarks' chart.
//
//   node chart.js OUT_DIR WORK_DIR PNG
//
// Reads the workloads' JSON lines in OUT_DIR (those that have run), writes
// one data file per panel and chart.gp into WORK_DIR; `gnuplot
// WORK_DIR/chart.gp` then draws PNG. Each panel is one workload, Cohort
// and its peers side by side as medians of the runs (log scales for times
// that span decades); the last one holds the throughput workloads as ratios
// Cohort / peer, oriented so that above 1 means Cohort is better.

'use strict';

const fs = require('fs');
const path = require('path');
const { readRuns, median, matches } = require('./bench-stats');

const [outDir, workDir, png] = process.argv.slice(2);
if (!png) {
  console.error('usage: chart.js OUT_DIR WORK_DIR PNG');
  process.exit(2);
}

// One colour per peer, the same in every panel.
const COLOURS = {
  shell: '#9a9996', cohort: '#1c71d8', supervisord: '#e66100', 'node-cluster': '#2ec27e', pm2: '#9141ac',
  floor: '#9a9996',   // sampling's bare C loop: a floor, as the shell loop is elsewhere
  'pm2-monit': '#dc8add',   // PM2 asked for its processes' figures each second
  raw: '#9a9996',     // threads' bare pthreads: the machine's ceiling, a reference as the floor is
};

const runsOf = (name) => readRuns(path.join(outDir, `${name}.jsonl`));

function med(runs, filter, field) {
  const values = runs.filter((r) => matches(r, filter)).map((r) => r[field]).filter(Number.isFinite);
  return values.length ? median(values) : NaN;
}

const filters = (text) => text.split(',').filter(Boolean).map((f) => {
  const [key, value] = f.split('=');
  return { key, value };
});

const fmtValue = (x) => (!Number.isFinite(x) ? '?' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toPrecision(2));

// A clustered-bar panel: rows (clusters) of [label, filter], columns of
// peers; skipped when it has no figure at all.
function barPanel({ name, title, ylabel, runs, field, rows, peers, log = true }) {
  const data = rows.map(([label, filter]) =>
    [label, ...peers.map((peer) => med(runs, filters(`${filter},peer=${peer}`), field))]);
  const used = peers.filter((_, j) => data.some((row) => Number.isFinite(row[j + 1])));
  if (used.length === 0)
    return null;
  const columns = used.map((peer) => peers.indexOf(peer));
  const file = path.join(workDir, `${name}.dat`);
  fs.writeFileSync(file, [['# group', ...used].join('\t'),
                          ...data.map((row) => [`"${row[0]}"`, ...columns.map((j) => fmtValue(row[j + 1]))]
                            .join('\t'))].join('\n') + '\n');
  const k = used.length;
  const width = 1 / (k + 1.5);
  const bars = used.map((peer, i) =>
    `'${file}' using ${i + 2}:xtic(1) title '${peer}' lc rgb '${COLOURS[peer] ?? '#555555'}'`);
  // Upright labels while they fit, else turned (narrow bars).
  const style = k > 3 ? 'rotate by 90 left offset 0,0.3' : 'offset 0,0.55';
  const labels = used.map((peer, i) =>
    `'${file}' using ($0 + ${((i - (k - 1) / 2) * width).toFixed(4)}):${i + 2}:${i + 2} ` +
    `with labels ${style} font ",8" notitle`);
  return `set title "${title}"
set ylabel "${ylabel}"
${log ? 'set logscale y\nset yrange [*:*]' : 'unset logscale y\nset yrange [0:*]'}
set xrange [-0.5:${rows.length - 0.5}]
set style data histograms
set style histogram clustered gap 1.5
set boxwidth 1
set key outside right top vertical
plot ${bars.join(', \\\n     ')}, \\
     ${labels.join(', \\\n     ')}
`;
}

// Ratios Cohort / peer for the throughput workloads, >1 = Cohort better;
// and Cohort's speed-up over raw's, the machine's ceiling (1 at best), in
// raw's colour so that it does not read as one more peer beaten or not.
function ratioPanel() {
  const rows = [];
  const add = (label, a, b, lowerBetter = false, ceiling = false) => {
    if (Number.isFinite(a) && Number.isFinite(b) && a > 0 && b > 0)
      rows.push([label, lowerBetter ? b / a : a / b, ceiling]);
  };
  const rt = runsOf('roundtrip');
  for (const [size, text] of [[50, '50 B'], [65536, '64 KiB']])
    for (const [cpus, where] of [['any', ''], [null, ' 1 CPU']]) {
      const cpuFilter = cpus ?? [...new Set(rt.map((r) => r.cpus))].find((c) => c !== 'any');
      if (cpuFilter === undefined)
        continue;
      // Node's process.send() serializes every message: Cohort serializing
      // every one too (cohort-tree) is the like-for-like row.
      const f = `size=${size},cpus=${cpuFilter},worker=node`;
      add(`round trips ${text}${where}`, med(rt, filters(`${f},peer=cohort-tree`), 'per_second'),
          med(rt, filters(`${f},peer=node-fork`), 'per_second'));
    }
  const th = runsOf('threads');
  // Like with like: one task per message against Node's pool posting one,
  // batches against batches (the target).
  add('tiny tasks', med(th, filters('test=throughput,peer=cohort,worker=messages'), 'per_second'),
      med(th, filters('test=throughput,peer=worker_threads,worker=pool'), 'per_second'));
  add('tiny tasks, batched', med(th, filters('test=throughput,peer=cohort,worker=batched'), 'per_second'),
      med(th, filters('test=throughput,peer=worker_threads,worker=batched'), 'per_second'));
  add('1→2 speed-up', med(th, filters('test=speedup,peer=cohort'), 'speedup'),
      med(th, filters('test=speedup,peer=worker_threads'), 'speedup'));
  add('1→2 speed-up vs raw (ceiling)', med(th, filters('test=speedup,peer=cohort'), 'speedup'),
      med(th, filters('test=speedup,peer=raw'), 'speedup'), false, true);
  const sa = runsOf('sampling');
  for (const peer of ['pm2', 'supervisord'])
    add(`RSS vs ${peer}`, med(sa, filters('n=64,peer=cohort'), 'rss_mib'),
        med(sa, filters(`n=64,peer=${peer}`), 'rss_mib'), true);
  if (rows.length === 0)
    return null;
  const file = path.join(workDir, 'ratios.dat');
  // Column 3 holds the ceiling rows only, drawn over their bar in raw's colour.
  fs.writeFileSync(file, rows.map(([label, x, ceiling]) =>
    `"${label}"\t${x.toFixed(3)}\t${ceiling ? x.toFixed(3) : '?'}`).join('\n') + '\n');
  const grey = rows.some((row) => row[2]);
  const ceiling = grey ? `\n     '${file}' using 0:3 with boxes notitle lc rgb '${COLOURS.raw}', \\` : '';
  return `set title "Cohort / peer (above 1: Cohort better): round trips vs Node's fork(),\\nthread pool vs worker_threads, RSS with 64 idle workers${
    grey ? "\\ngrey: Cohort's speed-up / raw's, the machine's ceiling (1 at best)" : ''}"
set ylabel "ratio"
unset logscale y
set yrange [0:*]
set xrange [-0.6:${rows.length - 0.4}]
set style data histograms
set style histogram clustered gap 1
set boxwidth 0.7
set xtics rotate by -30 left font ",8"
unset key
plot '${file}' using 2:xtic(1) notitle lc rgb '${COLOURS.cohort}', \\${ceiling}
     '${file}' using 0:2:(sprintf("%.2f", $2)) with labels offset 0,0.55 font ",8" notitle, \\
     1 with lines dt 2 lc rgb '#555555' notitle
set xtics norotate font ",9"
`;
}

fs.mkdirSync(workDir, { recursive: true });
const panels = [
  barPanel({ name: 'coldstart', title: 'Cold start of 64 idle workers until all run', ylabel: 'ms (log)',
             runs: runsOf('coldstart'), field: 'ms',
             rows: [['C', 'says=false,n=64,worker=c'], ['Node', 'says=false,n=64,worker=node']],
             peers: ['shell', 'cohort', 'supervisord', 'node-cluster', 'pm2'] }),
  barPanel({ name: 'restart', title: 'Restart after SIGKILL, until the replacement runs', ylabel: 'ms (log)',
             runs: runsOf('restart'), field: 'ms',
             rows: [['C', 'worker=c'], ['Node', 'worker=node']],
             peers: ['shell', 'cohort', 'supervisord', 'node-cluster', 'pm2'] }),
  barPanel({ name: 'stop', title: 'Graceful stop of 16 workers needing 200 ms', ylabel: 'ms (log)',
             runs: runsOf('stop'), field: 'ms',
             rows: [['C, signal', 'worker=c,via=signal'], ['C, command', 'worker=c,via=command'],
                    ['Node, signal', 'worker=node,via=signal'], ['Node, command', 'worker=node,via=command']],
             peers: ['shell', 'cohort', 'supervisord', 'node-cluster', 'pm2'] }),
  barPanel({ name: 'status', title: 'Status command with 64 workers', ylabel: 'ms per call (log)',
             runs: runsOf('status'), field: 'ms', rows: [['64 workers', 'n=64']],
             peers: ['cohort', 'supervisord', 'pm2'] }),
  barPanel({ name: 'sampling', title: 'Manager CPU while supervising idle workers', ylabel: '% of one core',
             runs: runsOf('sampling'), field: 'cpu_percent', log: false,
             rows: [['64 workers', 'n=64'], ['256 workers', 'n=256']],
             peers: ['floor', 'cohort', 'supervisord', 'pm2', 'pm2-monit'] }),
  ratioPanel(),
].filter((p) => p !== null);

if (panels.length === 0) {
  console.error('chart: no figures in ' + outDir);
  process.exit(1);
}

const columns = panels.length > 4 ? 3 : 2;
const rowsCount = Math.ceil(panels.length / columns);
fs.writeFileSync(path.join(workDir, 'chart.gp'), `# Written by tests/bench/chart.js
set terminal pngcairo size ${columns * 560},${rowsCount * 430} font "Sans,10" noenhanced
set output "${png}"
set datafile missing "?"
set style fill solid 0.85 border -1
set key font ",8" samplen 1.5
set grid ytics
set xtics nomirror scale 0 font ",9"
set ytics nomirror
set border 3
set multiplot layout ${rowsCount},${columns} title "Cohort and its peers, medians of one run of tests/bench/run (${new Date().toISOString().slice(0, 10)})" font ",13"
${panels.join('\n')}
unset multiplot
`);
