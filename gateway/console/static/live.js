// The console's live page: rows for the stream's records, newest first, as they happen.
// The page is served with the newest rows already; this only adds what comes after.
// Cells are filled with textContent, so nothing a webhook sent is ever read as HTML.
"use strict";

(function () {
  const KEPT = 200;
  const state = document.getElementById("live-state");
  if (!state || !window.EventSource) {
    return;
  }

  function when(date) {
    return date.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  function cell(row, content) {
    const td = row.insertCell();
    if (content instanceof Node) {
      td.appendChild(content);
    } else {
      td.textContent = content;
    }
  }

  function link(href, label) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = label;
    return a;
  }

  function badge(status) {
    const span = document.createElement("span");
    span.className = "status " + status;
    span.textContent = status.replace(/_/g, " ");
    return span;
  }

  function prepend(tableId, fill) {
    const table = document.getElementById(tableId);
    const body = table.tBodies[0];
    const row = body.insertRow(0);
    fill(row);
    while (body.rows.length > KEPT) {
      body.deleteRow(body.rows.length - 1);
    }
    const empty = table.parentElement.querySelector(".empty");
    if (empty) {
      empty.remove();
    }
  }

  const source = new EventSource(state.dataset.stream);
  source.addEventListener("open", function () {
    state.textContent = "Live: events and attempts appear here as they happen.";
  });
  source.addEventListener("error", function () {
    state.textContent = "Connection lost; reconnecting…";
  });
  source.addEventListener("event", function (message) {
    const e = JSON.parse(message.data);
    const href = "/console/events/" + encodeURIComponent(e.id);
    // The stream may start just before the newest rows the page was served with.
    if (document.querySelector('#live-events a[href="' + CSS.escape(href) + '"]')) {
      return;
    }
    prepend("live-events", function (row) {
      cell(row, link(href, when(new Date(e.received_at))));
      cell(row, e.source);
      cell(row, e.type);
    });
  });
  source.addEventListener("attempt", function (message) {
    const a = JSON.parse(message.data);
    prepend("live-deliveries", function (row) {
      cell(row, link("/console/deliveries/" + encodeURIComponent(a.delivery_id), when(new Date())));
      cell(row, a.target);
      cell(row, badge(a.status));
      cell(row, String(a.number));
    });
  });
})();
