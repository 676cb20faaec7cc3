/* Map labels as text, never HTML. Leaflet's bindTooltip/bindPopup treat a string as HTML, so a name
 * such as <img src=x onerror=…> would become an element. Every map passes them a node built here:
 *
 *   ZhijianText.node("名称")                                  -> <span>名称</span>
 *   ZhijianText.node({ href: url, text: name }, "\n", code)   -> <span><a href=url>name</a><br>code</span>
 *   ZhijianText.node({ tag: "h3", text: t }, { list: ["a", "b"] }, { div: "x" })
 *
 * Strings become text nodes ("\n" a line break); {href, text} a link (http(s) or same-site paths
 * only); {tag, text, cls} an element holding text; {list: [...]} a <ul> of text items; {div: text} a
 * <div>. Load it before the map's own script (no inline script: CSP). */
(function () {
  "use strict";
  var SAFE_TAGS = { span: 1, div: 1, h3: 1, strong: 1, small: 1, p: 1 };
  function safeHref(url) {
    var s = String(url == null ? "" : url);
    return /^(https?:\/\/|\/(?!\/))/i.test(s) ? s : "#";
  }
  function append(parent, part) {
    if (part == null) return;
    if (typeof part === "string" || typeof part === "number") {
      String(part).split("\n").forEach(function (line, i) {
        if (i) parent.appendChild(document.createElement("br"));
        if (line) parent.appendChild(document.createTextNode(line));
      });
    } else if (part.href !== undefined) {
      var a = document.createElement("a");
      a.href = safeHref(part.href);
      a.textContent = String(part.text == null ? "" : part.text);
      parent.appendChild(a);
    } else if (part.list) {
      var ul = document.createElement("ul");
      part.list.forEach(function (item) { var li = document.createElement("li"); append(li, item); ul.appendChild(li); });
      parent.appendChild(ul);
    } else if (part.div !== undefined) {
      var d = document.createElement("div");
      append(d, part.div);
      parent.appendChild(d);
    } else if (part.tag) {
      var el = document.createElement(SAFE_TAGS[part.tag] ? part.tag : "span");
      if (part.cls) el.className = part.cls;
      append(el, part.text);
      parent.appendChild(el);
    }
  }
  function node() {
    var root = document.createElement("span");
    for (var i = 0; i < arguments.length; i++) append(root, arguments[i]);
    return root;
  }
  window.ZhijianText = { node: node };
})();
