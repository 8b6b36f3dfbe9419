/* Hotline pages (接诉即办): small enhancements on top of forms that work without scripts.
 *
 * - form[data-once]: a second submit of the same form is ignored (the server also refuses duplicates);
 *   form[data-confirm]: asks before submitting.
 * - input[data-filter-select]: typing narrows the options of the select it names; Enter or the down arrow
 *   moves into the list.
 * - textarea[data-ctrl-enter]: Ctrl+Enter (Cmd+Enter) submits its form with the form's first button.
 * - form[data-similar-url]: while the operator types, asks the server for similar open cases and shows the
 *   returned HTML in the element named by data-similar-target.
 * - button[data-copy-reply] (答复参考, hidden until this script shows it): copies the text of the element named by
 *   data-copy-source into the textarea named by data-copy-reply, asking first (data-replace-confirm) when the
 *   textarea already holds other text.
 * - [data-pin-map]: a Leaflet map with the districts' outlines; a click (or Enter on the focused map) sets the
 *   pin into the lng/lat inputs it names; read-only maps show the point and the grid's outline.
 * - [data-hotline-chart]: ECharts line (three rates by month) and bar (composite by unit) charts, from a
 *   json_script whose words the server has already translated.
 * Words shown to people come from the page (json_script), never from this file.
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
    return String(text).replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : m;
    });
  }

  /* ------------------------------------------------------------------ forms */

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
    // Coming back with the browser's back button: the form may be sent again.
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
    document.querySelectorAll("textarea[data-ctrl-enter]").forEach(function (area) {
      area.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && area.form) {
          e.preventDefault();
          var button = area.form.querySelector("button[type=submit]");
          if (area.form.requestSubmit) area.form.requestSubmit(button || undefined);
          else area.form.submit();
        }
      });
    });
  }

  function setupCategoryFilters() {
    document.querySelectorAll("input[data-filter-select]").forEach(function (input) {
      var select = document.getElementById(input.dataset.filterSelect);
      if (!select) return;
      input.addEventListener("input", function () {
        var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
        var first = null;
        var count = 0;
        select.querySelectorAll("option").forEach(function (option) {
          if (!option.value) return;
          var hay = (option.textContent + " " + (option.dataset.keywords || "") + " " + option.value).toLowerCase();
          var show = words.every(function (w) { return hay.indexOf(w) >= 0; });
          option.hidden = !show;
          if (show) {
            count += 1;
            if (!first) first = option;
          }
        });
        select.querySelectorAll("optgroup").forEach(function (group) {
          group.hidden = !group.querySelector("option:not([hidden])");
        });
        if (words.length && count === 1 && first) select.value = first.value;
      });
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === "ArrowDown") {
          e.preventDefault();  // Enter here picks a category; it must not submit the form
          var visible = select.querySelector("option:not([hidden]):not([value=''])");
          if (visible && (!select.value || select.selectedOptions[0].hidden)) select.value = visible.value;
          select.focus();
        }
      });
    });
  }

  /* ------------------------------------------------------------------ similar cases (intake desk) */

  function setupSimilar() {
    document.querySelectorAll("form[data-similar-url]").forEach(function (form) {
      var target = document.getElementById(form.dataset.similarTarget);
      if (!target || typeof fetch === "undefined") return;
      var timer = null;
      var pending = null;
      var last = "";
      function check() {
        var params = new URLSearchParams();
        ["title", "content", "citizen_phone", "lng", "lat", "demand_type"].forEach(function (name) {
          var field = form.elements.namedItem(name);
          if (field && field.value) params.set(name, field.value);
        });
        if (!params.get("title") && !params.get("content") && !params.get("citizen_phone")) return;
        var query = params.toString();
        if (query === last) return;
        last = query;
        if (pending) pending.abort();
        pending = typeof AbortController !== "undefined" ? new AbortController() : null;
        fetch(form.dataset.similarUrl + "?" + query, {
          credentials: "same-origin",
          headers: { "X-Requested-With": "fetch" },
          signal: pending ? pending.signal : undefined,
        }).then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.text();
        }).then(function (html) {
          target.innerHTML = html;
        }).catch(function () { /* the panel keeps its last answer; the check button still works */ });
      }
      function later() {
        clearTimeout(timer);
        timer = setTimeout(check, 600);
      }
      form.querySelectorAll("[data-similar-field]").forEach(function (field) {
        field.addEventListener("input", later);
        field.addEventListener("change", later);
      });
    });
  }

  /* ------------------------------------------------------------------ classifier suggestions (intake desk) */

  function setupFillButtons() {
    // The suggestions panel is replaced while the operator types: one listener on the document serves all.
    document.addEventListener("click", function (e) {
      var button = e.target.closest ? e.target.closest("button[data-fill-field]") : null;
      if (!button) return;
      var form = document.getElementById("intake-form");
      var field = form && form.elements.namedItem(button.dataset.fillField);
      if (!field) return;
      field.value = button.dataset.fillValue;
      field.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  /* ------------------------------------------------------------------ reply suggestions (case page) */

  function setupReplyCopy() {
    document.querySelectorAll("button[data-copy-reply]").forEach(function (button) {
      var area = document.getElementById(button.dataset.copyReply);
      var source = document.getElementById(button.dataset.copySource);
      if (!area || !source) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = source.textContent.trim();
        var current = area.value.trim();
        if (current && current !== text && button.dataset.replaceConfirm && !window.confirm(button.dataset.replaceConfirm)) return;
        area.value = text;
        area.focus();
        area.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });
  }

  /* ------------------------------------------------------------------ pin maps */

  function setupPinMap(el) {
    var labels = readJson(el.dataset.labels, {});
    function t(key) { return labels[key] === undefined ? key : labels[key]; }
    var status = document.querySelector('[data-map-status="' + el.id + '"]');
    function say(text) { if (status) status.textContent = text || ""; }
    var lngInput = el.dataset.lngInput ? document.getElementById(el.dataset.lngInput) : null;
    var latInput = el.dataset.latInput ? document.getElementById(el.dataset.latInput) : null;
    var readonly = el.dataset.readonly === "1";
    var map = L.map(el, { zoomSnap: 0.25, scrollWheelZoom: false, attributionControl: !!el.dataset.tileUrl });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
    }
    map.setView([35, 105], 4);
    el.addEventListener("click", function () { map.scrollWheelZoom.enable(); }, { once: true });
    var marker = null;
    var fitted = false;

    function point() {
      var raw = el.dataset.point;
      if (!raw && lngInput && latInput && lngInput.value && latInput.value) raw = lngInput.value + "," + latInput.value;
      if (!raw) return null;
      var parts = raw.split(",").map(Number);
      return isNaN(parts[0]) || isNaN(parts[1]) ? null : L.latLng(parts[1], parts[0]);
    }

    function place(latlng, announce) {
      if (!marker) {
        marker = L.circleMarker(latlng, { radius: 9, color: "#ffffff", weight: 2, fillColor: "#b71c1c", fillOpacity: 0.95 })
          .bindTooltip(t("point"))
          .addTo(map);
      } else {
        marker.setLatLng(latlng);
      }
      var lng = latlng.lng.toFixed(6);
      var lat = latlng.lat.toFixed(6);
      if (lngInput && latInput && !readonly) {
        lngInput.value = lng;
        latInput.value = lat;
        lngInput.dispatchEvent(new Event("change", { bubbles: true }));
      }
      if (announce) say(fill(t("pinned"), { lng: lng, lat: lat }));
    }

    function clear() {
      if (marker) {
        map.removeLayer(marker);
        marker = null;
      }
      if (lngInput && latInput) {
        lngInput.value = "";
        latInput.value = "";
        lngInput.dispatchEvent(new Event("change", { bubbles: true }));
      }
      say(t("cleared"));
    }

    var start = point();
    if (start) {
      place(start, !readonly);
      map.setView(start, 14);
      fitted = true;
    } else if (!readonly) {
      say(t("hint"));
    }

    var grid = readJson(el.dataset.grid, null);
    if (grid) {
      var gridLayer = L.geoJSON(grid, {
        style: { color: "#b7791f", weight: 2, dashArray: "4 3", fillColor: "#b7791f", fillOpacity: 0.1 },
        interactive: false,
      }).addTo(map);
      if (gridLayer.getBounds().isValid()) {
        map.fitBounds(gridLayer.getBounds(), { padding: [20, 20], maxZoom: 16 });
        fitted = true;
      }
    }

    fetch(el.dataset.geojsonUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          style: { color: "#52606d", weight: 1.5, fillColor: "#3b7dd8", fillOpacity: 0.08 },
          onEachFeature: function (feature, l) { l.bindTooltip(String(feature.properties.name || ""), { sticky: true }); },
        }).addTo(map);
        layer.bringToBack();
        if (!fitted && layer.getBounds().isValid()) {
          map.fitBounds(layer.getBounds(), { padding: [8, 8] });
          fitted = true;
        }
        if (!data.features || !data.features.length) say(t("no_outline"));
        if (!readonly) {
          // Clicks on a district fall through to the map.
          layer.on("click", function (e) { place(e.latlng, true); });
        }
      })
      .catch(function (e) { say(fill(t("failed"), { error: e.message })); });

    if (!readonly) {
      map.on("click", function (e) { place(e.latlng, true); });
      el.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && e.target === el) {
          e.preventDefault();
          place(map.getCenter(), true);
        }
      });
      document.querySelectorAll('[data-pin-clear="' + el.id + '"]').forEach(function (button) {
        button.addEventListener("click", clear);
      });
      [lngInput, latInput].forEach(function (input) {
        if (!input || input.type === "hidden") return;
        input.addEventListener("change", function () {
          var p = point();
          if (p && (!marker || !marker.getLatLng().equals(p))) {
            place(p, false);
            map.setView(p, Math.max(map.getZoom(), 13));
          }
        });
      });
    }
    // A map inside a closed <details> has no size until it is opened.
    var details = el.closest("details");
    if (details) details.addEventListener("toggle", function () { map.invalidateSize(); });
  }

  /* ------------------------------------------------------------------ charts (supervisor board) */

  function number(v) {
    try {
      return Number(v).toLocaleString(LOCALE, { maximumFractionDigits: 1 });
    } catch (e) {
      return String(v);
    }
  }

  function trendChart(el, data) {
    var chart = echarts.init(el, null, { renderer: "canvas" });
    var l = data.labels;
    chart.setOption({
      color: ["#1d5fa8", "#1f8a4c", "#b7791f"],
      tooltip: {
        trigger: "axis",
        valueFormatter: function (v) { return v === null || v === undefined ? "—" : number(v) + "%"; },
      },
      legend: { data: [l.response, l.resolution, l.satisfaction], top: 0 },
      grid: { left: 8, right: 28, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.months, boundaryGap: false },
      yAxis: { type: "value", name: l.axis, min: function (v) { return Math.max(0, Math.floor(v.min / 10) * 10); }, max: 100,
        axisLabel: { formatter: "{value}%" } },
      series: [
        { name: l.response, type: "line", data: data.response, connectNulls: true, symbolSize: 6 },
        { name: l.resolution, type: "line", data: data.resolution, connectNulls: true, symbolSize: 6 },
        { name: l.satisfaction, type: "line", data: data.satisfaction, connectNulls: true, symbolSize: 6 },
      ],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function unitsChart(el, data) {
    var chart = echarts.init(el, null, { renderer: "canvas" });
    var many = data.names.length > 8;
    chart.setOption({
      color: ["#b71c1c"],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: function (v) { return number(v); } },
      grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.names, axisLabel: { interval: 0, rotate: many ? 35 : 0 } },
      yAxis: { type: "value", name: data.labels.axis, max: 100 },
      series: [{ name: data.labels.composite, type: "bar", data: data.values, barMaxWidth: 40 }],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function setupCharts() {
    if (typeof echarts === "undefined") return;
    document.querySelectorAll("[data-hotline-chart]").forEach(function (el) {
      var all = readJson(el.dataset.source, null);
      if (!all) return;
      if (el.dataset.hotlineChart === "trend") trendChart(el, all.trend);
      if (el.dataset.hotlineChart === "units") unitsChart(el, all.units);
    });
  }

  function init() {
    setupForms();
    setupCategoryFilters();
    setupSimilar();
    setupFillButtons();
    setupReplyCopy();
    if (typeof L !== "undefined") document.querySelectorAll("[data-pin-map]").forEach(setupPinMap);
    setupCharts();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
