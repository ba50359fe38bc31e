// SPDX-License-Identifier: GPL-3.0-or-later
// summarize.js: the table of one benchmark workload, from its JSON lines.
//
//   node summarize.js FILE.jsonl [--value FIELD] [--unit TEXT] [--lower-better]
//                     [--extra FIELD:TITLE]... [--context KEY,KEY...]
//                     [--filter KEY=VALUE]... [--ratio [LABEL=]A/B]...
//                     [--verdict GOOD,BAD] [--target KEY=VALUE,...<LIMIT]
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
//
// For other workloads:
//   --context KEYS   the keys of a run's context instead of size,cpus (those
//                    present; "" for none)
//   --filter K=V     only the runs whose field K is V (as text); repeatable
//   --ratio A/B      the ratios to print instead of cohort/node-fork, each
//                    side PEER or PEER:WORKER (any worker when not given),
//                    LABEL= to name the row; repeatable
//   --verdict G,B    the verdict's words (default faster,SLOWER): "A G" when
//                    A is better, "A B" (capitals) when it is worse
//   --target F<L     a line saying whether the median of FIELD over the runs
//                    matching F (KEY=VALUE,…) is below L; --lower-better
//                    does not change it; "F>L" for "above L", "F>=L" and
//                    "F<=L" for "at least" and "at most"
//   --target-ratio F:A/B<L   the same for the ratio of two medians, A's runs
//                    and B's among those matching F; a side is a peer, or
//                    filters of its own (K=V,K=V…)
//   --target-diff F:A/B<L    the same for the difference A − B of the medians
//   --best A:P,Q...  per context, the ratio of A's median to the best
//                    median among the peers P, Q… (by --lower-better)

'use strict';

const { readRuns, median, matches } = require('./bench-stats');

function parseSide(text) {
  const [peer, worker] = text.split(':');
  return { peer, worker: worker === undefined || worker === '' ? null : worker };
}

function parseRatio(text) {
  const eq = text.indexOf('=');
  const label = eq >= 0 ? text.slice(0, eq) : null;
  const [a, b] = (eq >= 0 ? text.slice(eq + 1) : text).split('/');
  if (!a || !b) {
    console.error(`summarize: --ratio is [LABEL=]PEER[:WORKER]/PEER[:WORKER], not ${text}`);
    process.exit(2);
  }
  const num = parseSide(a);
  const den = parseSide(b);
  return { label: label ?? `${num.peer}/${den.peer}`, num, den };
}

function parseFilters(text) {
  return text.split(',').filter((f) => f !== '').map((f) => {
    const eq = f.indexOf('=');
    if (eq < 0) {
      console.error(`summarize: a filter is KEY=VALUE, not ${f}`);
      process.exit(2);
    }
    return { key: f.slice(0, eq), value: f.slice(eq + 1) };
  });
}

function parseTarget(text) {
  const m = /^(.*?)([<>]=?)([0-9.eE+-]+)$/.exec(text);
  if (!m) {
    console.error(`summarize: --target is KEY=VALUE,...<LIMIT or >LIMIT, not ${text}`);
    process.exit(2);
  }
  return { text: m[1], filters: parseFilters(m[1]), op: m[2], limit: Number(m[3]) };
}

// F:A/B<L (F may be empty; A and B are peers, or K=V,… filters).
function parseRelative(text, op) {
  const m = /^([^:]*):([^/]+)\/([^<>]+)([<>]=?)([0-9.eE+-]+)$/.exec(text);
  if (!m) {
    console.error(`summarize: expected FILTER:A/B<LIMIT, not ${text}`);
    process.exit(2);
  }
  const side = (t) => (t.includes('=') ? { label: t, filters: parseFilters(t) }
                                        : { label: t, filters: [{ key: 'peer', value: t }] });
  return { text, filter: m[1], filters: parseFilters(m[1]), num: side(m[2]), den: side(m[3]), op,
           cmp: m[4], limit: Number(m[5]) };
}

function parseBest(text) {
  const colon = text.indexOf(':');
  if (colon < 0) {
    console.error(`summarize: --best is PEER:PEER,PEER…, not ${text}`);
    process.exit(2);
  }
  return { peer: text.slice(0, colon), peers: text.slice(colon + 1).split(',') };
}

function parseArgs(argv) {
  const opts = { file: null, value: 'per_second', unit: '/s', lowerBetter: false, extras: [],
                 context: ['size', 'cpus'], filters: [], ratios: [], verdict: ['faster', 'SLOWER'],
                 targets: [], relatives: [], best: [] };
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
      case '--context': opts.context = argv[++i].split(',').filter((k) => k !== ''); break;
      case '--filter': opts.filters.push(...parseFilters(argv[++i])); break;
      case '--ratio': opts.ratios.push(parseRatio(argv[++i])); break;
      case '--verdict': opts.verdict = argv[++i].split(','); break;
      case '--target': opts.targets.push(parseTarget(argv[++i])); break;
      case '--target-ratio': opts.relatives.push(parseRelative(argv[++i], '/')); break;
      case '--target-diff': opts.relatives.push(parseRelative(argv[++i], '−')); break;
      case '--best': opts.best.push(parseBest(argv[++i])); break;
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

// Whether x meets "x OP limit", OP one of < > <= >=.
function compare(x, op, limit) {
  switch (op) {
    case '<': return x < limit;
    case '>': return x > limit;
    case '<=': return x <= limit;
    default: return x >= limit;
  }
}

function fmt(x) {
  if (x === Infinity)
    return '∞';
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
const runs = readRuns(opts.file).filter((r) => matches(r, opts.filters));
if (runs.length === 0) {
  console.log('(no runs)');
  process.exit(0);
}

// What a run was measured under; peers are compared within one context.
const contextKeys = opts.context.filter((k) => runs.some((r) => r[k] !== undefined));
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

// cohort/node-fork, per context, node worker (or the --ratio ones).
const ratios = opts.ratios.length > 0 ? opts.ratios
  : [{ label: 'cohort/node-fork', num: { peer: 'cohort', worker: 'node' }, den: { peer: 'node-fork', worker: 'node' } }];
const several = ratios.length > 1;
const contexts = [...new Set(runs.map((r) => JSON.stringify(contextOf(r))))];
const ratioRows = [several
  ? [...contextKeys, 'ratio', 'of medians', 'paired min–max', 'verdict']
  : [...contextKeys, `${ratios[0].label} (medians)`, 'paired min–max', 'verdict']];
for (const context of contexts) {
  for (const ratioSpec of ratios) {
    const pick = (side) => runs.filter((r) => JSON.stringify(contextOf(r)) === context &&
                                              r.peer === side.peer &&
                                              (side.worker === null || r.worker === side.worker));
    const a = pick(ratioSpec.num);
    const b = pick(ratioSpec.den);
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
    const peer = ratioSpec.num.peer;
    let verdict = ratio === 1 ? 'even'
      : faster ? `${peer} ${opts.verdict[0]}` : `${peer.toUpperCase()} ${opts.verdict[1]}`;
    if (paired.length && Math.min(...paired) < 1 && Math.max(...paired) > 1)
      verdict += ' (paired runs disagree)';
    ratioRows.push([...JSON.parse(context), ...(several ? [ratioSpec.label] : []), fmt(ratio), spread, verdict]);
  }
}
if (ratioRows.length > 1) {
  console.log('');
  console.log(table(ratioRows));
}

for (const target of opts.targets) {
  const values = runs.filter((r) => matches(r, target.filters)).map((r) => r[opts.value]);
  const m = median(values);
  const met = compare(m, target.op, target.limit);
  console.log('');
  console.log(`target ${target.text}: median ${fmt(m)}${opts.unit.trim() === '' ? '' : ' ' + opts.unit.trim()} ` +
              `${target.op} ${target.limit}? ` +
              (values.length === 0 ? 'no runs' : met ? 'met' : 'NOT MET') +
              (values.length ? ` (${values.length} runs, ${fmt(Math.min(...values))}–${fmt(Math.max(...values))})` : ''));
}

const bySide = (list, side) => list.filter((r) => r.peer === side.peer &&
                                                  (side.worker === null || r.worker === side.worker));

for (const best of opts.best) {
  const rows = [[...contextKeys, `${best.peer} / best peer`, 'best peer', `${best.peer} median`, 'best median']];
  for (const context of contexts) {
    const inContext = runs.filter((r) => JSON.stringify(contextOf(r)) === context);
    const mine = median(bySide(inContext, { peer: best.peer, worker: null }).map((r) => r[opts.value]));
    let top = null;
    for (const peer of best.peers) {
      const values = bySide(inContext, { peer, worker: null }).map((r) => r[opts.value]);
      if (values.length === 0)
        continue;
      const m = median(values);
      if (top === null || (opts.lowerBetter ? m < top.m : m > top.m))
        top = { peer, m };
    }
    if (top !== null && Number.isFinite(mine))
      rows.push([...JSON.parse(context), fmt(mine / top.m), top.peer, fmt(mine), fmt(top.m)]);
  }
  if (rows.length > 1) {
    console.log('');
    console.log(table(rows));
  }
}

for (const rel of opts.relatives) {
  const matching = runs.filter((r) => matches(r, rel.filters));
  const a = median(matching.filter((r) => matches(r, rel.num.filters)).map((r) => r[opts.value]));
  const b = median(matching.filter((r) => matches(r, rel.den.filters)).map((r) => r[opts.value]));
  const x = rel.op === '/' ? a / b : a - b;
  const ok = Number.isFinite(x);
  const met = compare(x, rel.cmp, rel.limit);
  const sides = `${rel.num.label} ${rel.op} ${rel.den.label}`;
  console.log('');
  console.log(`target ${rel.filter}: ${sides} = ${ok ? fmt(x) : '-'} (medians ${fmt(a)} and ${fmt(b)}) ` +
              `${rel.cmp} ${rel.limit}? ${!ok ? 'no runs' : met ? 'met' : 'NOT MET'}`);
}
