// The flow editor: states as forms. The form edits a plain model; saving sends it whole and
// the server writes only what changed (comments and order kept), or answers with errors that
// are shown next to their fields.
"use strict";
(function (Studio) {
  var form = document.getElementById("state-form");
  var status = document.getElementById("editor-status");
  var state = null;      // the model of the open state
  var states = [];       // every state name, for the "go" choices
  var editable = false;

  function el(tag, attributes, text) { return Studio.el(tag, attributes, text); }
  function split(text) { return text.split(",").map(function (t) { return t.trim(); }).filter(Boolean); }

  function setStatus(text, cls) {
    status.replaceChildren(el("div", { "class": cls || "" }, text));
  }

  function input(field, value, onChange, attributes) {
    var node = el("input", Object.assign({ "data-field": field, value: value || "" }, attributes || {}));
    node.value = value || "";
    node.disabled = !editable;
    node.addEventListener("input", function () { onChange(node.value); });
    return node;
  }

  function labelled(text, control) {
    var label = el("label", { "class": "row" });
    label.appendChild(el("span", { "class": "label" }, text));
    label.appendChild(control);
    return label;
  }

  function goSelect(field, value, onChange) {
    var select = el("select", { "data-field": field });
    select.disabled = !editable;
    select.appendChild(el("option", { value: "" }, "(stay)"));
    states.forEach(function (name) { select.appendChild(el("option", { value: name }, name)); });
    if (value && states.indexOf(value) < 0) { select.appendChild(el("option", { value: value }, value)); }
    select.value = value || "";
    select.addEventListener("change", function () { onChange(select.value); });
    return select;
  }

  function emptyBlock() { return { say: [], quick_replies: [], buttons: [], store: [], go: "", call: null }; }

  function blockFields(container, block, prefix, withGo) {
    var says = el("div", { "class": "says", "data-field": prefix + "say" });
    says.appendChild(el("span", { "class": "label" }, "Messages"));
    block.say.forEach(function (text, i) {
      var area = el("textarea", { "data-field": prefix + "say." + i, rows: "2" });
      area.value = text;
      area.disabled = !editable;
      area.addEventListener("input", function () { block.say[i] = area.value; });
      says.appendChild(area);
    });
    if (editable) {
      var add = el("button", { type: "button", "class": "small", "data-testid": "add-message" }, "+ message");
      add.addEventListener("click", function () { block.say.push(""); render(); });
      says.appendChild(add);
    }
    container.appendChild(says);
    container.appendChild(labelled("Quick replies (comma separated)", input(prefix + "quick_replies", block.quick_replies.join(", "), function (v) { block.quick_replies = split(v); })));
    container.appendChild(labelled("Buttons (comma separated)", input(prefix + "buttons", block.buttons.join(", "), function (v) { block.buttons = split(v); })));
    var store = el("div", { "class": "store", "data-field": prefix + "store" });
    store.appendChild(el("span", { "class": "label" }, "Store arguments"));
    block.store.forEach(function (entry) {
      var row = el("div", { "class": "store-row" });
      row.appendChild(input(prefix + "store.name." + entry.name, entry.name, function (v) { entry.name = v; }, { placeholder: "name", size: "10" }));
      row.appendChild(el("span", {}, " = "));
      row.appendChild(input(prefix + "store." + entry.name, entry.value, function (v) { entry.value = v; }, { placeholder: "value or {{ input }} (empty: forget)" }));
      store.appendChild(row);
    });
    if (editable) {
      var addStore = el("button", { type: "button", "class": "small" }, "+ argument");
      addStore.addEventListener("click", function () { block.store.push({ name: "", value: "" }); render(); });
      store.appendChild(addStore);
    }
    container.appendChild(store);
    if (block.call) { container.appendChild(labelled("Calls (Python)", el("code", { "data-field": prefix + "call" }, block.call))); }
    if (withGo) { container.appendChild(labelled("Then go to", goSelect(prefix + "go", block.go, function (v) { block.go = v; }))); }
  }

  var SECTIONS = [
    ["enter", "On entering the state", true],
    ["prompt", "After each message in this state (prompt)", false],
    ["leave", "On leaving the state", false]
  ];

  function sectionBox(key, title, withGo) {
    var box = el("fieldset", { "class": "block", "data-field": key });
    var legend = el("legend");
    var toggle = el("input", { type: "checkbox", "data-testid": "use-" + key });
    toggle.checked = state[key] !== null;
    toggle.disabled = !editable;
    toggle.addEventListener("change", function () { state[key] = toggle.checked ? emptyBlock() : null; render(); });
    legend.appendChild(toggle);
    legend.appendChild(document.createTextNode(" " + title));
    box.appendChild(legend);
    if (state[key] !== null) { blockFields(box, state[key], key + ".", withGo); }
    return box;
  }

  function routeBox(route, i) {
    var box = el("fieldset", { "class": "route", "data-field": "routes." + i, "data-testid": "route" });
    box.appendChild(el("legend", {}, "Route " + (i + 1)));
    var kind = el("select", { "data-field": "routes." + i + ".kind" });
    [["match", "when the text is"], ["regex", "when the text matches the regex"], ["any", "otherwise (catch-all)"]].forEach(function (k) {
      kind.appendChild(el("option", { value: k[0] }, k[1]));
    });
    kind.value = route.kind;
    kind.disabled = !editable;
    kind.addEventListener("change", function () { route.kind = kind.value; render(); });
    box.appendChild(labelled("Condition", kind));
    if (route.kind === "match") {
      box.appendChild(labelled("Texts (comma separated)", input("routes." + i + ".match", route.match.join(", "), function (v) { route.match = split(v); })));
    } else if (route.kind === "regex") {
      box.appendChild(labelled("Regex", input("routes." + i + ".regex", route.regex, function (v) { route.regex = v; })));
    }
    blockFields(box, route, "routes." + i + ".", true);
    if (editable) {
      var remove = el("button", { type: "button", "class": "small danger" }, "remove route");
      remove.addEventListener("click", function () { state.routes.splice(i, 1); render(); });
      box.appendChild(remove);
      if (i > 0) {
        var up = el("button", { type: "button", "class": "small" }, "move up");
        up.addEventListener("click", function () { var r = state.routes.splice(i, 1)[0]; state.routes.splice(i - 1, 0, r); render(); });
        box.appendChild(up);
      }
    }
    return box;
  }

  function render() {
    form.replaceChildren();
    form.hidden = false;
    var head = el("div", { "class": "state-head" });
    var name = input("name", state.name, function (v) { state.newName = v; }, { "data-testid": "state-name" });
    head.appendChild(labelled("State", name));
    if (editable) {
      var rename = el("button", { type: "button", "data-testid": "rename-state" }, "Rename");
      rename.addEventListener("click", renameState);
      head.appendChild(rename);
      var remove = el("button", { type: "button", "class": "danger", "data-testid": "delete-state" }, "Delete…");
      remove.addEventListener("click", deleteState);
      head.appendChild(remove);
    }
    form.appendChild(head);
    var end = el("input", { type: "checkbox", "data-field": "end" });
    end.checked = state.end;
    end.disabled = !editable;
    end.addEventListener("change", function () { state.end = end.checked; });
    form.appendChild(labelled("The conversation may end here", end));
    SECTIONS.forEach(function (s) { form.appendChild(sectionBox(s[0], s[1], s[2])); });
    var routes = el("div", { "class": "routes", "data-field": "routes" });
    routes.appendChild(el("h3", {}, "Routes: the first that matches the message runs"));
    state.routes.forEach(function (route, i) { routes.appendChild(routeBox(route, i)); });
    if (editable) {
      var addRoute = el("button", { type: "button", "class": "small", "data-testid": "add-route" }, "+ route");
      addRoute.addEventListener("click", function () {
        state.routes.push(Object.assign(emptyBlock(), { kind: "any", match: [], regex: "", index: null }));
        render();
      });
      routes.appendChild(addRoute);
    }
    form.appendChild(routes);
    if (editable) {
      var save = el("button", { type: "submit", "class": "primary", "data-testid": "save-state" }, "Save");
      form.appendChild(save);
    }
  }

  function placeErrors(errors) {
    form.querySelectorAll(".field-error").forEach(function (n) { n.remove(); });
    var elsewhere = [];
    errors.forEach(function (error) {
      var field = error.field;
      var target = null;
      while (field && (error.state === null || error.state === state.name || error.field === "name")) {
        target = form.querySelector('[data-field="' + CSS.escape(field) + '"]');
        if (target) { break; }
        field = field.indexOf(".") < 0 ? null : field.slice(0, field.lastIndexOf("."));
      }
      if (target) {
        target.insertAdjacentElement("afterend", el("div", { "class": "field-error", "data-testid": "field-error" }, error.message));
      } else {
        elsewhere.push(error.message);
      }
    });
    status.replaceChildren();
    elsewhere.forEach(function (m) { status.appendChild(el("div", { "class": "field-error", "data-testid": "field-error" }, m)); });
  }

  function afterWrite(r, message) {
    if (r.ok) {
      setStatus(message, "saved");
      Studio.refreshGraph();
      return Studio.editor.load();
    }
    placeErrors(r.body.errors || [{ state: null, field: null, message: r.body.error }]);
    return null;
  }

  function url(name) { return "/api/flow/states/" + encodeURIComponent(name); }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var name = state.name;
    Studio.api("PUT", url(name), state).then(function (r) {
      var done = afterWrite(r, "saved state " + name);
      if (done) { done.then(function () { Studio.editor.open(name, true); }); }
    });
  });

  function renameState() {
    var to = (state.newName || "").trim();
    var from = state.name;
    if (!to || to === from) { placeErrors([{ state: from, field: "name", message: "type the new name in the State field first" }]); return; }
    Studio.api("POST", url(from) + "/rename", { to: to }).then(function (r) {
      var done = afterWrite(r, "renamed " + from + " to " + to);
      if (done) { done.then(function () { Studio.editor.open(to, true); }); }
    });
  }

  function deleteState() {
    var name = state.name;
    Studio.api("GET", url(name) + "/references").then(function (r) {
      if (!r.ok) { setStatus(r.body.error, "field-error"); return; }
      if (r.body.references.length) {
        status.replaceChildren(el("div", { "class": "field-error", "data-testid": "references" },
          "Cannot delete " + name + ": used by " + r.body.references.join("; ") + ". Change those first."));
        return;
      }
      status.replaceChildren(el("span", {}, "Nothing leads to " + name + ". "));
      var really = el("button", { type: "button", "class": "danger", "data-testid": "confirm-delete" }, "Delete " + name);
      really.addEventListener("click", function () {
        Studio.api("DELETE", url(name)).then(function (d) {
          var done = afterWrite(d, "deleted state " + name);
          if (done) { form.hidden = true; state = null; }
        });
      });
      status.appendChild(really);
    });
  }

  function renderList(names) {
    var list = document.getElementById("state-list");
    list.replaceChildren();
    names.forEach(function (name) {
      var item = el("li");
      var link = el("button", { type: "button", "class": "link", "data-testid": "state-link", "data-state": name }, name);
      link.addEventListener("click", function () { Studio.editor.open(name); });
      item.appendChild(link);
      list.appendChild(item);
    });
  }

  Studio.editor = {
    load: function () {
      return Studio.api("GET", "/api/flow").then(function (r) {
        var note = document.getElementById("editor-note");
        editable = !!r.body.editable;
        states = r.body.states || [];
        renderList(states);
        document.getElementById("add-state-box").hidden = !editable;
        if (r.body.kind === "python") {
          note.textContent = "Python rules: shown read-only (edit them in your code editor).";
        } else if (!editable) {
          note.textContent = "The flow file cannot be edited until it is valid YAML again.";
        } else {
          note.textContent = "Editing " + r.body.file + " (start: " + (r.body.start || "welcome") + ")";
        }
      });
    },
    open: function (name, keepStatus) {
      if (!keepStatus) { status.replaceChildren(); }
      if (!editable) {
        form.hidden = true;
        setStatus("State " + name + " (read-only: Python rules)");
        return Promise.resolve();
      }
      return Studio.api("GET", url(name)).then(function (r) {
        if (!r.ok) { setStatus(r.body.error, "field-error"); return; }
        state = r.body;
        state.newName = state.name;
        render();
        form.scrollIntoView({ block: "nearest" });
      });
    }
  };

  document.getElementById("add-state").addEventListener("click", function () {
    var name = document.getElementById("new-state-name").value.trim();
    Studio.api("POST", "/api/flow/states", { name: name }).then(function (r) {
      if (!r.ok) { placeErrors(r.body.errors || [{ field: null, message: r.body.error }]); return; }
      document.getElementById("new-state-name").value = "";
      var done = afterWrite(r, "added state " + name);
      if (done) { done.then(function () { Studio.editor.open(name, true); }); }
    });
  });
})(window.Studio);
