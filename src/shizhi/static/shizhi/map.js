/* Area maps (行政区划地图): draws an area's children and grids from the JSON API with Leaflet.
 *
 * Each element with [data-area-map] is configured by data attributes (see templates/includes/area_map.html):
 * the GeoJSON URLs, the URL of an area page ("/core/areas/0/", 0 replaced by the id), an optional tile layer,
 * and the id of a json_script element with per-feature statistics (population density).
 * Without a tile URL the map is drawn on a plain background: it works offline.
 */
(function () {
  "use strict";

  var URBAN = "#3b7dd8";
  var RURAL = "#2e9d5b";
  var GRID = "#b7791f";
  var DENSITY_COLOURS = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"];
  var KIND_LABELS = { urban: "城镇", rural: "乡村" };

  function fmt(n) {
    if (n === null || n === undefined || isNaN(n)) return "—";
    return Number(n).toLocaleString("zh-CN");
  }

  function escapeHtml(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function readStats(id) {
    var el = id && document.getElementById(id);
    if (!el) return { children: {}, grids: {} };
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      return { children: {}, grids: {} };
    }
  }

  /* Five classes from the data's quantiles, rounded to two significant digits so the legend reads well. */
  function densityBreaks(values) {
    var v = values.filter(function (x) { return x !== null && x !== undefined && !isNaN(x); })
      .sort(function (a, b) { return a - b; });
    if (!v.length) return [];
    var breaks = [];
    for (var i = 1; i < DENSITY_COLOURS.length; i++) {
      var q = v[Math.min(v.length - 1, Math.floor((i * v.length) / DENSITY_COLOURS.length))];
      var p = Math.pow(10, Math.max(0, Math.floor(Math.log10(Math.max(q, 1))) - 1));
      var r = Math.floor(q / p) * p;
      if (!breaks.length || r > breaks[breaks.length - 1]) breaks.push(r);
    }
    return breaks;
  }

  function densityColour(d, breaks) {
    if (d === null || d === undefined || isNaN(d)) return "#cfd6de";
    for (var i = 0; i < breaks.length; i++) if (d < breaks[i]) return DENSITY_COLOURS[i];
    return DENSITY_COLOURS[Math.min(breaks.length, DENSITY_COLOURS.length - 1)];
  }

  function setup(el) {
    var id = el.id;
    var status = document.querySelector('[data-map-status="' + id + '"]');
    var legend = document.querySelector('[data-map-legend="' + id + '"]');
    var modeSelect = document.querySelector('[data-map-mode="' + id + '"]');
    var gridsToggle = document.querySelector('[data-map-grids="' + id + '"]');
    var stats = readStats(el.dataset.stats);
    var mode = modeSelect ? modeSelect.value : "urban_rural";
    var breaks = [];
    var childrenLayer = null;
    var gridsLayer = null;
    var selfLayer = null;
    var fitted = false;

    function say(text) { if (status) status.textContent = text || ""; }

    var map = L.map(el, { zoomSnap: 0.25, scrollWheelZoom: false, attributionControl: !!el.dataset.tileUrl });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
    }
    map.setView([35, 105], 4);
    el.addEventListener("click", function () { map.scrollWheelZoom.enable(); }, { once: true });

    function densityOf(feature, kind) {
      var table = kind === "grid" ? stats.grids : stats.children;
      var row = table && table[String(feature.properties.id)];
      return row ? row.density : null;
    }

    function areaStyle(feature) {
      var p = feature.properties;
      var fill = mode === "density" ? densityColour(densityOf(feature, "area"), breaks)
        : (p.urban_rural === "rural" ? RURAL : URBAN);
      return { color: "#ffffff", weight: 1.5, fillColor: fill, fillOpacity: mode === "density" ? 0.8 : 0.55 };
    }

    function gridStyle() {
      return { color: GRID, weight: 1, dashArray: "3 3", fillColor: GRID, fillOpacity: 0.08 };
    }

    function tooltip(feature, kind) {
      var p = feature.properties;
      var d = densityOf(feature, kind);
      var lines = ["<strong>" + escapeHtml(p.name) + "</strong>"];
      if (kind === "area") {
        lines.push(escapeHtml(p.type || "") + " · " + escapeHtml(KIND_LABELS[p.urban_rural] || ""));
      } else {
        lines.push("网格员：" + escapeHtml(p.grid_worker || "未配置"));
      }
      lines.push("常住人口：" + fmt(p.population) + " 人 · 户数：" + fmt(p.households));
      if (d !== null && d !== undefined) lines.push("人口密度：" + fmt(d) + " 人/平方公里");
      if (kind === "area") lines.push('<span class="muted">点击进入</span>');
      return '<div class="map-tip">' + lines.join("<br>") + "</div>";
    }

    function drawLegend() {
      if (!legend) return;
      var items = [];
      if (mode === "density") {
        if (!breaks.length) {
          items.push("<span>无面积数据，无法计算人口密度</span>");
        } else {
          var lower = 0;
          for (var i = 0; i <= breaks.length; i++) {
            var upper = breaks[i];
            var label = upper === undefined ? "≥ " + fmt(lower) : fmt(lower) + " – " + fmt(upper);
            items.push('<span><i style="background:' + DENSITY_COLOURS[i] + '"></i>' + label + "</span>");
            lower = upper;
          }
          items.push("<span>人/平方公里</span>");
        }
      } else if (childrenLayer) {
        items.push('<span><i style="background:' + URBAN + '"></i>城镇</span>');
        items.push('<span><i style="background:' + RURAL + '"></i>乡村</span>');
      }
      if (gridsLayer && map.hasLayer(gridsLayer)) {
        items.push('<span><i style="background:transparent;border:1px dashed ' + GRID + '"></i>网格</span>');
      }
      legend.innerHTML = items.join("");
    }

    function fit(layer) {
      if (fitted || !layer) return;
      var bounds = layer.getBounds();
      if (bounds.isValid()) {
        map.fitBounds(bounds, { padding: [12, 12] });
        fitted = true;
      }
    }

    function load(url) {
      return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        });
    }

    function drawChildren(data) {
      breaks = densityBreaks(data.features.map(function (f) { return densityOf(f, "area"); }));
      childrenLayer = L.geoJSON(data, {
        style: areaStyle,
        onEachFeature: function (feature, layer) {
          layer.bindTooltip(tooltip(feature, "area"), { sticky: true });
          layer.on("mouseover", function () { layer.setStyle({ weight: 3, color: "#1f2933" }); });
          layer.on("mouseout", function () { childrenLayer.resetStyle(layer); });
          layer.on("click", function () {
            window.location.href = el.dataset.areaUrl.replace(/\/0\/$/, "/" + feature.properties.id + "/");
          });
        },
      }).addTo(map);
      fit(childrenLayer);
      if (!data.features.length) say("下级区划没有边界数据。");
    }

    function drawGrids(data) {
      gridsLayer = L.geoJSON(data, {
        style: gridStyle,
        onEachFeature: function (feature, layer) {
          layer.bindTooltip(tooltip(feature, "grid"), { sticky: true });
        },
      });
      if (!data.features.length) say("该区域没有网格边界数据。");
      return gridsLayer;
    }

    function showGrids(on) {
      if (on && !gridsLayer) {
        say("正在加载网格…");
        load(el.dataset.gridsUrl).then(function (data) {
          drawGrids(data).addTo(map);
          fit(gridsLayer);
          if (data.features.length) say("");
          drawLegend();
        }).catch(function (e) { say("网格加载失败：" + e.message); });
        return;
      }
      if (gridsLayer) {
        if (on) gridsLayer.addTo(map); else map.removeLayer(gridsLayer);
      }
      drawLegend();
    }

    // The area's own outline first (context), then its children, then grids when asked for.
    load(el.dataset.selfUrl).then(function (data) {
      selfLayer = L.geoJSON(data, {
        style: { color: "#52606d", weight: 2, dashArray: "6 4", fill: false },
        interactive: false,
      }).addTo(map);
      if (el.dataset.showChildren !== "1") fit(selfLayer);
    }).catch(function () { /* no outline: the children still show */ })
      .then(function () {
        if (el.dataset.showChildren === "1") {
          return load(el.dataset.childrenUrl).then(drawChildren);
        }
        return null;
      })
      .then(function () {
        if (el.dataset.showGrids === "1") showGrids(true);
        fit(selfLayer);
        drawLegend();
        if (!fitted) say("没有可显示的边界数据。");
      })
      .catch(function (e) { say("地图数据加载失败：" + e.message); });

    if (modeSelect) {
      modeSelect.addEventListener("change", function () {
        mode = modeSelect.value;
        if (childrenLayer) childrenLayer.setStyle(areaStyle);
        drawLegend();
      });
    }
    if (gridsToggle) {
      gridsToggle.addEventListener("change", function () { showGrids(gridsToggle.checked); });
    }
  }

  function init() {
    if (typeof L === "undefined") return;
    document.querySelectorAll("[data-area-map]").forEach(setup);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
