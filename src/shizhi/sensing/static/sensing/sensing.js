/* Sensing and early-warning pages: the device map, a device's chart, the grid risk map.
 *
 * - form[data-confirm]: asks before submitting (token issue, dispatch).
 * - [data-device-map]: Leaflet map of devices from a json_script (data-source): a circle per device filled with
 *   its status colour, its outline in the colour of its open alerts' highest warning level; the districts'
 *   outlines (data-geojson-url) as background. Works without tiles.
 * - [data-device-chart]: ECharts line of one quantity: raw readings, or the hourly mean with a min-max band;
 *   warning thresholds as dashed markLines; alerts as markAreas (their duration) and markPoints (their onset),
 *   coloured by level.
 * - [data-risk-map]: Leaflet map of grids (GeoJSON from a json_script) coloured by their highest open level,
 *   purple when they only have recent anomalies; a click opens the board filtered by the grid.
 * Words shown to people come from the page (json_script "labels"), never from this file.
 */
(function () {
  "use strict";

  var LOCALE = document.documentElement.lang || undefined;

  function readJson(id, fallback) {
    var el = id && document.getElementById(id);
    if (!el) return fallback;
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      return fallback;
    }
  }

  function fill(text, values) {
    return String(text === undefined ? "" : text).replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : m;
    });
  }

  function escapeHtml(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function number(v) {
    if (v === null || v === undefined || isNaN(v)) return "-";
    try {
      return Number(v).toLocaleString(LOCALE, { maximumFractionDigits: 2 });
    } catch (e) {
      return String(v);
    }
  }

  function status(el) {
    var node = document.querySelector('[data-map-status="' + el.id + '"]');
    return function (text) { if (node) node.textContent = text || ""; };
  }

  function baseMap(el) {
    var map = L.map(el, { zoomSnap: 0.25, scrollWheelZoom: false, attributionControl: !!el.dataset.tileUrl });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
    }
    map.setView([35, 105], 4);
    el.addEventListener("click", function () { map.scrollWheelZoom.enable(); }, { once: true });
    return map;
  }

  function outlines(map, url, onDone, say, labels) {
    if (!url || typeof fetch === "undefined") { onDone(null); return; }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          style: { color: "#52606d", weight: 1.2, fillColor: "#3b7dd8", fillOpacity: 0.04 },
          interactive: false,
        }).addTo(map);
        layer.bringToBack();
        onDone(layer);
      })
      .catch(function (e) {
        say(fill(labels.failed, { error: e.message }));
        onDone(null);
      });
  }

  function legend(el, items) {
    var node = document.querySelector('[data-map-legend="' + el.id + '"]');
    if (!node) return;
    node.innerHTML = items.map(function (it) {
      var style = it.ring ? "background:transparent;border:3px solid " + it.colour : "background:" + it.colour;
      return '<span><i style="' + style + '"></i>' + escapeHtml(it.label) + "</span>";
    }).join("");
  }

  /* ------------------------------------------------------------------ forms */

  function setupForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.dataset.confirm)) e.preventDefault();
      });
    });
  }

  /* ------------------------------------------------------------------ device map */

  function setupDeviceMap(el) {
    var data = readJson(el.dataset.source, { points: [], labels: {} });
    var labels = data.labels || {};
    var say = status(el);
    var map = baseMap(el);
    var group = L.featureGroup();
    data.points.forEach(function (p) {
      var fillColour = (labels.status_colours || {})[p.status] || "#9aa5b1";
      var ring = p.level ? (labels.level_colours || {})[String(p.level)] : "#ffffff";
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: p.level ? 8 : 6,
        color: ring,
        weight: p.level ? 4 : 1.5,
        fillColor: fillColour,
        fillOpacity: 0.95,
      });
      var alertText = p.level ? fill(labels.open_alert, { level: (labels.levels || {})[String(p.level)] || p.level })
        : labels.no_alert;
      marker.bindPopup(
        '<div class="map-tip"><strong>' + escapeHtml(p.name) + "</strong><br>" +
        escapeHtml(p.code) + " · " + escapeHtml(p.type) + "<br>" +
        escapeHtml((labels.status || {})[p.status] || p.status) + " · " + escapeHtml(alertText) + "<br>" +
        '<a href="' + escapeHtml(p.url) + '">' + escapeHtml(labels.open_page) + "</a></div>"
      );
      marker.bindTooltip(escapeHtml(p.name));
      group.addLayer(marker);
    });
    group.addTo(map);
    var fitted = false;
    if (data.points.length) {
      map.fitBounds(group.getBounds(), { padding: [24, 24], maxZoom: 15 });
      fitted = true;
    } else {
      say(labels.no_devices);
    }
    outlines(map, el.dataset.geojsonUrl, function (layer) {
      if (!fitted && layer && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
    }, say, labels);
    var items = [];
    Object.keys(labels.status || {}).forEach(function (key) {
      items.push({ colour: (labels.status_colours || {})[key], label: labels.status[key] });
    });
    ["4", "3", "2", "1"].forEach(function (key) {
      items.push({ colour: (labels.level_colours || {})[key], label: (labels.levels || {})[key], ring: true });
    });
    legend(el, items);
  }

  /* ------------------------------------------------------------------ device chart */

  function setupDeviceChart(el) {
    var data = readJson(el.dataset.source, null);
    if (!data) return;
    var l = data.labels || {};
    var unit = data.quantity.unit ? " " + data.quantity.unit : "";
    var chart = echarts.init(el, null, { renderer: "canvas" });
    var hourly = data.resolution === "hour";
    var main = hourly ? data.points.map(function (p) { return [p[0], p[1]]; }) : data.points;
    // The value axis reaches the data and the next warning line above it (not every line: a dry road's
    // centimetres would vanish under the red line at half a metre).
    var dataMax = null;
    data.points.forEach(function (p) {
      var top = hourly ? p[3] : p[1];
      if (top !== null && top !== undefined && (dataMax === null || top > dataMax)) dataMax = top;
    });
    var next = null;
    data.thresholds.forEach(function (t) {
      if ((dataMax === null || t.value > dataMax) && (next === null || t.value < next)) next = t.value;
    });
    var yMax = null;
    if (dataMax !== null || next !== null) yMax = Math.max(dataMax === null ? 0 : dataMax, next === null ? 0 : next);
    var shown = data.thresholds.filter(function (t) { return yMax === null || t.value <= yMax; });
    var markLines = shown.map(function (t) {
      return {
        yAxis: t.value,
        name: t.label,
        lineStyle: { color: t.colour, type: "dashed", width: 1.5 },
        label: { formatter: t.label + " " + number(t.value), color: t.colour, position: "insideEndTop" },
      };
    });
    var areas = data.alerts.map(function (a) {
      return [
        {
          name: fill(l.alert, { id: a.id, level: a.label, rule: a.rule, status: a.status }),
          xAxis: a.start,
          itemStyle: { color: a.colour, opacity: 0.12 },
        },
        { xAxis: Math.max(a.end, a.start + 60000) },
      ];
    });
    var points = data.alerts.filter(function (a) { return a.value !== null && a.value !== undefined; })
      .map(function (a) {
        return {
          coord: [a.start, a.value],
          value: a.label,
          itemStyle: { color: a.colour },
          alertUrl: a.url,
          name: fill(l.alert, { id: a.id, level: a.label, rule: a.rule, status: a.status }),
        };
      });
    var series = [{
      name: hourly ? l.mean : l.value,
      type: "line",
      data: main,
      showSymbol: false,
      lineStyle: { width: 1.6, color: "#1d5fa8" },
      itemStyle: { color: "#1d5fa8" },
      z: 3,
      markLine: { symbol: "none", silent: true, data: markLines },
      markArea: { data: areas },
      markPoint: { symbol: "pin", symbolSize: 36, label: { show: false }, data: points },
    }];
    if (hourly) {
      series.push({
        name: l.min,
        type: "line",
        data: data.points.map(function (p) { return [p[0], p[2]]; }),
        stack: "band",
        lineStyle: { opacity: 0 },
        showSymbol: false,
        silent: true,
        tooltip: { show: false },
      });
      series.push({
        name: l.band,
        type: "line",
        data: data.points.map(function (p) { return [p[0], p[3] - p[2]]; }),
        stack: "band",
        lineStyle: { opacity: 0 },
        areaStyle: { color: "#1d5fa8", opacity: 0.15 },
        showSymbol: false,
        silent: true,
        tooltip: { show: false },
      });
    }
    chart.setOption({
      animation: false,
      tooltip: {
        trigger: "axis",
        formatter: function (items) {
          var first = items && items[0];
          if (!first) return "";
          var when = new Date(first.value[0]).toLocaleString(LOCALE);
          var line = escapeHtml(when) + "<br>" + escapeHtml(first.seriesName) + ": " + number(first.value[1]) + escapeHtml(unit);
          if (hourly) {
            var p = data.points[first.dataIndex];
            if (p) line += "<br>" + escapeHtml(l.min) + " " + number(p[2]) + " · " + escapeHtml(l.max) + " " + number(p[3]);
          }
          return line;
        },
      },
      grid: { left: 8, right: 24, top: 28, bottom: 40, containLabel: true },
      xAxis: { type: "time", min: data.start, max: data.end },
      yAxis: {
        type: "value",
        name: data.quantity.unit || "",
        scale: true,
        max: yMax === null ? null : function (v) { return Math.max(v.max, yMax * 1.08); },
      },
      dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 8 }],
      series: series,
    });
    chart.on("click", function (params) {
      if (params.componentType === "markPoint" && params.data && params.data.alertUrl) {
        window.location.href = params.data.alertUrl;
      }
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  /* ------------------------------------------------------------------ grid risk map */

  function setupRiskMap(el) {
    var data = readJson(el.dataset.source, { features: [], labels: {} });
    var labels = data.labels || {};
    var say = status(el);
    var map = baseMap(el);
    function colour(p) {
      return p.max_level ? (labels.level_colours || {})[String(p.max_level)] : labels.anomaly_colour;
    }
    var layer = L.geoJSON({ type: "FeatureCollection", features: data.features }, {
      style: function (f) {
        return { color: colour(f.properties), weight: 1.5, fillColor: colour(f.properties), fillOpacity: 0.55 };
      },
      onEachFeature: function (f, lyr) {
        var p = f.properties;
        var lines = ["<strong>" + escapeHtml(p.name) + "</strong>", escapeHtml(fill(labels.rank, { n: p.rank }))];
        lines.push(escapeHtml(p.max_level ? (labels.levels || {})[String(p.max_level)] : labels.anomalies_only));
        lines.push(escapeHtml(fill(labels.open, { n: p.open_total })));
        lines.push(escapeHtml(fill(labels.anomalies, { n: p.anomalies })));
        lines.push('<span class="muted">' + escapeHtml(labels.open_board) + "</span>");
        lyr.bindTooltip('<div class="map-tip">' + lines.join("<br>") + "</div>", { sticky: true });
        lyr.on("click", function () { window.location.href = p.url; });
      },
    }).addTo(map);
    var fitted = false;
    if (data.features.length && layer.getBounds().isValid()) {
      map.fitBounds(layer.getBounds(), { padding: [24, 24], maxZoom: 14 });
      fitted = true;
    } else {
      say(labels.none);
    }
    outlines(map, el.dataset.geojsonUrl, function (bg) {
      if (!fitted && bg && bg.getBounds().isValid()) map.fitBounds(bg.getBounds(), { padding: [8, 8] });
    }, say, labels);
    var items = ["4", "3", "2", "1"].map(function (key) {
      return { colour: (labels.level_colours || {})[key], label: (labels.levels || {})[key] };
    });
    items.push({ colour: labels.anomaly_colour, label: labels.anomalies_only });
    legend(el, items);
  }

  function init() {
    setupForms();
    if (typeof L !== "undefined") {
      document.querySelectorAll("[data-device-map]").forEach(setupDeviceMap);
      document.querySelectorAll("[data-risk-map]").forEach(setupRiskMap);
    }
    if (typeof echarts !== "undefined") {
      document.querySelectorAll("[data-device-chart]").forEach(setupDeviceChart);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
