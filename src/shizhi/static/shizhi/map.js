/* Area maps (行政区划地图): draws an area's children and grids from the JSON API with Leaflet.
 *
 * Each element with [data-area-map] is configured by data attributes (see templates/includes/area_map.html):
 * the GeoJSON URLs, the URL of an area page ("/core/areas/0/", 0 replaced by the id), an optional tile layer,
 * the id of a json_script element with per-feature statistics (population density), and the id of a json_script
 * element with the words to show, translated by the server into the page's language (data-labels).
 * Without a tile URL the map is drawn on a plain background: it works offline.
 */
(function () {
  "use strict";

  var URBAN = "#3b7dd8";
  var RURAL = "#2e9d5b";
  var GRID = "#b7791f";
  var DENSITY_COLOURS = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"];
  var LOCALE = document.documentElement.lang || undefined;

  function fmt(n) {
    if (n === null || n === undefined || isNaN(n)) return "—";
    try {
      return Number(n).toLocaleString(LOCALE);
    } catch (e) {  // a language tag the browser does not know
      return Number(n).toLocaleString();
    }
  }

  /* fill("Grid worker: {name}", {name: "Zhang San"}) -> "Grid worker: Zhang San"; plain text (escape the result
   * before putting it into HTML). */
  function fill(text, values) {
    return String(text).replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : m;
    });
  }

  function escapeHtml(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function readJson(id, fallback) {
    var el = id && document.getElementById(id);
    if (!el) return fallback;
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      return fallback;
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
    var stats = readJson(el.dataset.stats, { children: {}, grids: {} });
    var labels = readJson(el.dataset.labels, {});
    function t(key) { return labels[key] === undefined ? key : labels[key]; }
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
        var kindLabel = p.urban_rural === "urban" || p.urban_rural === "rural" ? t(p.urban_rural) : "";
        lines.push(escapeHtml(p.type || "") + " · " + escapeHtml(kindLabel));
      } else {
        lines.push(escapeHtml(fill(t("grid_worker"), { name: p.grid_worker || t("unassigned") })));
      }
      lines.push(escapeHtml(fill(t("population"), { population: fmt(p.population), households: fmt(p.households) })));
      if (d !== null && d !== undefined) lines.push(escapeHtml(fill(t("density"), { density: fmt(d) })));
      if (kind === "area") lines.push('<span class="muted">' + escapeHtml(t("click")) + "</span>");
      return '<div class="map-tip">' + lines.join("<br>") + "</div>";
    }

    function drawLegend() {
      if (!legend) return;
      var items = [];
      if (mode === "density") {
        if (!breaks.length) {
          items.push("<span>" + escapeHtml(t("no_area")) + "</span>");
        } else {
          var lower = 0;
          for (var i = 0; i <= breaks.length; i++) {
            var upper = breaks[i];
            var label = upper === undefined ? "≥ " + fmt(lower) : fmt(lower) + " – " + fmt(upper);
            items.push('<span><i style="background:' + DENSITY_COLOURS[i] + '"></i>' + label + "</span>");
            lower = upper;
          }
          items.push("<span>" + escapeHtml(t("density_unit")) + "</span>");
        }
      } else if (childrenLayer) {
        items.push('<span><i style="background:' + URBAN + '"></i>' + escapeHtml(t("urban")) + "</span>");
        items.push('<span><i style="background:' + RURAL + '"></i>' + escapeHtml(t("rural")) + "</span>");
      }
      if (gridsLayer && map.hasLayer(gridsLayer)) {
        items.push('<span><i style="background:transparent;border:1px dashed ' + GRID + '"></i>' + escapeHtml(t("grid")) + "</span>");
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
      if (!data.features.length) say(t("no_children"));
    }

    function drawGrids(data) {
      gridsLayer = L.geoJSON(data, {
        style: gridStyle,
        onEachFeature: function (feature, layer) {
          layer.bindTooltip(tooltip(feature, "grid"), { sticky: true });
        },
      });
      if (!data.features.length) say(t("no_grids"));
      return gridsLayer;
    }

    function showGrids(on) {
      if (on && !gridsLayer) {
        say(t("loading_grids"));
        load(el.dataset.gridsUrl).then(function (data) {
          drawGrids(data).addTo(map);
          fit(gridsLayer);
          if (data.features.length) say("");
          drawLegend();
        }).catch(function (e) { say(fill(t("grids_failed"), { error: e.message })); });
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
        if (!fitted) say(t("nothing"));
      })
      .catch(function (e) { say(fill(t("failed"), { error: e.message })); });

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
