/* Pages of "get one thing done efficiently" (onething). No words live here: every label comes from the page,
 * through json_script, in the page's language.
 *
 * - [data-ot-chart=compare]: before/after bars of one item (steps, materials, time, trips, form fields);
 * - [data-ot-chart=volume]: applications received per month, stacked by district;
 * - [data-ot-chart=rates]: on-time rate and fully-online share per district (percent), with the mean rating;
 * - form[data-once]: a second submit of the same form is ignored; form[data-confirm]: asks first.
 */
(function () {
  "use strict";

  var LOCALE = document.documentElement.lang || undefined;
  var PALETTE = ["#1d5fa8", "#1f8a4c", "#b7791f", "#b71c1c", "#6b46c1", "#2c7a7b", "#975a16", "#4a5568"];

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function number(v, digits) {
    if (v === null || v === undefined) return "\u2014";
    try {
      return Number(v).toLocaleString(LOCALE, { maximumFractionDigits: digits === undefined ? 1 : digits });
    } catch (e) {
      return String(v);
    }
  }

  function fill(text, n) {
    return String(text).replace("{n}", n);
  }

  function draw(el, option) {
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function compareChart(el, data) {
    var l = data.labels;
    draw(el, {
      color: ["#a0aec0", "#1f8a4c"],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: [l.before, l.after], top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.keys.map(function (k) { return l[k]; }), axisLabel: { interval: 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: l.before, type: "bar", data: data.before, barMaxWidth: 36, label: { show: true, position: "top" } },
        { name: l.after, type: "bar", data: data.after, barMaxWidth: 36, label: { show: true, position: "top" } },
      ],
    });
  }

  function volumeChart(el, data) {
    var l = data.labels;
    draw(el, {
      color: PALETTE,
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        valueFormatter: function (v) { return fill(l.pieces, number(v, 0)); },
      },
      legend: { data: data.districts, top: 0, type: "scroll" },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.months },
      yAxis: { type: "value", name: l.volume, minInterval: 1 },
      series: data.districts.map(function (name, i) {
        return { name: name, type: "bar", stack: "volume", data: data.volume[i], barMaxWidth: 40 };
      }),
    });
  }

  function ratesChart(el, data) {
    var l = data.labels;
    draw(el, {
      color: ["#1d5fa8", "#1f8a4c", "#b7791f"],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: [l.on_time_rate, l.online_share, l.rating], top: 0 },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.districts, axisLabel: { interval: 0, rotate: data.districts.length > 6 ? 30 : 0 } },
      yAxis: [
        { type: "value", name: l.percent_axis, min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
        { type: "value", name: l.score_axis, min: 0, max: 5, splitLine: { show: false } },
      ],
      series: [
        { name: l.on_time_rate, type: "bar", data: data.on_time_rate, barMaxWidth: 28,
          tooltip: { valueFormatter: function (v) { return v === null || v === undefined ? l.no_data : number(v) + "%"; } } },
        { name: l.online_share, type: "bar", data: data.online_share, barMaxWidth: 28,
          tooltip: { valueFormatter: function (v) { return v === null || v === undefined ? l.no_data : number(v) + "%"; } } },
        { name: l.rating, type: "line", yAxisIndex: 1, data: data.rating, symbolSize: 8,
          tooltip: { valueFormatter: function (v) { return v === null || v === undefined ? l.no_data : number(v, 2); } } },
      ],
    });
  }

  var KINDS = { compare: compareChart, volume: volumeChart, rates: ratesChart };

  function setupCharts() {
    if (typeof echarts === "undefined") return;
    document.querySelectorAll("[data-ot-chart]").forEach(function (el) {
      var kind = KINDS[el.dataset.otChart];
      var data = readJson(el.dataset.source);
      if (kind && data) kind(el, data);
    });
  }

  function setupForms() {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (form.dataset.submitted === "1") {
          e.preventDefault();
          return;
        }
        form.dataset.submitted = "1";
        form.classList.add("submitting");
      });
    });
    window.addEventListener("pageshow", function () {
      document.querySelectorAll("form[data-once]").forEach(function (form) {
        form.dataset.submitted = "";
        form.classList.remove("submitting");
      });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.dataset.confirm)) e.preventDefault();
      });
    });
    // A promised material (handed in later) need not be uploaded: its file input stops being required.
    document.querySelectorAll("input[data-promise-for]").forEach(function (box) {
      var input = document.getElementById(box.dataset.promiseFor);
      if (!input) return;
      var required = input.required;
      function sync() { input.required = required && !box.checked; input.disabled = box.checked; }
      box.addEventListener("change", sync);
      sync();
    });
  }

  function init() {
    setupForms();
    setupCharts();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
