// SPDX-License-Identifier: GPL-3.0-or-later
// bench-stats.js: what summarize.js and chart.js share: reading a
// workload's JSON lines and the median.

'use strict';

const fs = require('fs');

// The runs of FILE.jsonl ([] when the file is missing).
function readRuns(file) {
  if (!fs.existsSync(file))
    return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0)
    return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// Whether RUN has every FILTERS' key at its value (compared as text).
const matches = (run, filters) => filters.every((f) => String(run[f.key]) === f.value);

module.exports = { readRuns, median, matches };
