/* Charts (图表) with ECharts. Each element with [data-chart] names its kind and the id of a json_script
 * element that holds its data (rendered by the server, so no extra request), with the words to show already
 * translated into the page's language (data.labels). Numbers are formatted for the page's language (<html lang>). */
(function () {
  "use strict";

  var URBAN = "#3b7dd8";
  var RURAL = "#2e9d5b";
  var LOCALE = document.documentElement.lang || undefined;

  function number(v, options) {
    try {
      return Number(v).toLocaleString(LOCALE, options);
    } catch (e) {  // a language tag (or option) the browser does not know
      return Number(v).toLocaleString();
    }
  }

  /* "{n} 人" + 1234 -> "1,234 人" */
  function fill(text, n) {
    return String(text).replace("{n}", n);
  }

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function populationChart(el, data) {
    var chart = echarts.init(el, null, { renderer: "canvas" });
    var many = data.districts.length > 8;
    chart.setOption({
      color: [URBAN, RURAL],
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        valueFormatter: function (v) { return fill(data.labels.people, number(v)); },
      },
      legend: { data: [data.labels.urban, data.labels.rural], top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: {
        type: "category",
        data: data.districts,
        axisLabel: { interval: 0, rotate: many ? 35 : 0 },
      },
      yAxis: {
        type: "value",
        name: data.labels.axis,
        axisLabel: {
          // Compact in the page's language: 50000 -> "5万" (Chinese), "50K" (English).
          formatter: function (v) { return v >= 10000 ? number(v, { notation: "compact" }) : number(v); },
        },
      },
      series: [
        { name: data.labels.urban, type: "bar", stack: "population", data: data.urban, barMaxWidth: 48 },
        { name: data.labels.rural, type: "bar", stack: "population", data: data.rural, barMaxWidth: 48 },
      ],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  var KINDS = { population: populationChart };

  function init() {
    if (typeof echarts === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var draw = KINDS[el.dataset.chart];
      var data = readJson(el.dataset.source);
      if (draw && data) draw(el, data);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
