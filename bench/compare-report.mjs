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
    out.push('', `CPU profile of sluice-minimal under closed-loop load (${int(result.profile.rpsWhileProfiled)} req/s while profiled), top self time:`);
    for (const f of result.profile.topFunctions.slice(0, 10)) out.push(`  ${String(f.selfPctOfBusy).padStart(5)}%  ${f.function}  ${f.where}  [${f.package}]`);
  }
  return out.join('\n');
}

function verdict(ok) {
  return ok ? 'met' : '**not met**';
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
  out.push(`- Node ${m.node}; nginx ${m.nginx ?? 'not installed'}; wrk ${m.wrk ?? 'not installed'}; everything on loopback`);
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
  out.push('', '## Rounds', '', '| round | target | closed req/s | proxy CPU µs/req | steal | closed p99 ms (hides queueing) | open p50 | open p99 | open p99.9 | open errors | generator start lag p99 |', '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const rd of result.rounds) out.push(`| ${rd.round} | ${rd.target} | ${int(rd.closed.rps)} | ${fmt(rd.closed.cpuUsPerReq ?? null, 0)} | ${fmt(rd.closed.stealPct ?? null, 0)}% | ${fmt(rd.closed.p99)} | ${fmt(rd.open.p50)} | ${fmt(rd.open.p99)} | ${fmt(rd.open.p999)} | ${rd.open.errors} | ${fmt(rd.open.startLagP99)} |`);
  const p = result.profile;
  if (p?.topFunctions) {
    out.push('', `## CPU profile: sluice-minimal under the closed loop (node --cpu-prof, ${int(p.rpsWhileProfiled)} req/s while profiled)`, '');
    out.push(`${p.busyMs} ms busy of ${p.sampledMs} ms sampled (${p.idlePct}% idle).`, '', '| self % of busy | package |', '|---:|---|');
    for (const k of p.byPackage.slice(0, 10)) out.push(`| ${k.selfPctOfBusy} | ${k.package} |`);
    out.push('', '| self % of busy | function | where | package |', '|---:|---|---|---|');
    for (const f of p.topFunctions) out.push(`| ${f.selfPctOfBusy} | \`${f.function}\` | ${f.where} | ${f.package} |`);
  }
  return `${out.join('\n')}\n`;
}
