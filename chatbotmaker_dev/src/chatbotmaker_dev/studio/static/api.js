// The studio's client for its JSON API: every state-changing request carries the CSRF token.
"use strict";
var Studio = window.Studio || {};
window.Studio = Studio;

Studio.csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");

Studio.api = function (method, url, data) {
  var options = { method: method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") {
    options.headers["X-CSRF-Token"] = Studio.csrf;
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(data || {});
  }
  return fetch(url, options).then(function (response) {
    return response.json().then(function (body) {
      return { status: response.status, ok: response.ok, body: body };
    });
  });
};

// Builds an element; text is always set with textContent (never parsed as HTML).
Studio.el = function (tag, attributes, text) {
  var node = document.createElement(tag);
  Object.keys(attributes || {}).forEach(function (key) {
    node.setAttribute(key, attributes[key]);
  });
  if (text !== undefined && text !== null) {
    node.textContent = text;
  }
  return node;
};

Studio.showErrors = function (lines) {
  var box = document.getElementById("flow-errors");
  box.replaceChildren();
  (lines || []).forEach(function (line) {
    box.appendChild(Studio.el("div", { "class": "error-line" }, line));
  });
  box.hidden = !lines || lines.length === 0;
};
