// Starts the page; the server reloads changed rule files on each request, and the page asks
// again when it regains focus (the new diagram, or the errors of a broken file).
"use strict";
(function (Studio) {
  var userField = document.getElementById("user-id");
  if (!userField.value) { userField.value = "studio-user"; }
  Studio.api("GET", "/api/project").then(function (r) {
    if (!r.ok) { Studio.showErrors([r.body.error]); return; }
    document.getElementById("project-name").textContent = r.body.config + " · " + r.body.kind + (r.body.flow_file ? " · " + r.body.flow_file : "");
    Studio.showErrors(r.body.errors);
  });
  Studio.editor.load();
  Studio.loadUser().then(Studio.refreshGraph);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { Studio.refreshGraph(); Studio.editor.load(); }
  });
  window.addEventListener("focus", function () { Studio.refreshGraph(); Studio.editor.load(); });
})(window.Studio);
