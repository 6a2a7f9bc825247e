/* global uPlot, CSS */
// hetserve dashboard: polls /api/live once a second and draws, per model, the plan, live rates,
// latency percentiles against each SLO, formed batch sizes and cost per request over time.
(function () {
  'use strict';
  const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
  const charts = new Map();
  const status = document.getElementById('status');
  const root = document.getElementById('models');

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of kids) e.append(c);
    return e;
  }

  function fmt(x, digits) {
    if (x === null || x === undefined || Number.isNaN(x)) return '–';
    return Number(x).toFixed(digits);
  }

  function fnText(f) {
    return f.kind === 'cpu'
      ? `CPU ${fmt(f.vcpu, 2)} vCPU, ${fmt(f.memoryGb, 2)} GB`
      : `GPU ${f.gpuMemoryGb} GB, ${fmt(f.vcpu, 2)} vCPU`;
  }

  function section(model) {
    let s = document.getElementById(`model-${model.name}`);
    if (s) return s;
    s = el('section', { id: `model-${model.name}`, class: 'model' });
    s.append(
      el('h2', {}, `model ${model.name}`),
      el('div', { class: 'plan' }),
      el('h2', {}, 'latency vs SLO (p50 / p95 / p99, last 10 s)'),
      el('div', { class: 'grid lat' }),
      el('div', { class: 'grid totals' }),
      el('div', { class: 'calibration' }),
    );
    root.append(s);
    return s;
  }

  function planTable(model) {
    const t = el('table', { class: 'plan-table' });
    t.append(
      el(
        'tr',
        {},
        el('th', {}, 'group'),
        el('th', {}, 'apps (SLO s)'),
        el('th', {}, 'function'),
        el('th', {}, 'batch'),
        el('th', {}, 'timeouts s'),
        el('th', {}, 'rate req/s (measured)'),
        el('th', {}, `cost/request (${model.currency || ''})`),
      ),
    );
    model.plan.groups.forEach((g, i) => {
      const rate = g.apps.reduce((s, a) => s + (model.rates[a] || 0), 0);
      t.append(
        el(
          'tr',
          {},
          el('td', {}, String(i)),
          el('td', {}, g.apps.map((a) => `${a} (${model.slo[a]})`).join(', ')),
          el('td', {}, fnText(g.function)),
          el('td', {}, String(g.batchSize)),
          el('td', {}, g.apps.map((a) => fmt(g.timeouts[a], 3)).join(', ')),
          el('td', {}, `${fmt(rate, 1)} (plan ${fmt(g.rps, 1)})`),
          el('td', {}, Number(g.costPerRequest).toExponential(3)),
        ),
      );
    });
    const div = el('div', {});
    div.append(
      el(
        'p',
        {},
        `plan v${model.planVersion} by ${model.plan.algorithm}, predicted ${Number(model.plan.totalCostPerRequest).toExponential(3)} ${model.currency || ''}/request; ${model.queued} requests in flight`,
      ),
      t,
    );
    return div;
  }

  function poolTable(model) {
    const t = el('table', { class: 'plan-table' });
    t.append(el('tr', {}, el('th', {}, 'instance'), el('th', {}, 'type'), el('th', {}, 'state')));
    for (const i of model.instances)
      t.append(
        el(
          'tr',
          {},
          el('td', {}, i.name),
          el('td', {}, i.type),
          el('td', {}, i.draining ? 'draining' : i.busy ? 'busy' : 'idle'),
        ),
      );
    const div = el('div', {});
    div.append(el('p', {}, `cluster pool, Kairos distributor; ${model.queued} requests in flight`));
    const c = model.cluster;
    if (c) {
      // Pool per type with utilisation, then QoS-met ratio, rate and cost (re-allocation's inputs).
      const types = el('table', { class: 'plan-table', 'data-pool': '' });
      types.append(
        el('tr', {}, el('th', {}, 'type'), el('th', {}, 'instances'), el('th', {}, 'utilisation')),
      );
      for (const [type, n] of Object.entries(c.pool))
        types.append(
          el(
            'tr',
            {},
            el('td', {}, type),
            el('td', {}, String(n)),
            el('td', {}, `${Math.round((c.utilisation[type] ?? 0) * 100)} %`),
          ),
        );
      const qos = c.qosMetRatio === null ? '–' : `${(c.qosMetRatio * 100).toFixed(1)} %`;
      const budget = c.budgetUsdPerHour ? ` of ${c.budgetUsdPerHour} $/h budget` : '';
      const last = c.lastDecision
        ? `; last re-allocation check: ${c.lastDecision.action} (${c.lastDecision.reason})`
        : '';
      div.append(
        types,
        el(
          'p',
          { 'data-cluster-summary': '' },
          `QoS met ${qos}; ${c.rateQps.toFixed(1)} q/s; ${c.costUsdPerHour.toFixed(3)} $/h${budget}; ${c.draining} draining${last}`,
        ),
      );
    }
    div.append(t);
    return div;
  }

  // Latency calibration (src/serve/calibration-loop.ts): per plan group, the measured mean batch
  // latency and the profile's prediction over the group's function (batch sizes pooled by samples),
  // kept client-side per poll; a refit shows as a marker.
  const calHistory = new Map();

  function configKey(f) {
    return f.kind === 'cpu' ? `cpu vcpu=${f.vcpu}` : `gpu gpuMemoryGb=${f.gpuMemoryGb}`;
  }

  function groupLatency(cal, g) {
    let n = 0;
    let meas = 0;
    let pred = 0;
    for (const r of cal.stats) {
      if (r.config !== configKey(g.function) || !(r.samples > 0) || r.mean === null) continue;
      n += r.samples;
      meas += r.samples * r.mean;
      pred += r.samples * r.predicted.avg;
    }
    return n > 0 ? { measured: meas / n, predicted: pred / n } : null;
  }

  function calibrationView(model, parent, t) {
    const cal = model.calibration;
    if (!cal || !model.plan) {
      parent.replaceChildren();
      return;
    }
    let h = calHistory.get(model.name);
    if (!h) calHistory.set(model.name, (h = { t: [], series: new Map(), refit: [], version: cal.version }));
    const groups = model.plan.groups.map((g) => g.apps.join(','));
    h.t.push(t);
    h.refit.push(cal.version !== h.version ? 0 : null);
    h.version = cal.version;
    for (const [i, g] of model.plan.groups.entries()) {
      for (const k of ['measured', 'predicted']) {
        const name = `${groups[i]} ${k}`;
        if (!h.series.has(name))
          h.series.set(
            name,
            h.t.slice(0, -1).map(() => null),
          );
      }
      const l = groupLatency(cal, g);
      h.series.get(`${groups[i]} measured`).push(l ? l.measured : null);
      h.series.get(`${groups[i]} predicted`).push(l ? l.predicted : null);
    }
    for (const v of h.series.values()) while (v.length < h.t.length) v.push(null);
    if (h.t.length > 600) {
      h.t.shift();
      h.refit.shift();
      for (const v of h.series.values()) v.shift();
    }
    const names = [...h.series.keys()];
    let card = parent.querySelector('.cal-info');
    if (!card) {
      parent.append(el('h2', {}, 'latency calibration: measured vs predicted batch latency'));
      card = el('div', { class: 'cal-info' });
      parent.append(card, el('div', { class: 'grid cal-charts' }));
    }
    const ev = cal.events
      .slice(-5)
      .map(
        (e) =>
          `v${e.version} at ${fmt(e.at, 1)} s: ${e.drifted.map((d) => `${d.key} ×${fmt(d.ratio, 2)}`).join(', ')}`,
      );
    card.replaceChildren(
      el(
        'p',
        {},
        `profile v${cal.version}; ${cal.events.length} refit(s)${ev.length ? ': ' + ev.join('; ') : ''}; false alarms ${cal.falseAlarms}`,
      ),
    );
    const key = `${model.name}/cal/${names.join('|')}`;
    for (const [k, c] of charts)
      if (k.startsWith(`${model.name}/cal/`) && k !== key) {
        c.plot.destroy();
        const old = parent.querySelector(`[data-chart="${CSS.escape(k)}"]`);
        if (old) old.remove();
        charts.delete(k);
      }
    const extra = { refit: { stroke: '#000', points: { show: true, size: 9 }, paths: () => null } };
    names.forEach((n) => {
      if (n.endsWith(' predicted')) extra[n] = { dash: [6, 4] };
    });
    const c = chart(
      key,
      parent.querySelector('.cal-charts'),
      'batch latency per group (dashed: predicted; ● refit)',
      names.concat(['refit']),
      'seconds',
      extra,
    );
    c.plot.setData(
      [h.t].concat(
        names.map((n) => h.series.get(n)),
        [h.refit],
      ),
    );
  }

  function chart(key, parent, title, seriesNames, yLabel, extra) {
    let c = charts.get(key);
    if (c) return c;
    const card = el('div', { class: 'card', 'data-chart': key });
    card.append(el('h3', {}, title));
    parent.append(card);
    const opts = {
      width: 440,
      height: 200,
      scales: { x: { time: false } },
      legend: { live: false },
      axes: [
        { label: 's since start' },
        yLabel === 'cost'
          ? {
              label: yLabel,
              size: 70,
              values: (_u, vals) => vals.map((v) => (v === 0 ? '0' : v.toExponential(1))),
            }
          : { label: yLabel, size: 60 },
      ],
      series: [{ label: 't' }].concat(
        seriesNames.map((n, i) =>
          Object.assign(
            { label: n, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true },
            (extra && extra[n]) || {},
          ),
        ),
      ),
    };
    const data = [[]].concat(seriesNames.map(() => []));
    c = { plot: new uPlot(opts, data, card), names: seriesNames };
    charts.set(key, c);
    return c;
  }

  function render(live) {
    for (const model of live.models) {
      const s = section(model);
      const planDiv = s.querySelector('.plan');
      planDiv.replaceChildren(model.plan ? planTable(model) : poolTable(model));
      const apps = Object.keys(model.slo);
      const pts = model.series;
      const t = pts.map((p) => p.t);
      const lat = s.querySelector('.lat');
      for (const a of apps) {
        const c = chart(
          `${model.name}/lat/${a}`,
          lat,
          `${a}: SLO ${model.slo[a]} s`,
          ['p50', 'p95', 'p99', 'SLO'],
          'seconds',
          {
            SLO: { stroke: '#000', dash: [6, 4], width: 1 },
          },
        );
        const g = (k) => pts.map((p) => (p.apps[a] ? p.apps[a][k] : null));
        c.plot.setData([t, g('p50'), g('p95'), g('p99'), pts.map(() => model.slo[a])]);
      }
      const tot = s.querySelector('.totals');
      const rc = chart(`${model.name}/rate`, tot, 'request rate per app', apps, 'req/s');
      rc.plot.setData([t].concat(apps.map((a) => pts.map((p) => (p.apps[a] ? p.apps[a].rps : 0)))));
      const groups = model.plan ? model.plan.groups.map((g) => g.apps.join(',')) : [];
      const bkey = `${model.name}/batch/${groups.join('|')}`;
      if (groups.length > 0) {
        const bc = chart(bkey, tot, 'formed batch size per group (mean per second)', groups, 'requests');
        bc.plot.setData(
          [t].concat(groups.map((g) => pts.map((p) => (p.batch[g] === undefined ? null : p.batch[g])))),
        );
      }
      const cc = chart(
        `${model.name}/cost`,
        tot,
        `cost per request (${model.currency || ''})`,
        ['actual', 'predicted'],
        'cost',
      );
      cc.plot.setData([t, pts.map((p) => p.costPerRequest), pts.map((p) => p.predictedCostPerRequest)]);
      // remove batch charts of replaced plans
      for (const [k, c] of charts) {
        if (k.startsWith(`${model.name}/batch/`) && k !== bkey) {
          c.plot.destroy();
          const card = tot.querySelector(`[data-chart="${CSS.escape(k)}"]`);
          if (card) card.remove();
          charts.delete(k);
        }
      }
      const last = pts[pts.length - 1];
      if (last) calibrationView(model, s.querySelector('.calibration'), last.t);
      s.dataset.points = String(pts.length);
      s.dataset.lastT = last ? String(last.t) : '';
    }
  }

  async function poll() {
    try {
      const r = await fetch('/api/live', { cache: 'no-store' });
      if (!r.ok) throw new Error(String(r.status));
      const live = await r.json();
      render(live);
      status.textContent = `live · ${new Date().toLocaleTimeString()}`;
      status.className = 'status live';
    } catch (e) {
      status.textContent = `disconnected (${e.message})`;
      status.className = 'status down';
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
