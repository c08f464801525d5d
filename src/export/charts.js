// qpsbench: draws the charts of a report page with uPlot (inlined before this script). The data
// is the JSON block #qpsbench-charts, written by src/export/page.rs: an array of charts
// {id, title, x: {kind: "time" | "nines" | "values", label, unit}, xs, axes, series}.
// Time charts share one cursor and one zoom: a drag across one zooms them all, a double-click
// zooms them all back out. Each chart's legend shows every series' value, with its unit, at the
// cursor; the chart under the pointer also shows them in a tooltip.
(function () {
  "use strict";
  var block = document.getElementById("qpsbench-charts");
  if (!block || typeof uPlot !== "function") return;
  var charts = JSON.parse(block.textContent);
  var plots = [];
  var HEIGHT = 280;
  // Whole seconds on the time axis: 1 s, 2 s, 5 s ... 1 h.
  var TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600,
    43200, 86400];
  var INT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5,
    5e5, 1e6, 2e6, 5e6, 1e7];

  function num(v, decimals) {
    return v.toLocaleString("en-US", {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
      useGrouping: false
    });
  }

  // The percentile of a point on the nines axis, x = -log10(1 - q): enough decimals to tell
  // 99.4% from 99.5% at x = 2.3; a whole number of nines reads 90%, 99%, 99.9%.
  function nines(x) {
    var q = 100 * (1 - Math.pow(10, -x));
    var whole = Math.abs(x - Math.round(x)) < 1e-9;
    var d = whole ? Math.max(0, Math.round(x) - 2) : Math.min(5, Math.max(1, Math.ceil(x)));
    return num(q, d) + "%";
  }

  // A time chart's x is the end of a window (the JSON row's second - 1 + interval_s): a whole
  // second for full windows, a fraction for a run's last, partial one.
  function xText(c, x) {
    if (x == null) return "–";
    if (c.x.kind === "time") return "ends at " + num(x, Number.isInteger(x) ? 0 : 3) + " s";
    if (c.x.kind === "nines") return nines(x);
    return num(x, 1) + " " + c.x.unit;
  }

  function valueText(s, v) {
    return v == null ? "–" : num(v, s.decimals) + " " + s.unit;
  }

  // Top of an axis that starts at 0: a round number above every value.
  function niceTop(max, integer) {
    if (!(max > 0)) return integer ? 1 : 1;
    var raw = max * 1.05;
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * mag >= raw) {
        var top = steps[i] * mag;
        return integer ? Math.max(1, Math.ceil(top)) : top;
      }
    }
    return raw;
  }

  function rangeFor(axis) {
    return function (u, min, max) {
      if (min == null || max == null) return [0, 1];
      // A right axis (users, streams/s) gets twice the headroom: its line runs at about half
      // height instead of lying on the left axis' line when the two are proportional.
      if (axis.from_zero) return [0, niceTop(axis.right ? 2 * max : max, axis.integer)];
      // Span the visible data with a margin: small differences stay visible.
      var span = max - min;
      var pad = Math.max(span * 0.1, Math.abs(max) * 0.02, 0.001);
      var lo = Math.max(0, min - pad);
      return [lo, max + pad];
    };
  }

  function tooltip(u, c) {
    var tip = document.createElement("div");
    tip.className = "tip";
    tip.style.display = "none";
    u.over.appendChild(tip);
    var inside = false;
    u.over.addEventListener("mouseenter", function () { inside = true; });
    u.over.addEventListener("mouseleave", function () { inside = false; tip.style.display = "none"; });
    return function () {
      var i = u.cursor.idx;
      if (!inside || i == null) { tip.style.display = "none"; return; }
      var head = c.x.kind === "time" ? "window " : (c.x.kind === "nines" ? "percentile " : "");
      var rows = ["<b>" + escapeHtml(head + xText(c, u.data[0][i])) + "</b>"];
      c.series.forEach(function (s, k) {
        if (!u.series[k + 1].show) return;
        rows.push("<div><i style=\"background:" + s.color + "\"></i>" + escapeHtml(s.name) +
          ": <span class=\"tv\">" + escapeHtml(valueText(s, u.data[k + 1][i])) + "</span></div>");
      });
      tip.innerHTML = rows.join("");
      tip.style.display = "block";
      var left = u.cursor.left + 14, top = u.cursor.top + 14;
      if (left + tip.offsetWidth > u.over.clientWidth) left = u.cursor.left - tip.offsetWidth - 14;
      if (top + tip.offsetHeight > u.over.clientHeight) top = Math.max(0, u.cursor.top - tip.offsetHeight - 14);
      tip.style.left = Math.max(0, left) + "px";
      tip.style.top = top + "px";
    };
  }

  function escapeHtml(t) {
    return String(t).replace(/[&<>"']/g, function (ch) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[ch];
    });
  }

  function options(c, width) {
    var time = c.x.kind === "time";
    var series = [{
      label: time ? "window" : (c.x.kind === "nines" ? "percentile" : c.x.label),
      value: function (u, v) { return xText(c, v); }
    }];
    c.series.forEach(function (s) {
      series.push({
        label: s.name,
        scale: s.scale,
        stroke: s.color,
        width: s.width,
        dash: s.dashed ? [6, 4] : undefined,
        spanGaps: false,
        points: { show: c.xs.length <= 60, size: 4 },
        // Users hold for a whole window: a step ending at the window's end.
        paths: s.stepped ? uPlot.paths.stepped({ align: -1 }) : undefined,
        value: function (u, v) { return valueText(s, v); }
      });
    });
    var scales = { x: { time: false } };
    var xAxis = { label: time ? "seconds since start" : (c.x.kind === "nines" ? "percentile" : c.x.label + " (" + c.x.unit + ")") };
    if (time) {
      xAxis.incrs = TIME_INCRS;
      // A run of one window: a second either side, so that its point is not alone on an axis
      // with a single tick.
      scales.x.range = function (u, min, max) {
        return min === max ? [Math.max(0, min - 1), max + 1] : [min, max];
      };
    }
    if (c.x.kind === "nines") {
      var last = c.xs.length ? Math.ceil(c.xs[c.xs.length - 1] - 1e-9) : 1;
      var top = Math.max(1, last);
      // The whole run: 0% to the last whole nine; a drag zooms into the tail.
      scales.x.range = function (u, min, max) {
        var whole = min == null || (min <= 1e-9 && max >= c.xs[c.xs.length - 1] - 1e-9);
        return whole ? [0, top] : [min, max];
      };
      // Whole nines (90%, 99% ...), or finer steps once zoomed in.
      xAxis.splits = function (u, i, min, max) {
        var step = max - min > 2 ? 1 : (max - min > 0.8 ? 0.25 : 0.1);
        var a = [];
        for (var x = Math.ceil(min / step - 1e-9) * step; x <= max + 1e-9; x += step) a.push(Math.round(x * 100) / 100);
        return a;
      };
      xAxis.values = function (u, splits) { return splits.map(function (x) { return x === 0 ? "0%" : nines(x); }); };
    }
    var axes = [xAxis];
    c.axes.forEach(function (a) {
      scales[a.scale] = { range: rangeFor(a) };
      var axis = {
        scale: a.scale,
        label: a.label,
        side: a.right ? 1 : 3,
        grid: { show: !a.right },
        size: 60
      };
      if (a.integer) {
        axis.incrs = INT_INCRS;
        axis.values = function (u, splits) { return splits.map(function (v) { return num(v, 0); }); };
      }
      axes.push(axis);
    });
    return {
      title: c.title,
      width: width,
      height: HEIGHT,
      series: series,
      scales: scales,
      axes: axes,
      // One sync key for every time chart: uPlot then moves their cursors together and
      // replays a drag (zoom) or a double-click (zoom out) on each of them.
      cursor: {
        sync: { key: time ? "qpsbench-time" : "qpsbench-" + c.id },
        drag: { x: true, y: false, setScale: true }
      },
      legend: { live: true }
    };
  }

  function widthOf(el) {
    return Math.max(320, el.clientWidth - 8);
  }

  charts.forEach(function (c) {
    var el = document.getElementById(c.id);
    if (!el) return;
    var data = [c.xs].concat(c.series.map(function (s) { return s.values; }));
    var opts = options(c, widthOf(el));
    var tip;
    opts.hooks = {
      setCursor: [function (u) { if (tip) tip(); }]
    };
    var u = new uPlot(opts, data, el);
    tip = tooltip(u, c);
    el._uplot = u;
    plots.push(u);
  });

  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      plots.forEach(function (u) {
        u.setSize({ width: widthOf(u.root.parentNode), height: HEIGHT });
      });
    }, 100);
  });
  document.documentElement.setAttribute("data-charts-drawn", String(plots.length));
})();
