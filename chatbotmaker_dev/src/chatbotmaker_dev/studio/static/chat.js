// The chat panel: talk as a user, options as buttons, the user's state and arguments.
"use strict";
(function (Studio) {
  var messages = document.getElementById("messages");
  var options = document.getElementById("options");

  function userId() {
    return document.getElementById("user-id").value || "studio-user";
  }
  Studio.userId = userId;

  function scroll() {
    messages.scrollTop = messages.scrollHeight;
  }

  function addUserMessage(text) {
    messages.appendChild(Studio.el("div", { "class": "msg user", "data-testid": "user-message" }, text));
    scroll();
  }

  function optionButton(option, testid, kind) {
    var button = Studio.el("button", { type: "button", "data-testid": testid, "class": kind }, option.title);
    if (option.url) {
      button.disabled = true;
      button.title = option.url;
      return button;
    }
    button.addEventListener("click", function () {
      send(option.payload || option.title, testid === "quick-reply" ? "quick_reply" : "postback", option.title);
    });
    return button;
  }

  function addReply(reply) {
    var box = Studio.el("div", { "class": "msg bot" });
    box.appendChild(Studio.el("div", { "data-testid": "bot-message" }, reply.text));
    if (reply.buttons.length) {
      var row = Studio.el("div", { "class": "buttons" });
      reply.buttons.forEach(function (b) { row.appendChild(optionButton(b, "bot-button", "button")); });
      box.appendChild(row);
    }
    messages.appendChild(box);
    options.replaceChildren();
    reply.quick_replies.forEach(function (q) { options.appendChild(optionButton(q, "quick-reply", "chip")); });
    scroll();
  }

  // Answers may arrive out of order (the page's first /api/user after a quick /api/say):
  // each request that shows the user takes a ticket, and an answer older than the one shown
  // is dropped, so a stale view never overwrites the state of a later turn.
  var ticketsTaken = 0;
  var ticketShown = 0;
  function ticket() { ticketsTaken += 1; return ticketsTaken; }

  function showUser(view, taken) {
    if (taken !== undefined) {
      if (taken < ticketShown) { return; }
      ticketShown = taken;
    }
    document.getElementById("user-state").textContent = view.state || "";
    document.getElementById("user-args").textContent = JSON.stringify(view.arguments || {});
    Studio.currentState = view.state || null;
    if (Studio.graph) { Studio.graph.highlight(Studio.currentState); }
  }
  Studio.showUser = showUser;

  function send(text, kind, shown) {
    options.replaceChildren();
    addUserMessage(shown === undefined ? text : shown);
    var taken = ticket();
    return Studio.api("POST", "/api/say", { user: userId(), text: text, kind: kind || "text" }).then(function (r) {
      if (!r.ok) {
        messages.appendChild(Studio.el("div", { "class": "msg system" }, r.body.error || "request failed"));
        return;
      }
      Studio.showErrors(r.body.errors);
      r.body.replies.forEach(addReply);
      if (r.body.error) {
        messages.appendChild(Studio.el("div", { "class": "msg system" }, r.body.error));
      }
      showUser(r.body, taken);
      Studio.refreshGraph();
    });
  }
  Studio.send = send;

  function clearChat() {
    messages.replaceChildren();
    options.replaceChildren();
    document.getElementById("tests-output").replaceChildren();
  }

  Studio.loadUser = function () {
    var taken = ticket();
    return Studio.api("GET", "/api/user?user=" + encodeURIComponent(userId())).then(function (r) {
      if (r.ok) { showUser(r.body, taken); }
    });
  };

  document.getElementById("chat-input").addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing) { return; }
    event.preventDefault();
    var text = event.target.value;
    event.target.value = "";
    send(text, "text");
  });

  document.getElementById("reset-user").addEventListener("click", function () {
    var taken = ticket();
    Studio.api("POST", "/api/reset", { user: userId() }).then(function (r) {
      clearChat();
      if (r.ok) { showUser(r.body, taken); }
    });
  });

  document.getElementById("new-user").addEventListener("click", function () {
    document.getElementById("user-id").value = "user-" + Math.random().toString(36).slice(2, 8);
    clearChat();
    Studio.loadUser();
  });

  document.getElementById("user-id").addEventListener("change", function () {
    clearChat();
    Studio.loadUser();
  });

  function output(line, cls) {
    document.getElementById("tests-output").appendChild(Studio.el("div", { "class": cls || "" }, line));
  }

  document.getElementById("save-transcript").addEventListener("click", function () {
    var name = document.getElementById("transcript-name").value;
    Studio.api("POST", "/api/transcript", { user: userId(), name: name }).then(function (r) {
      document.getElementById("tests-output").replaceChildren();
      if (r.ok) {
        output("saved " + r.body.file + " (" + r.body.steps + " steps)", "pass");
      } else {
        output(r.body.error, "fail");
      }
    });
  });

  document.getElementById("run-tests").addEventListener("click", function () {
    Studio.api("POST", "/api/tests", {}).then(function (r) {
      var box = document.getElementById("tests-output");
      box.replaceChildren();
      if (!r.ok) {
        output(r.body.error, "fail");
        return;
      }
      if (!r.body.results.length) { output("no transcripts (*.chat.yaml) found"); }
      r.body.results.forEach(function (result) {
        var item = Studio.el("div", { "data-testid": "test-result", "class": result.passed ? "pass" : "fail" },
          (result.passed ? "PASS " : "FAIL ") + result.name + " (" + result.file + ")");
        if (!result.passed && result.diff) {
          item.appendChild(Studio.el("pre", { "data-testid": "test-diff" }, result.diff));
        }
        box.appendChild(item);
      });
    });
  });
})(window.Studio);
