// Text and Markdown renderings of a bench/compare result (see compare.mjs for its shape).

const fmt = (v, d = 2) => (v === null || v === undefined || Number.isNaN(v) ? '–' : typeof v === 'number' ? String(Math.round(v * 10 ** d) / 10 ** d) : String(v));
const int = (v) => (v === null || v === undefined ? '–' : Math.round(v).toLocaleString('en-US'));
const x = (v) => (v === null || v === undefined ? '–' : `${v.toFixed(2)}×`);
const signed = (v) => (v === null || v === undefined ? '–' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`);

function rows(result) {
  return result.summary.map((s) => ({
    target: s.target,
    rps: int(s.closed.rps),
    perRound: s.closed.rpsPerRound.map(int).join(' / '),
    xDirect: x(s.closed.xDirect),
    xNginx: x(s.closed.xNginx),
    closedErrors: int(s.closed.errors),
    cpu: s.closed.cpuUsPerReq === null || s.closed.cpuUsPerReq === undefined ? '–' : fmt(s.closed.cpuUsPerReq, 0),
    cpuPerRound: (s.closed.cpuUsPerReqPerRound ?? []).map((v) => fmt(v, 0)).join(' / '),
    cpuX: x(s.closed.cpuXNginx ?? null),
    steal: (s.closed.stealPctPerRound ?? []).map((v) => `${fmt(v, 0)}%`).join(' / '),
    achieved: fmt(s.open.achieved, 0),
    p50: fmt(s.open.p50),
    p99: fmt(s.open.p99),
    p999: fmt(s.open.p999),
    max: fmt(s.open.max, 1),
    added: signed(s.open.addedP99VsDirect),
    openErrors: int(s.open.errors),
    rss: s.rssMb === null ? '–' : `${s.rssMb} MB`,
  }));
}

/** The console table printed at the end of a run. */
export function formatTable(result) {
  const r = rows(result);
  const cols = [
    ['target', 'target'],
    ['req/s', 'rps'],
    ['per round', 'perRound'],
    ['× direct', 'xDirect'],
    ['× nginx', 'xNginx'],
    ['CPU µs/req', 'cpu'],
    ['CPU × nginx', 'cpuX'],
    [`p50 ms`, 'p50'],
    ['p99 ms', 'p99'],
    ['p99.9 ms', 'p999'],
    ['+p99 vs direct', 'added'],
    ['errors', 'openErrors'],
  ];
  const width = cols.map(([h, k]) => Math.max(h.length, ...r.map((row) => row[k].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ');
  const out = [
    `closed loop (${result.settings.generator}, ${result.settings.closedConnections} connections) req/s | open loop at ${result.settings.openRate} req/s, latency from the scheduled start, ${result.settings.rounds} rounds merged`,
    line(cols.map(([h]) => h)),
    ...r.map((row) => line(cols.map(([, k]) => row[k]))),
    '',
    ...result.notes.map((n) => `* ${n}`),
  ];
  if (result.profile?.topFunctions) {
    out.push('', `CPU profile of ${result.profile.target ?? 'sluice-minimal'} under closed-loop load (${int(result.profile.rpsWhileProfiled)} req/s while profiled), top self time:`);
    for (const f of result.profile.topFunctions.slice(0, 10)) out.push(`  ${String(f.selfPctOfBusy).padStart(5)}%  ${f.function}  ${f.where}  [${f.package}]`);
    if (result.profile.bySluiceCaller) {
      out.push('', 'self time charged to the innermost Sluice function on the stack:');
      for (const c of result.profile.bySluiceCaller.slice(0, 10)) out.push(`  ${String(c.selfPctOfBusy).padStart(5)}%  ${c.caller}`);
    }
  }
  return out.join('\n');
}

function verdict(ok) {
  return ok ? 'met' : '**not met**';
}

// Issue 19's CPU targets: each Sluice configuration's CPU per request over Node's floor.
const FLOOR_TARGETS = [
  ['sluice-minimal', 'bare-forward', 1.15, 'usage off'],
  ['sluice-service', 'bare-forward', 1.15, 'service route'],
  ['sluice-full', 'bare-forward', 1.5, 'full pipeline'],
  ['sluice-default', 'bare-forward', 1.5, 'default config'],
  ['sluice-cache-hit', 'bare-answer', 1.3, 'cache hit'],
];

/** Issue 19: CPU against Node's floor, the tail against nginx, and event-loop delay. */
function issue19(out, result, by) {
  const s = result.settings;
  const rates = s.openRates ?? [s.openRate];
  const floorRows = FLOOR_TARGETS.filter(([t, f]) => by[t] && by[f]);
  if (floorRows.length > 0) {
    out.push('', "## Issue 19: CPU per request against Node's floor (closed loop, same run)", '');
    out.push('| target | what | CPU µs/req | floor | floor µs/req | ratio | target | |', '|---|---|---:|---|---:|---:|---:|---|');
    for (const [t, f, limit, what] of floorRows) {
      const ratio = by[t].closed.cpuXFloor ?? null;
      out.push(`| ${t} | ${what} | ${fmt(by[t].closed.cpuUsPerReq, 0)} | ${f} | ${fmt(by[f].closed.cpuUsPerReq, 0)} | ${x(ratio)} | ≤ ${limit}× | ${ratio === null ? 'not measured' : verdict(ratio <= limit)} |`);
    }
    // The same ratio at each open-loop rate: target and floor doing the same work per second.
    const rated = rates.filter((rate) => floorRows.some(([t]) => by[t].openByRate?.[rate]?.cpuXFloor != null));
    if (rated.length > 0) {
      out.push('', "CPU per request over each open loop (the same rate for the target and its floor, so neither batches more per wake-up than the other), and the ratio to the floor's at that rate:", '');
      out.push(`| target | ${rated.map((rate) => `µs/req at ${rate}/s | floor | ratio`).join(' | ')} | target |`, `|---|${rated.map(() => '---:|---:|---:|').join('')}---:|`);
      for (const [t, f, limit] of floorRows) {
        const cells = rated.map((rate) => {
          const o = by[t].openByRate?.[rate];
          return `${fmt(o?.cpuUsPerReq ?? null, 0)} | ${fmt(by[f].openByRate?.[rate]?.cpuUsPerReq ?? null, 0)} | ${x(o?.cpuXFloor ?? null)}`;
        });
        out.push(`| ${t} | ${cells.join(' | ')} | ≤ ${limit}× |`);
      }
    }
  }
  // The same targets over the JSON floors: what any JSON API gateway on Node pays is in them, so
  // what is left is Sluice's own work.
  const jsonRows = FLOOR_TARGETS.map(([t, f, limit, what]) => [t, `${f}-json`, limit, what]).filter(([t, f]) => by[t] && by[f]);
  if (jsonRows.length > 0) {
    const rated = rates.filter((rate) => jsonRows.some(([t]) => by[t].openByRate?.[rate]?.cpuXJsonFloor != null));
    out.push('', "The same over the JSON floors (bench/bare.mjs forward-json, answer-json: the body parsed, a request id, the answer written with its length; no routing, policies, metrics or validation). Each floor's own ratio is over its plain form; a Sluice target's ratio here is its own work beyond what any JSON gateway on Node does:", '');
    out.push(`| target | JSON floor | closed: µs/req | floor | ratio | ${rated.map((rate) => `at ${rate}/s: µs/req | floor | ratio`).join(' | ')} |`, `|---|---|---:|---:|---:|${rated.map(() => '---:|---:|---:|').join('')}`);
    for (const f of ['bare-forward-json', 'bare-answer-json']) {
      const plain = f.slice(0, -5);
      if (!by[f] || !by[plain]) continue;
      const cells = rated.map((rate) => {
        const o = by[f].openByRate?.[rate];
        const p = by[plain].openByRate?.[rate];
        return `${fmt(o?.cpuUsPerReq ?? null, 0)} | ${fmt(p?.cpuUsPerReq ?? null, 0)} | ${x(o?.cpuUsPerReq && p?.cpuUsPerReq ? o.cpuUsPerReq / p.cpuUsPerReq : null)}`;
      });
      const c = by[f].closed.cpuUsPerReq;
      const pc = by[plain].closed.cpuUsPerReq;
      out.push(`| ${f} | ${plain} | ${fmt(c, 0)} | ${fmt(pc, 0)} | ${x(c && pc ? c / pc : null)} | ${cells.join(' | ')} |`);
    }
    for (const [t, f] of jsonRows) {
      const cells = rated.map((rate) => {
        const o = by[t].openByRate?.[rate];
        return `${fmt(o?.cpuUsPerReq ?? null, 0)} | ${fmt(by[f].openByRate?.[rate]?.cpuUsPerReq ?? null, 0)} | ${x(o?.cpuXJsonFloor ?? null)}`;
      });
      out.push(`| ${t} | ${f} | ${fmt(by[t].closed.cpuUsPerReq, 0)} | ${fmt(by[f].closed.cpuUsPerReq, 0)} | ${x(by[t].closed.cpuXJsonFloor ?? null)} | ${cells.join(' | ')} |`);
    }
  }
  const withOpen = result.summary.filter((t) => t.openByRate);
  if (withOpen.length === 0) return;
  const nginx = by.nginx;
  out.push('', '## Issue 19: the tail, and event-loop delay, per open-loop rate', '');
  out.push(`Targets: at 1,000 req/s every Sluice configuration's p99 within nginx's + 5 ms and p99.9 within nginx's + 20 ms; at 2,000 req/s no p99 above 50 ms. Event-loop delay (ms): the worst round's percentiles of how late a 5 ms timer fired in the process under test.`, '');
  out.push('| rate | target | achieved | p99 | p99.9 | max | vs nginx p99 / p99.9 | verdict | loop delay p50 | p99 | p99.9 | max |', '|---:|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|');
  for (const rate of rates) {
    const ng = nginx?.openByRate?.[rate];
    for (const t of withOpen) {
      const o = t.openByRate[rate];
      if (!o) continue;
      let v = '';
      if (t.target.startsWith('sluice-')) {
        if (rate === 1000 && ng) v = verdict(o.p99 <= ng.p99 + 5 && o.p999 <= ng.p999 + 20);
        else if (rate === 2000) v = verdict(o.p99 <= 50);
      }
      const vs = ng && t.target !== 'nginx' ? `${signed(o.p99 - ng.p99)} / ${signed(o.p999 - ng.p999)}` : '';
      const e = o.eld;
      out.push(`| ${rate} | ${t.target} | ${fmt(o.achieved, 0)} | ${fmt(o.p99)} | ${fmt(o.p999)} | ${fmt(o.max, 1)} | ${vs} | ${v} | ${fmt(e?.p50 ?? null)} | ${fmt(e?.p99 ?? null)} | ${fmt(e?.p999 ?? null)} | ${fmt(e?.max ?? null)} |`);
    }
  }
}

/** The Markdown file written next to the JSON. */
export function formatMarkdown(result) {
  const m = result.machine;
  const s = result.settings;
  const r = rows(result);
  const by = Object.fromEntries(result.summary.map((t) => [t.target, t]));
  const out = [];
  out.push(`# bench/compare — ${result.date.slice(0, 10)}`, '');
  out.push(`Command: \`${result.command}\` (${result.durationS} s in all). Raw numbers: the \`.json\` file next to this one.`, '');
  out.push('## Machine', '');
  out.push(`- ${m.cores} cores, ${m.cpuModel}, ${m.memoryGb} GB, Linux ${m.kernel}`);
  out.push(`- Node ${m.node}; nginx ${m.nginx ?? 'not installed'}; haproxy ${m.haproxy ?? 'not installed'}; wrk ${m.wrk ?? 'not installed'}; everything on loopback`);
  out.push(`- Sluice at commit ${m.commit ?? '?'}${m.uncommittedChanges ? ` plus ${m.uncommittedChanges} files with uncommitted changes (the working tree as built)` : ''}`);
  out.push(`- Load average at the start: ${m.loadAverageAtStart.join(', ')}`);
  for (const n of result.notes) out.push(`- ${n}`);
  out.push('', '## Targets', '');
  for (const t of result.targets) out.push(`- **${t.target ?? t.name}**: ${t.what}`);
  out.push('', `## Throughput: closed loop (${s.generator === 'wrk' ? `wrk -t1 -c${s.closedConnections}` : `sluice bench --concurrency ${s.closedConnections}`}, ${s.closedSeconds} s per target per round, ${s.rounds} interleaved rounds)`, '');
  out.push('| target | req/s (mean) | per round | × direct | × nginx | errors | proxy CPU µs/req (per round) | CPU × nginx | steal per round |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of r) out.push(`| ${row.target} | ${row.rps} | ${row.perRound} | ${row.xDirect} | ${row.xNginx} | ${row.closedErrors} | ${row.cpu} (${row.cpuPerRound}) | ${row.cpuX} | ${row.steal} |`);
  out.push('', "Proxy CPU: the proxy process's own CPU time (nginx: master and workers) over the requests it served, from /proc. CPU × nginx is nginx's CPU per request over the target's: the throughput ratio each would reach with a core to itself. It moves less with the hypervisor's steal than req/s does, but on a shared host it still moves: a busy neighbour on the same physical core slows every instruction without showing as steal.");
  out.push('', `## Latency: open loop at ${s.openRate} req/s (sluice bench, ${s.openSeconds} s per target per round, rounds merged, ms from each request's scheduled start)`, '');
  out.push('| target | achieved req/s | p50 | p99 | p99.9 | max | p99 added vs direct | errors | RSS after |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of r) out.push(`| ${row.target} | ${row.achieved} | ${row.p50} | ${row.p99} | ${row.p999} | ${row.max} | ${row.added} | ${row.openErrors} | ${row.rss} |`);
  const min = by['sluice-minimal'];
  const full = by['sluice-full'];
  if (min && full) {
    out.push('', '## Issue 7 targets', '');
    if (by.nginx) {
      out.push(`- Sluice minimal ≥ 0.6× nginx throughput: ${x(min.closed.xNginx)} — ${verdict(min.closed.xNginx >= 0.6)}`);
      out.push(`- Sluice full ≥ 0.45× nginx throughput: ${x(full.closed.xNginx)} — ${verdict(full.closed.xNginx >= 0.45)}${result.notes.some((n) => n.includes('NOT the full pipeline')) ? ' (but the full pipeline does not exist yet)' : ''}`);
      if (min.closed.cpuXNginx) out.push(`- For the same two, by CPU per request (nginx's over Sluice's): minimal ${x(min.closed.cpuXNginx)}, full ${x(full.closed.cpuXNginx ?? null)}`);
    }
    const perRound = (t) => t.open.addedP99VsDirectPerRound.map(signed).join(' / ');
    out.push(`- Added p99 vs direct at ${s.openRate} req/s < 1 ms (minimal): ${signed(min.open.addedP99VsDirect)} ms rounds merged (per round: ${perRound(min)} ms) — ${verdict(min.open.addedP99VsDirect < 1)}`);
    out.push(`- Added p99 vs direct at ${s.openRate} req/s < 2 ms (full): ${signed(full.open.addedP99VsDirect)} ms rounds merged (per round: ${perRound(full)} ms) — ${verdict(full.open.addedP99VsDirect < 2)}`);
  }
  const service = by['sluice-service'];
  const hit = by['sluice-cache-hit'];
  if (min && (service || hit)) {
    out.push('', '## Issue 17: the service route and cache hits beside the model route', '');
    const cpuRatio = (t) => (t.closed.cpuUsPerReq && min.closed.cpuUsPerReq ? (t.closed.cpuUsPerReq / min.closed.cpuUsPerReq) : null);
    if (service) out.push(`- Service route CPU per request over the minimal model route's: ${x(cpuRatio(service))} (target: no more than 1×) — ${cpuRatio(service) === null ? 'not measured' : verdict(cpuRatio(service) <= 1)}; throughput ${x(min.closed.rps ? (service.closed.rps / min.closed.rps) : null)} the model route's`);
    if (hit) out.push(`- Cache hit CPU per request over the minimal model route's (which goes upstream): ${x(cpuRatio(hit))}; throughput ${x(min.closed.rps ? (hit.closed.rps / min.closed.rps) : null)} the model route's`);
  }
  issue19(out, result, by);
  out.push('', '## Rounds', '', '| round | target | closed req/s | proxy CPU µs/req | steal | closed p99 ms (hides queueing) | open p50 | open p99 | open p99.9 | open errors | generator start lag p99 |', '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const rd of result.rounds) out.push(`| ${rd.round} | ${rd.target} | ${int(rd.closed.rps)} | ${fmt(rd.closed.cpuUsPerReq ?? null, 0)} | ${fmt(rd.closed.stealPct ?? null, 0)}% | ${fmt(rd.closed.p99)} | ${fmt(rd.open.p50)} | ${fmt(rd.open.p99)} | ${fmt(rd.open.p999)} | ${rd.open.errors} | ${fmt(rd.open.startLagP99)} |`);
  const p = result.profile;
  if (p?.topFunctions) {
    out.push('', `## CPU profile: ${p.target ?? 'sluice-minimal'} under the closed loop (node --cpu-prof, ${int(p.rpsWhileProfiled)} req/s while profiled)`, '');
    out.push(`${p.busyMs} ms busy of ${p.sampledMs} ms sampled (${p.idlePct}% idle).`, '', '| self % of busy | package |', '|---:|---|');
    for (const k of p.byPackage.slice(0, 10)) out.push(`| ${k.selfPctOfBusy} | ${k.package} |`);
    out.push('', '| self % of busy | function | where | package |', '|---:|---|---|---|');
    for (const f of p.topFunctions) out.push(`| ${f.selfPctOfBusy} | \`${f.function}\` | ${f.where} | ${f.package} |`);
    if (p.bySluiceCaller) {
      out.push('', 'The same self time charged to the innermost Sluice function on the stack (what node core and the libraries spend on its behalf):', '', '| self % of busy | Sluice function (or none) |', '|---:|---|');
      for (const c of p.bySluiceCaller) out.push(`| ${c.selfPctOfBusy} | \`${c.caller}\` |`);
    }
  }
  return `${out.join('\n')}\n`;
}
