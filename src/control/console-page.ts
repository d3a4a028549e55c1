/**
 * The console's page and style sheet (issue 20). The page is a shell: every view is built by
 * the compiled browser code (console/, served from dist/console) with DOM calls, never from
 * HTML text, so nothing the API answers is parsed as markup. No inline script or style: the
 * Content-Security-Policy forbids them.
 */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Sluice console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/console.css">
<script type="module" src="/console/assets/main.js"></script>
</head>
<body>
<header><span class="brand">Sluice</span><nav id="nav"></nav><span id="who"></span></header>
<main id="main"><p class="muted">Loading…</p></main>
<noscript>The Sluice console needs JavaScript.</noscript>
</body>
</html>
`;

export const CONSOLE_CSS = `
:root { --fg: #1d2430; --muted: #667085; --line: #d0d5dd; --bg: #f7f8fa; --card: #fff; --accent: #2458d3; --bad: #c0362c; --warn: #b7791f; --ok: #2f855a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 16px; padding: 8px 16px; background: #101828; color: #fff; flex-wrap: wrap; }
header .brand { font-weight: 700; letter-spacing: .02em; }
nav a { color: #d0d5dd; text-decoration: none; margin-right: 12px; }
nav a.active, nav a:hover { color: #fff; text-decoration: underline; }
#who { margin-left: auto; color: #d0d5dd; }
#who button { margin-left: 8px; }
main { padding: 16px; max-width: 1280px; margin: 0 auto; }
h1 { font-size: 20px; margin: 0 0 12px; }
h2 { font-size: 16px; margin: 20px 0 8px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px; margin-bottom: 12px; }
.stats { display: flex; gap: 12px; flex-wrap: wrap; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 110px; }
.stat .label { color: var(--muted); font-size: 12px; }
.stat .value { font-size: 20px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.error { color: var(--bad); }
.ok { color: var(--ok); }
fieldset { border: 0; padding: 0; margin: 0; display: flex; gap: 8px; flex-wrap: wrap; align-items: end; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; border: 1px solid var(--line); }
.badge.good { color: var(--ok); border-color: var(--ok); }
.badge.bad { color: var(--bad); border-color: var(--bad); }
.badge.warn { color: var(--warn); border-color: var(--warn); }
form.inline { display: flex; gap: 8px; flex-wrap: wrap; align-items: end; }
label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
input, select, button { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
button { cursor: pointer; background: var(--accent); color: #fff; border-color: var(--accent); }
button.secondary { background: #fff; color: var(--fg); border-color: var(--line); }
button.danger { background: var(--bad); border-color: var(--bad); }
.secret { font-family: ui-monospace, monospace; background: #fffbe6; border: 1px solid #f0c36d; padding: 8px; word-break: break-all; }
pre { background: var(--card); border: 1px solid var(--line); padding: 12px; overflow: auto; max-height: 70vh; }
.signin { max-width: 420px; margin: 48px auto; }
.signin form { display: flex; flex-direction: column; gap: 8px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 12px; }
svg.chart { width: 100%; height: auto; max-height: 260px; background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
svg.chart .axis { stroke: var(--line); stroke-width: 1; }
svg.chart text { fill: var(--muted); font-size: 10px; }
svg.chart .s0 { stroke: #2458d3; fill: #2458d3; }
svg.chart .s1 { stroke: #c0362c; fill: #c0362c; }
svg.chart .s2 { stroke: #b7791f; fill: #b7791f; }
svg.chart .s3 { stroke: #2f855a; fill: #2f855a; }
svg.chart .s4 { stroke: #7c3aed; fill: #7c3aed; }
svg.chart polyline[class] { fill: none; stroke-width: 1.5; }
svg.chart rect.bar { stroke: none; }
.legend span { margin-right: 12px; font-size: 12px; }
.legend .s0 { color: #2458d3; } .legend .s1 { color: #c0362c; } .legend .s2 { color: #b7791f; } .legend .s3 { color: #2f855a; } .legend .s4 { color: #7c3aed; }
`;
