/* Pickers by name (zhijian/geo/widgets.py). Without JavaScript the widgets are a plain select
 * (divisions) or checkboxes (names) and still submit the right value.
 *
 * [data-picker=division]: the select is hidden behind a search box; typing asks
 *   data-search-url&q=… for divisions by name and shows each with its path; choosing one selects
 *   its code in the (hidden) select, so the form submits the code.
 * [data-picker=names]: a filter box over long checkbox lists (people, business lines, industries). */
(function () {
  "use strict";
  function division(root) {
    var select = root.querySelector("select");
    if (!select || root._picker) return;
    root._picker = true;
    var input = document.createElement("input");
    input.type = "search";
    input.className = "picker-search";
    input.placeholder = root.getAttribute("data-placeholder") || "";
    input.setAttribute("autocomplete", "off");
    input.setAttribute("aria-label", select.getAttribute("aria-label") || input.placeholder);
    var path = document.createElement("div");
    path.className = "picker-path";
    var chosen = select.options[select.selectedIndex];
    path.textContent = root.getAttribute("data-path") || (chosen && chosen.value ? chosen.textContent : "");
    var list = document.createElement("ul");
    list.className = "picker-results";
    list.hidden = true;
    select.hidden = true;
    root.insertBefore(input, select);
    root.insertBefore(path, select);
    root.insertBefore(list, select);
    var timer = null, pending = null;

    function choose(r) {
      var opt = Array.prototype.find.call(select.options, function (o) { return o.value === r.code; });
      if (!opt) { opt = document.createElement("option"); opt.value = r.code; select.appendChild(opt); }
      opt.textContent = r.path;
      select.value = r.code;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      path.textContent = r.path;
      input.value = "";
      list.hidden = true;
    }
    function search() {
      var q = input.value.trim();
      if (pending) pending.abort();
      pending = new AbortController();
      var url = root.getAttribute("data-search-url");
      fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(q), { credentials: "same-origin", signal: pending.signal })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          list.textContent = "";
          (d.results || []).forEach(function (r) {
            var li = document.createElement("li");
            li.textContent = r.path;
            var small = document.createElement("small");
            small.textContent = r.level_display;
            li.appendChild(small);
            li.setAttribute("data-code", r.code);
            li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(r); });
            list.appendChild(li);
          });
          if (!(d.results || []).length) {
            var none = document.createElement("li");
            none.textContent = root.getAttribute("data-empty") || "—";
            list.appendChild(none);
          }
          list.hidden = false;
        })
        .catch(function () {});
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 200); });
    input.addEventListener("focus", function () { if (!input.value) search(); });
    input.addEventListener("blur", function () { setTimeout(function () { list.hidden = true; }, 150); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        e.preventDefault();
        var first = list.querySelector("li[data-code]");
        if (first) first.dispatchEvent(new MouseEvent("mousedown"));
      } else if (e.key === "Escape") { list.hidden = true; }
    });
  }

  function names(root) {
    if (root._picker) return;
    root._picker = true;
    var boxes = root.querySelectorAll("input[type=checkbox]");
    if (boxes.length <= 8) return;
    var input = document.createElement("input");
    input.type = "search";
    input.className = "picker-filter";
    input.placeholder = root.getAttribute("data-placeholder") || "";
    input.setAttribute("aria-label", input.placeholder);
    root.insertBefore(input, root.firstChild);
    input.addEventListener("input", function () {
      var q = input.value.trim();
      boxes.forEach(function (b) {
        var label = b.closest("label") || b.parentNode;
        var item = label.parentNode && label.parentNode.tagName === "DIV" && label.parentNode !== root ? label.parentNode : label;
        item.hidden = !!q && label.textContent.indexOf(q) < 0 && !b.checked;
      });
    });
  }

  function init(scope) {
    (scope || document).querySelectorAll("[data-picker=division]").forEach(division);
    (scope || document).querySelectorAll("[data-picker=names]").forEach(names);
  }
  window.ZhijianPicker = { init: init };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { init(); });
  else init();
  document.addEventListener("htmx:afterSettle", function (e) { init(e.target); });
})();
