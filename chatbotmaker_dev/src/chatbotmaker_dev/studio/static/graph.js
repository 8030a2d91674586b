// The diagram: the server lays the graph out (grandalf); here it is only drawn as SVG.
"use strict";
(function (Studio) {
  var SVG = "http://www.w3.org/2000/svg";
  var box = document.getElementById("flow-graph");

  function svg(tag, attributes, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function pathOf(points) {
    return points.map(function (p, i) { return (i ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1); }).join(" ");
  }

  function draw(data) {
    var layout = data.layout;
    var root = svg("svg", {
      width: layout.width, height: layout.height, viewBox: "0 0 " + layout.width + " " + layout.height,
      role: "img", "aria-label": "state diagram"
    });
    var defs = svg("defs");
    var marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
    marker.appendChild(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", "class": "arrow-head" }));
    defs.appendChild(marker);
    root.appendChild(defs);
    var boxes = {};
    layout.states.forEach(function (s) { boxes[s.name] = s; });
    layout.edges.forEach(function (e) {
      var group = svg("g", { "class": "edge", "data-source": e.source, "data-target": e.target });
      var points = e.points;
      if (!points.length) {  // a self-loop, on the box's right side
        var b = boxes[e.source];
        var x = b.x + b.w, y = b.y + b.h / 2;
        group.appendChild(svg("path", { d: "M" + x + " " + (y - 8) + " C" + (x + 34) + " " + (y - 26) + " " + (x + 34) + " " + (y + 26) + " " + x + " " + (y + 8), "class": "edge-line", "marker-end": "url(#arrow)" }));
        if (e.label) { group.appendChild(svg("text", { x: x + 36, y: y + 4, "class": "edge-label" }, e.label)); }
      } else {
        group.appendChild(svg("path", { d: pathOf(points), "class": "edge-line", "marker-end": "url(#arrow)" }));
        if (e.label) {
          var middle = points[Math.floor((points.length - 1) / 2)], next = points[Math.floor((points.length - 1) / 2) + 1] || middle;
          group.appendChild(svg("text", { x: (middle[0] + next[0]) / 2 + 4, y: (middle[1] + next[1]) / 2, "class": "edge-label" }, e.label));
        }
      }
      root.appendChild(group);
    });
    layout.states.forEach(function (s) {
      var classes = ["state"];
      if (s.start) { classes.push("start"); }
      if (s.end) { classes.push("end"); }
      if (s.dynamic) { classes.push("dynamic"); }
      if (!s.known) { classes.push("unknown"); }
      var group = svg("g", { "class": classes.join(" "), "data-state": s.name, tabindex: "0" });
      group.appendChild(svg("rect", { x: s.x, y: s.y, width: s.w, height: s.h, rx: 8, ry: 8 }));
      group.appendChild(svg("text", { x: s.x + s.w / 2, y: s.y + s.h / 2 + 4, "text-anchor": "middle" }, s.name));
      var count = (data.counts || {})[s.name];
      if (count !== undefined) {
        group.appendChild(svg("text", { x: s.x + s.w - 4, y: s.y - 3, "text-anchor": "end", "class": "count", "data-testid": "state-count" }, String(count)));
      }
      if (data.where && data.where[s.name]) { group.appendChild(svg("title", {}, data.where[s.name])); }
      if (s.known && !s.dynamic) {
        group.addEventListener("click", function () { Studio.editor.open(s.name); });
        group.addEventListener("keydown", function (event) { if (event.key === "Enter") { Studio.editor.open(s.name); } });
      }
      root.appendChild(group);
    });
    box.replaceChildren(root);
    highlight(data.current);
    var list = document.getElementById("findings");
    list.replaceChildren();
    (data.findings || []).forEach(function (f) {
      list.appendChild(Studio.el("li", { "class": f.level }, f.level + ": " + f.message));
    });
  }

  function highlight(name) {
    box.querySelectorAll("g.state").forEach(function (g) {
      g.classList.toggle("current", name !== null && g.getAttribute("data-state") === name);
    });
  }

  Studio.graph = { highlight: highlight };

  // Like the user's view (chat.js): a diagram answer older than the one drawn is dropped.
  var graphsAsked = 0;
  var graphDrawn = 0;
  Studio.refreshGraph = function () {
    graphsAsked += 1;
    var taken = graphsAsked;
    return Studio.api("GET", "/api/graph?user=" + encodeURIComponent(Studio.userId())).then(function (r) {
      if (!r.ok || taken < graphDrawn) { return; }
      graphDrawn = taken;
      Studio.showErrors(r.body.errors);
      if (r.body.layout) {
        draw(r.body);
      } else {
        box.replaceChildren(Studio.el("p", { "class": "muted" }, "No diagram: the rules do not load (see the errors above)."));
      }
    });
  };
})(window.Studio);
