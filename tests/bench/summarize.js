// SPDX-License-Identifier: GPL-3.0-or-later
// summarize.js: the table of one benchmark workload, from its JSON lines.
//
//   node summarize.js FILE.jsonl [--value FIELD] [--unit TEXT] [--lower-better]
//                     [--extra FIELD:TITLE]...
//
// Runs are grouped by their context (size and cpus, when present), peer and
// worker, in the order they first appear. For each group: the number of runs, the median of
// FIELD (default per_second), its min–max spread and the median of each
// --extra field. Then, for each context, the ratio cohort/node-fork of the
// medians for the node worker, with the spread of the per-repetition ratios
// (runs with the same "rep" are paired: they ran back to back). A ratio
// above 1 means Cohort is faster for a higher-is-better value, and the
// opposite with --lower-better; "paired runs disagree" when some pairs
// went one way and some the other.

'use strict';

const fs = require('fs');

function parseArgs(argv) {
  const opts = { file: null, value: 'per_second', unit: '/s', lowerBetter: false, extras: [] };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--value': opts.value = argv[++i]; break;
      case '--unit': opts.unit = argv[++i]; break;
      case '--lower-better': opts.lowerBetter = true; break;
      case '--extra': {
        const [field, title] = argv[++i].split(':');
        opts.extras.push({ field, title: title || field });
        break;
      }
      default:
        if (opts.file !== null) {
          console.error(`summarize: unexpected ${argv[i]}`);
          process.exit(2);
        }
        opts.file = argv[i];
    }
  }
  if (opts.file === null) {
    console.error('summarize: no file');
    process.exit(2);
  }
  return opts;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0)
    return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function fmt(x) {
  if (!Number.isFinite(x))
    return '-';
  if (Math.abs(x) >= 100)
    return String(Math.round(x));
  if (Math.abs(x) >= 10)
    return x.toFixed(1);
  return x.toFixed(2);
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => String(cell).padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

const opts = parseArgs(process.argv.slice(2));
const runs = fs.readFileSync(opts.file, 'utf8').split('\n').filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l));

// What a run was measured under; peers are compared within one context.
const contextKeys = ['size', 'cpus'].filter((k) => runs.some((r) => r[k] !== undefined));
const contextOf = (run) => contextKeys.map((k) => run[k] ?? null);

const groups = new Map();
for (const run of runs) {
  const key = JSON.stringify([...contextOf(run), run.peer, run.worker]);
  if (!groups.has(key))
    groups.set(key, { context: contextOf(run), peer: run.peer, worker: run.worker, runs: [] });
  groups.get(key).runs.push(run);
}

const header = [...contextKeys, 'peer', 'worker', 'runs',
  `median${opts.unit}`, 'min–max', ...opts.extras.map((e) => e.title)];
const rows = [header];
for (const g of groups.values()) {
  const values = g.runs.map((r) => r[opts.value]);
  rows.push([
    ...g.context, g.peer, g.worker, g.runs.length,
    fmt(median(values)), `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`,
    ...opts.extras.map((e) => fmt(median(g.runs.map((r) => r[e.field])))),
  ]);
}
console.log(table(rows));

// cohort/node-fork, per context, node worker.
const contexts = [...new Set(runs.map((r) => JSON.stringify(contextOf(r))))];
const ratioRows = [[...contextKeys, 'cohort/node-fork (medians)', 'paired min–max', 'verdict']];
for (const context of contexts) {
  const pick = (peer) => runs.filter((r) => JSON.stringify(contextOf(r)) === context &&
                                            r.peer === peer && r.worker === 'node');
  const a = pick('cohort');
  const b = pick('node-fork');
  if (a.length === 0 || b.length === 0)
    continue;
  const ratio = median(a.map((r) => r[opts.value])) / median(b.map((r) => r[opts.value]));
  const paired = [];
  for (const ra of a) {
    const rb = b.find((r) => r.rep !== undefined && r.rep === ra.rep);
    if (rb)
      paired.push(ra[opts.value] / rb[opts.value]);
  }
  const faster = opts.lowerBetter ? ratio < 1 : ratio > 1;
  const spread = paired.length ? `${fmt(Math.min(...paired))}–${fmt(Math.max(...paired))}` : '-';
  let verdict = ratio === 1 ? 'even' : faster ? 'cohort faster' : 'COHORT SLOWER';
  if (paired.length && Math.min(...paired) < 1 && Math.max(...paired) > 1)
    verdict += ' (paired runs disagree)';
  ratioRows.push([...JSON.parse(context), fmt(ratio), spread, verdict]);
}
if (ratioRows.length > 1) {
  console.log('');
  console.log(table(ratioRows));
}
