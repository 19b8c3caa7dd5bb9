"use strict";
(function () {
  // Every string from the data is set with textContent: nothing is parsed as HTML.
  var data = JSON.parse(document.getElementById("ureason-data").textContent);
  var PAGE = 50;
  var conds = data.conditions, outcomes = data.outcomes, texts = data.texts;
  var state = { model: "", task: "", condition: "", outcome: "", search: "", page: 0 };
  var filtered = [];

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function uniq(index) {
    var seen = {}, out = [];
    data.rows.forEach(function (r) { if (!seen[r[index]]) { seen[r[index]] = 1; out.push(r[index]); } });
    return out.sort();
  }
  function select(name, label, values) {
    var wrap = el("label", null, label + " ");
    var sel = el("select");
    sel.id = "filter-" + name;
    sel.appendChild(el("option", null, "all")).value = "";
    values.forEach(function (v) { sel.appendChild(el("option", null, v)).value = v; });
    sel.addEventListener("change", function () { state[name] = sel.value; state.page = 0; apply(); });
    wrap.appendChild(sel);
    return wrap;
  }
  function visibleConds() { return state.condition ? [state.condition] : conds; }
  function matches(row) {
    if (state.model && row[0] !== state.model) return false;
    if (state.task && row[1] !== state.task) return false;
    var cells = row[5], shown = visibleConds().filter(function (c) { return cells[c]; });
    if (!shown.length) return false;
    if (state.outcome === "disagree") {
      var passed = shown.map(function (c) { return cells[c][0] === 0; });
      if (passed.every(function (p) { return p === passed[0]; })) return false;
    } else if (state.outcome) {
      var code = outcomes.indexOf(state.outcome);
      if (!shown.some(function (c) { return cells[c][0] === code; })) return false;
    }
    if (state.search) {
      var hay = (row[2] + " " + (row[4] >= 0 ? texts[row[4]] : "")).toLowerCase();
      if (hay.indexOf(state.search.toLowerCase()) < 0) return false;
    }
    return true;
  }
  function frame(cell) {
    var box = el("div", "frame");
    var image = cell[1] >= 0 ? data.images[cell[1]] : null;
    if (!image) { box.appendChild(el("div", "noimg", "no image")); return box; }
    var img = el("img");
    img.loading = "lazy";
    img.alt = "generated image";
    img.src = image[0];
    box.appendChild(img);
    var w = image[1], h = image[2];
    // Boxes of failed verdicts are drawn last, on top.
    cell[5].filter(function (v) { return v[1]; }).concat(cell[5].filter(function (v) { return !v[1]; })).forEach(function (v) {
      v[4].forEach(function (b) {
        var d = el("div", v[1] ? "box" : "box bad");
        d.style.left = (100 * b[0] / w) + "%";
        d.style.top = (100 * b[1] / h) + "%";
        d.style.width = (100 * (b[2] - b[0]) / w) + "%";
        d.style.height = (100 * (b[3] - b[1]) / h) + "%";
        d.title = v[0];
        box.appendChild(d);
      });
    });
    return box;
  }
  function details(summary, body) {
    var d = el("details");
    d.appendChild(el("summary", null, summary));
    d.appendChild(el("pre", null, body));
    return d;
  }
  function renderCell(cond, cell) {
    var c = el("div", "cell");
    c.dataset.condition = cond;
    var head = el("div", null);
    head.appendChild(el("span", "cond", cond));
    if (!cell) { head.appendChild(el("span", "badge o-skipped", "not run")); c.appendChild(head); return c; }
    var outcome = outcomes[cell[0]];
    c.dataset.outcome = outcome;
    head.appendChild(el("span", "badge o-" + outcome, outcome));
    c.appendChild(head);
    c.appendChild(frame(cell));
    if (cell[2]) c.appendChild(el("div", "reason", cell[2].length > 240 ? cell[2].slice(0, 237) + "..." : cell[2]));
    if (cell[6]) c.appendChild(details("answer", cell[6]));
    if (cell[3] >= 0) c.appendChild(details("reasoning", texts[cell[3]]));
    if (cell[4] >= 0) c.appendChild(details("prompt drawn", texts[cell[4]]));
    if (cell[5].length) {
      var v = el("details");
      v.appendChild(el("summary", null, "verdicts (" + cell[5].length + ")"));
      cell[5].forEach(function (x) {
        var line = el("div", "verdict " + (x[1] ? "ok" : "no"), x[0] + " [" + x[3] + "]: " + x[2]);
        v.appendChild(line);
        if (x[5]) v.appendChild(el("pre", null, x[5]));
      });
      c.appendChild(v);
    }
    return c;
  }
  function renderRow(row) {
    var r = el("div", "row");
    r.dataset.task = row[1];
    var head = el("div", "row-head", row[0] + " \u00b7 " + row[1] + "/" + row[2] + " \u00b7 seed " + row[3]);
    if (row[4] >= 0) head.appendChild(el("span", "prompt", texts[row[4]]));
    r.appendChild(head);
    var cells = el("div", "cells");
    visibleConds().forEach(function (c) { cells.appendChild(renderCell(c, row[5][c])); });
    r.appendChild(cells);
    return r;
  }
  function pager() {
    var p = document.getElementById("pager");
    p.textContent = "";
    var pages = Math.max(1, Math.ceil(filtered.length / PAGE));
    var prev = el("button", null, "\u2190 previous"), next = el("button", null, "next \u2192");
    prev.id = "page-prev"; next.id = "page-next";
    prev.disabled = state.page === 0; next.disabled = state.page >= pages - 1;
    prev.addEventListener("click", function () { state.page--; render(); });
    next.addEventListener("click", function () { state.page++; render(); });
    var info = el("span", null, filtered.length + " rows \u00b7 page " + (state.page + 1) + " of " + pages);
    info.id = "page-info";
    p.dataset.rows = String(filtered.length);
    p.appendChild(prev); p.appendChild(info); p.appendChild(next);
  }
  function render() {
    pager();
    var box = document.getElementById("rows");
    box.textContent = "";
    var frag = document.createDocumentFragment();
    filtered.slice(state.page * PAGE, (state.page + 1) * PAGE).forEach(function (row) {
      frag.appendChild(renderRow(row));
    });
    box.appendChild(frag);
  }
  function apply() { filtered = data.rows.filter(matches); render(); }

  var controls = document.getElementById("controls");
  controls.appendChild(select("model", "model", uniq(0)));
  controls.appendChild(select("task", "task", uniq(1)));
  controls.appendChild(select("condition", "condition", conds));
  controls.appendChild(select("outcome", "outcome", outcomes.concat(["disagree"])));
  var search = el("input");
  search.id = "filter-search";
  search.placeholder = "instance or prompt";
  search.addEventListener("input", function () { state.search = search.value; state.page = 0; apply(); });
  var sl = el("label", null, "search ");
  sl.appendChild(search);
  controls.appendChild(sl);
  if (data.missing_images) controls.appendChild(el("span", "meta", data.missing_images + " images could not be read"));
  apply();
})();
