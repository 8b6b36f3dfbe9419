/* The model page (ai/model_detail.html): the confusion matrix as an ECharts heatmap. Rows are the true labels,
 * columns the predicted ones; the data and the words come from the page (json_script "confusion-data"),
 * already in the page's language. form[data-confirm] asks before activating a version. */
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function confusion(el, data) {
    var n = data.labels.length;
    var cells = [];
    var max = 1;
    for (var i = 0; i < n; i++) {
      for (var j = 0; j < n; j++) {
        var v = data.matrix[i][j];
        cells.push([j, i, v]);
        if (i !== j && v > max) max = v;
      }
    }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      tooltip: {
        position: "top",
        formatter: function (p) {
          return data.words.truth + ": " + data.labels[p.value[1]] + "<br>" + data.words.predicted + ": " +
            data.labels[p.value[0]] + "<br>" + data.words.count + ": " + p.value[2];
        },
      },
      grid: { left: 8, right: 16, top: 16, bottom: 64, containLabel: true },
      xAxis: { type: "category", data: data.labels, name: data.words.predicted, nameLocation: "middle", nameGap: 48,
               axisLabel: { interval: 0, rotate: n > 5 ? 35 : 0 }, splitArea: { show: true } },
      yAxis: { type: "category", data: data.labels, name: data.words.truth, inverse: true, splitArea: { show: true } },
      // The scale is set by the largest off-diagonal cell, so that confusions stand out next to the diagonal.
      visualMap: { min: 0, max: max, calculable: true, orient: "horizontal", left: "center", bottom: 0,
                   inRange: { color: ["#f7fbff", "#6baed6", "#08306b"] } },
      series: [{ type: "heatmap", data: cells, label: { show: n <= 12 }, emphasis: { itemStyle: { borderColor: "#333" } } }],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function init() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
    if (typeof echarts === "undefined") return;
    document.querySelectorAll("[data-ai-chart='confusion']").forEach(function (el) {
      var data = readJson(el.dataset.source);
      if (data && data.labels.length) confusion(el, data);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
