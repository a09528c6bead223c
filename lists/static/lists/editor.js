/* The list editor: OR groups of AND filters over HubSpot's filterBranch JSON, a live preview,
 * rename in place and the processing status. Plain JavaScript, no build: the state *is* the
 * filterBranch JSON kept in the form's textarea, so the page saves exactly what it shows and
 * anything the editor cannot draw (nested branches) is kept untouched.
 *
 * The operator menus come from the page's config (the engine's own catalogue, labels included);
 * every other string goes through Django's JavaScript catalog (gettext, ngettext, interpolate),
 * loaded before this script.
 */
(function () {
  "use strict";

  var PREVIEW_DELAY_MS = 400;

  var config, schemaByName, operatorLabels, textarea, state, savedJson;
  var previewSeq = 0, previewTimer = null, previewAbort = null;

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function formatCount(count) {
    return Number(count).toLocaleString();
  }

  function h(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else if (key === "value") node.value = value;
      else if (key === "checked" || key === "selected" || key === "multiple") node[key] = !!value;
      else node.setAttribute(key, value === true ? "" : value);
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function postJSON(url, body, signal) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(body),
      signal: signal
    }).then(function (response) {
      return response.json().then(
        function (data) { return { status: response.status, data: data }; },
        function () { return { status: response.status, data: null }; }
      );
    });
  }

  function emptyRoot() {
    return { filterBranchType: "OR", filters: [], filterBranches: [] };
  }

  function opKey(operation) {
    return operation ? operation.operationType + ":" + operation.operator : "";
  }

  // --- the operator catalogue (config.operators) ---------------------------------------------

  // "KIND:OPERATOR" -> its label, for every operator the engine accepts.
  function indexOperators() {
    operatorLabels = {};
    Object.keys(config.operators.byOperationType).forEach(function (kind) {
      config.operators.byOperationType[kind].forEach(function (choice) {
        operatorLabels[kind + ":" + choice.operator] = choice.label;
      });
    });
  }

  // The "KIND:OPERATOR" keys a filter on this property offers, in menu order.
  function operatorKeys(prop) {
    var catalogue = config.operators;
    var kinds = (prop && catalogue.byPropertyType[prop.type]) || catalogue.anyPropertyType;
    var keys = [];
    kinds.forEach(function (kind) {
      catalogue.byOperationType[kind].forEach(function (choice) { keys.push(kind + ":" + choice.operator); });
    });
    return keys;
  }

  // --- state <-> textarea ----------------------------------------------------------------

  function readTextarea() {
    try {
      var parsed = JSON.parse(textarea.value || "null");
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        if (!Array.isArray(parsed.filterBranches)) parsed.filterBranches = [];
        if (!Array.isArray(parsed.filters)) parsed.filters = [];
        return parsed;
      }
      return parsed === null ? emptyRoot() : null;
    } catch (e) {
      return null;
    }
  }

  function changed(rerender) {
    textarea.value = JSON.stringify(state, null, 2);
    if (rerender) render();
    schedulePreview();
  }

  // --- a new filter -------------------------------------------------------------------------

  function newPropertyFilter(prop) {
    var key = operatorKeys(prop)[0];
    var filter = { filterType: "PROPERTY", property: prop.name, operation: null };
    filter.operation = operationFor(key, null);
    return filter;
  }

  function newListFilter() {
    var other = config.lists[0];
    return { filterType: "IN_LIST", listId: other ? other.id : "", operator: "IN_LIST" };
  }

  // Switching operator keeps whatever value still fits the new one.
  function operationFor(key, previous) {
    var parts = key.split(":");
    var op = { operationType: parts[0], operator: parts[1], includeObjectsWithNoValueSet: false };
    if (previous && typeof previous.includeObjectsWithNoValueSet === "boolean") {
      op.includeObjectsWithNoValueSet = previous.includeObjectsWithNoValueSet;
    }
    var prev = previous || {};
    switch (op.operationType) {
      case "STRING":
        op.value = typeof prev.value === "string" ? prev.value : (prev.values && prev.values[0]) || "";
        break;
      case "MULTISTRING":
      case "ENUMERATION":
        op.values = Array.isArray(prev.values) ? prev.values.slice() : (typeof prev.value === "string" && prev.value ? [prev.value] : []);
        break;
      case "NUMBER":
        op.value = typeof prev.value === "number" ? prev.value : "";
        break;
      case "NUMBER_RANGED":
        op.lowerBound = typeof prev.lowerBound === "number" ? prev.lowerBound : "";
        op.upperBound = typeof prev.upperBound === "number" ? prev.upperBound : "";
        break;
      case "BOOL":
        op.value = typeof prev.value === "boolean" ? prev.value : true;
        break;
      case "DATETIME":
        op.timestamp = typeof prev.timestamp === "number" ? prev.timestamp : "";
        op.requiresTimeZoneConversion = false;
        break;
      case "ROLLING_DATE_RANGE":
        op.numberOfDays = typeof prev.numberOfDays === "number" ? prev.numberOfDays : 30;
        op.requiresTimeZoneConversion = false;
        break;
      case "ALL_PROPERTY":
        op.includeObjectsWithNoValueSet = false;
        break;
    }
    return op;
  }

  // --- the property picker ----------------------------------------------------------------

  var picker = null;

  function closePicker() {
    if (picker) {
      picker.remove();
      picker = null;
      document.removeEventListener("mousedown", outsidePicker, true);
    }
  }

  function outsidePicker(event) {
    if (picker && !picker.contains(event.target)) closePicker();
  }

  function openPicker(anchor, onPick) {
    closePicker();
    var searchLabel = gettext("Search properties");
    var search = h("input", { type: "search", class: "lp-search", placeholder: searchLabel, "aria-label": searchLabel });
    var results = h("ul", { class: "lp-results", role: "listbox" });
    picker = h("div", { class: "lp-picker", role: "dialog" }, search, results);

    function choose(item) {
      closePicker();
      onPick(item);
    }

    function draw() {
      var query = search.value.trim().toLowerCase();
      results.textContent = "";
      var first = null;
      var listItem = { kind: "list" };
      var listMembership = gettext("List membership");
      if (!query || listMembership.toLowerCase().indexOf(query) >= 0) {
        results.appendChild(h("li", { class: "lp-heading", text: listMembership }));
        var li = h("li", { class: "lp-option lp-option-list", role: "option", tabindex: "-1", text: listMembership, onclick: function () { choose(listItem); } });
        results.appendChild(li);
        first = first || listItem;
      }
      var matches = config.schema.filter(function (prop) {
        return !query || prop.label.toLowerCase().indexOf(query) >= 0 || prop.name.toLowerCase().indexOf(query) >= 0;
      });
      if (matches.length) results.appendChild(h("li", { class: "lp-heading", text: gettext("Contact properties") }));
      matches.slice(0, 300).forEach(function (prop) {
        var item = { kind: "property", prop: prop };
        first = first || item;
        results.appendChild(
          h("li", { class: "lp-option", role: "option", tabindex: "-1", "data-property": prop.name, onclick: function () { choose(item); } },
            h("span", { class: "lp-label", text: prop.label }),
            h("span", { class: "lp-meta", text: prop.name + " · " + (config.typeLabels[prop.type] || prop.type) }))
        );
      });
      if (!first) results.appendChild(h("li", { class: "lp-empty", text: gettext("No property matches.") }));
      picker.firstMatch = first;
    }

    search.addEventListener("input", draw);
    search.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); closePicker(); anchor.focus(); }
      if (event.key === "Enter") { event.preventDefault(); if (picker.firstMatch) choose(picker.firstMatch); }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        var first = results.querySelector(".lp-option");
        if (first) first.focus();
      }
    });
    // Arrow keys walk the options, Enter picks one, Escape goes back to the search box.
    results.addEventListener("keydown", function (event) {
      var current = event.target.closest(".lp-option");
      if (!current) return;
      var options = Array.prototype.slice.call(results.querySelectorAll(".lp-option"));
      var index = options.indexOf(current);
      if (event.key === "ArrowDown" && index < options.length - 1) { event.preventDefault(); options[index + 1].focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (index > 0 ? options[index - 1] : search).focus(); }
      if (event.key === "Enter") { event.preventDefault(); current.click(); }
      if (event.key === "Escape") { event.preventDefault(); search.focus(); }
    });
    draw();
    anchor.insertAdjacentElement("afterend", picker);
    search.focus();
    document.addEventListener("mousedown", outsidePicker, true);
  }

  function filterFromPick(item) {
    return item.kind === "list" ? newListFilter() : newPropertyFilter(item.prop);
  }

  // --- rendering --------------------------------------------------------------------------

  function valueInputs(filter, prop, onInput) {
    var op = filter.operation || {};
    var type = op.operationType;
    var wrap = h("span", { class: "lf-value" });

    function numberInput(field, label) {
      var input = h("input", { type: "number", step: "any", class: "vIntegerField", "aria-label": label || gettext("Value"), value: op[field] === "" || op[field] === undefined ? "" : String(op[field]) });
      input.addEventListener("input", function () {
        var parsed = input.value === "" ? "" : Number(input.value);
        op[field] = input.value !== "" && isFinite(parsed) ? parsed : input.value;
        onInput();
      });
      return input;
    }

    if (type === "STRING") {
      var text = h("input", { type: "text", class: "vTextField", "aria-label": gettext("Value"), value: op.value || "" });
      text.addEventListener("input", function () { op.value = text.value; onInput(); });
      wrap.appendChild(text);
    } else if (type === "MULTISTRING") {
      var perLine = gettext("One value per line");
      var area = h("textarea", { rows: "3", class: "lf-values", placeholder: perLine, "aria-label": perLine });
      area.value = (op.values || []).join("\n");
      area.addEventListener("input", function () {
        op.values = area.value.split("\n").map(function (v) { return v.trim(); }).filter(Boolean);
        onInput();
      });
      wrap.appendChild(area);
    } else if (type === "NUMBER") {
      wrap.appendChild(numberInput("value"));
    } else if (type === "NUMBER_RANGED") {
      wrap.appendChild(numberInput("lowerBound", gettext("From")));
      wrap.appendChild(h("span", { class: "lf-between", text: " " + gettext("and") + " " }));
      wrap.appendChild(numberInput("upperBound", gettext("To")));
    } else if (type === "BOOL") {
      var select = h("select", { "aria-label": gettext("Value") },
        h("option", { value: "true", text: gettext("Yes"), selected: op.value === true }),
        h("option", { value: "false", text: gettext("No"), selected: op.value === false }));
      select.addEventListener("change", function () { op.value = select.value === "true"; onInput(); });
      wrap.appendChild(select);
    } else if (type === "ENUMERATION") {
      var options = (prop && prop.options) || [];
      var chosen = (op.values || []).map(function (v) { return String(v).toLowerCase(); });
      var box = h("span", { class: "lf-options", role: "group", "aria-label": gettext("Value") });
      var known = {};
      options.forEach(function (option) {
        known[String(option.value).toLowerCase()] = true;
        var checkbox = h("input", { type: "checkbox", value: option.value, checked: chosen.indexOf(String(option.value).toLowerCase()) >= 0 });
        checkbox.addEventListener("change", function () {
          var current = op.values || [];
          current = current.filter(function (v) { return String(v).toLowerCase() !== String(option.value).toLowerCase(); });
          if (checkbox.checked) current.push(option.value);
          op.values = current;
          onInput();
        });
        box.appendChild(h("label", { class: "lf-option" }, checkbox, " " + option.label));
      });
      // Values the schema no longer offers stay visible (and removable) rather than vanish.
      (op.values || []).forEach(function (value) {
        if (known[String(value).toLowerCase()]) return;
        var checkbox = h("input", { type: "checkbox", checked: true });
        checkbox.addEventListener("change", function () {
          op.values = (op.values || []).filter(function (v) { return v !== value; });
          onInput();
        });
        box.appendChild(h("label", { class: "lf-option lf-option-unknown" }, checkbox, " " + value));
      });
      wrap.appendChild(box);
    } else if (type === "DATETIME") {
      var withTime = prop && prop.type === "datetime";
      var picked = h("input", { type: withTime ? "datetime-local" : "date", "aria-label": gettext("Value"), class: "lf-date" });
      if (typeof op.timestamp === "number") {
        picked.value = new Date(op.timestamp).toISOString().slice(0, withTime ? 16 : 10);
      }
      picked.addEventListener("input", function () {
        // Dates are instants at midnight UTC (DESIGN §5); date-times are read as UTC too.
        var ms = picked.value ? Date.parse(picked.value + (withTime ? ":00Z" : "T00:00:00Z")) : NaN;
        op.timestamp = isNaN(ms) ? "" : ms;
        onInput();
      });
      wrap.appendChild(picked);
      if (withTime) wrap.appendChild(h("span", { class: "lf-unit", text: " " + gettext("UTC") }));
    } else if (type === "ROLLING_DATE_RANGE") {
      wrap.appendChild(numberInput("numberOfDays"));
      wrap.appendChild(h("span", { class: "lf-unit", text: " " + gettext("days ago") }));
    }
    return wrap;
  }

  function renderPropertyFilter(filter, row, meta, onStructure, onInput) {
    var prop = schemaByName[filter.property];
    var propButton = h("button", { type: "button", class: "lf-prop", title: filter.property },
      prop ? prop.label : interpolate(gettext("Unknown property “%(name)s”"), { name: filter.property || "?" }, true));
    propButton.addEventListener("click", function () {
      openPicker(propButton, function (item) {
        var replacement = filterFromPick(item);
        Object.keys(filter).forEach(function (k) { delete filter[k]; });
        Object.assign(filter, replacement);
        onStructure();
      });
    });
    row.appendChild(propButton);

    var keys = operatorKeys(prop);
    var current = opKey(filter.operation);
    if (current && keys.indexOf(current) < 0) keys.unshift(current);
    var select = h("select", { class: "lf-op", "aria-label": gettext("Operator") });
    keys.forEach(function (key) {
      select.appendChild(h("option", { value: key, text: operatorLabels[key] || key, selected: key === current }));
    });
    select.addEventListener("change", function () {
      filter.operation = operationFor(select.value, filter.operation);
      onStructure();
    });
    row.appendChild(select);
    row.appendChild(valueInputs(filter, prop, onInput));

    var op = filter.operation || {};
    if (op.operationType && op.operationType !== "ALL_PROPERTY") {
      var include = h("input", { type: "checkbox", checked: op.includeObjectsWithNoValueSet === true });
      include.addEventListener("change", function () { op.includeObjectsWithNoValueSet = include.checked; onInput(); });
      meta.appendChild(h("label", { class: "lf-novalue" }, include, " " + gettext("Include contacts with no value")));
    }
  }

  function renderListFilter(filter, row, meta, onStructure, onInput) {
    row.appendChild(h("span", { class: "lf-prop lf-prop-static", text: gettext("List membership") }));
    var operator = h("select", { class: "lf-op", "aria-label": gettext("Operator") });
    config.operators.list.forEach(function (choice) {
      operator.appendChild(h("option", { value: choice.operator, text: choice.label, selected: choice.operator === filter.operator }));
    });
    operator.addEventListener("change", function () { filter.operator = operator.value; onInput(); });
    row.appendChild(operator);
    var listSelect = h("select", { class: "lf-list", "aria-label": gettext("Choose a list") });
    var currentId = filter.listId === undefined || filter.listId === null ? "" : String(filter.listId);
    var found = false;
    if (!config.lists.length) listSelect.appendChild(h("option", { value: "", text: gettext("There are no other lists yet.") }));
    config.lists.forEach(function (lst) {
      if (lst.id === currentId) found = true;
      var label = lst.active ? lst.name : lst.name + " (" + gettext("Static") + ")";
      listSelect.appendChild(h("option", { value: lst.id, text: label, selected: lst.id === currentId }));
    });
    if (currentId && !found) listSelect.appendChild(h("option", { value: currentId, text: "#" + currentId, selected: true }));
    listSelect.addEventListener("change", function () { filter.listId = listSelect.value; onInput(); });
    row.appendChild(h("span", { class: "lf-value" }, listSelect));
  }

  function render() {
    closePicker();
    var container = document.getElementById("list-editor-groups");
    container.textContent = "";
    if (!state.filterBranches.length) {
      container.appendChild(h("p", { class: "lf-empty", text: gettext("No criteria yet: add a filter group to choose who is in this list.") }));
    }
    if (state.filters.length) {
      container.appendChild(h("p", { class: "lf-note", text: gettext("The criteria also hold top-level filters, kept as they are (edit them as JSON).") }));
    }
    state.filterBranches.forEach(function (group, gi) {
      if (gi > 0) container.appendChild(h("div", { class: "lf-or", text: gettext("or") }));
      var box = h("fieldset", { class: "lf-group", "data-group": String(gi) });
      var removeGroupLabel = gettext("Remove this group");
      var removeGroup = h("button", { type: "button", class: "lf-remove lf-remove-group", title: removeGroupLabel, "aria-label": removeGroupLabel, text: "×" });
      removeGroup.addEventListener("click", function () {
        state.filterBranches.splice(gi, 1);
        changed(true);
      });
      box.appendChild(h("legend", { class: "lf-group-title" }, interpolate(gettext("Group %(n)s"), { n: gi + 1 }, true)));
      box.appendChild(removeGroup);
      box.appendChild(h("div", { class: "lf-error lf-group-error", "data-group-error": String(gi) }));
      var filters = Array.isArray(group.filters) ? group.filters : (group.filters = []);
      filters.forEach(function (filter, fi) {
        if (fi > 0) box.appendChild(h("div", { class: "lf-and", text: gettext("and") }));
        var row = h("div", { class: "lf-filter", "data-group": String(gi), "data-filter": String(fi) });
        var line = h("div", { class: "lf-line" });
        var meta = h("div", { class: "lf-meta" });
        row.appendChild(line);
        var onStructure = function () { changed(true); };
        var onInput = function () { changed(false); };
        if (filter && filter.filterType === "IN_LIST") renderListFilter(filter, line, meta, onStructure, onInput);
        else if (filter && filter.filterType === "PROPERTY") renderPropertyFilter(filter, line, meta, onStructure, onInput);
        else line.appendChild(h("code", { class: "lf-raw", text: JSON.stringify(filter) }));
        var removeLabel = gettext("Remove this filter");
        var remove = h("button", { type: "button", class: "lf-remove", title: removeLabel, "aria-label": removeLabel, text: "×" });
        remove.addEventListener("click", function () {
          filters.splice(fi, 1);
          // A group with nothing left in it would be refused: it goes with its last filter.
          if (!filters.length && !(group.filterBranches || []).length) state.filterBranches.splice(gi, 1);
          changed(true);
        });
        line.appendChild(remove);
        meta.appendChild(h("span", { class: "lf-count", "data-count": "" }));
        row.appendChild(meta);
        row.appendChild(h("div", { class: "lf-error", "data-error": "" }));
        box.appendChild(row);
      });
      if ((group.filterBranches || []).length) {
        box.appendChild(h("p", { class: "lf-note", text: gettext("This group also holds nested branches, kept as they are (edit them as JSON).") }));
      }
      var add = h("button", { type: "button", class: "button lf-add-filter", text: gettext("+ Add filter") });
      add.addEventListener("click", function () {
        openPicker(add, function (item) {
          filters.push(filterFromPick(item));
          changed(true);
        });
      });
      box.appendChild(h("div", { class: "lf-group-actions" }, add));
      container.appendChild(box);
    });
  }

  // --- preview -------------------------------------------------------------------------------

  function schedulePreview() {
    clearTimeout(previewTimer);
    var body = document.getElementById("list-preview-body");
    body.classList.add("is-loading");
    previewTimer = setTimeout(runPreview, PREVIEW_DELAY_MS);
  }

  function clearDecorations() {
    document.querySelectorAll("#list-editor-groups [data-error], #list-editor-groups [data-group-error]").forEach(function (n) { n.textContent = ""; });
    document.querySelectorAll("#list-editor-groups [data-count]").forEach(function (n) { n.textContent = ""; });
    document.querySelectorAll("#list-editor-groups .has-error").forEach(function (n) { n.classList.remove("has-error"); });
    document.getElementById("list-editor-errors").textContent = "";
  }

  function showErrors(errors) {
    var general = document.getElementById("list-editor-errors");
    var unplaced = [];
    (errors || []).forEach(function (error) {
      var target = null;
      if (typeof error.group === "number" && typeof error.filter === "number") {
        var row = document.querySelector('.lf-filter[data-group="' + error.group + '"][data-filter="' + error.filter + '"]');
        if (row) { row.classList.add("has-error"); target = row.querySelector("[data-error]"); }
      } else if (typeof error.group === "number") {
        target = document.querySelector('[data-group-error="' + error.group + '"]');
        if (target) target.closest(".lf-group").classList.add("has-error");
      }
      if (target) target.appendChild(h("div", { text: error.message }));
      else unplaced.push(error.message);
    });
    if (unplaced.length) {
      general.appendChild(h("ul", { class: "errorlist" }, ...unplaced.map(function (m) { return h("li", { text: m }); })));
    }
  }

  function runPreview() {
    var seq = ++previewSeq;
    var body = document.getElementById("list-preview-body");
    var snapshot = JSON.stringify(state);
    if (!state.filterBranches.length && !state.filters.length) {
      clearDecorations();
      body.classList.remove("is-loading");
      body.textContent = "";
      body.appendChild(h("p", { class: "lp-muted", text: gettext("Add filters to see who would be in this list.") }));
      return;
    }
    var status = body.querySelector(".lp-status");
    if (status) status.textContent = gettext("Counting…");
    // Only the newest criteria matter: a request still running for older ones is dropped.
    if (previewAbort) previewAbort.abort();
    previewAbort = typeof AbortController === "function" ? new AbortController() : null;
    postJSON(config.previewUrl, { filter_branch: state, list_id: config.listId }, previewAbort && previewAbort.signal)
      .then(function (result) {
        if (seq !== previewSeq) return;
        body.classList.remove("is-loading");
        clearDecorations();
        body.textContent = "";
        var data = result.data || {};
        if (snapshot !== savedJson) {
          body.appendChild(h("p", { class: "lp-unsaved", text: gettext("Unsaved changes: the preview shows the criteria as edited, the list keeps its saved definition until you save.") }));
        }
        if (!data.ok) {
          // The messages themselves sit next to their filters (or above the groups).
          body.appendChild(h("p", { class: "lp-error", text: gettext("Fix the criteria marked in red to see a preview.") }));
          showErrors(data.errors || [{ message: gettext("The preview could not be computed.") }]);
          return;
        }
        var count = interpolate(ngettext("%(count)s contact matches", "%(count)s contacts match", data.total), { count: formatCount(data.total) }, true);
        body.appendChild(h("p", { class: "lp-count", id: "list-preview-count", "data-total": String(data.total), text: count }));
        if (data.contacts && data.contacts.length) {
          body.appendChild(h("h3", { text: gettext("First contacts") }));
          var people = h("ul", { class: "lp-contacts" });
          data.contacts.forEach(function (c) {
            people.appendChild(h("li", null, h("a", { href: c.url, target: "_blank", rel: "noopener", text: c.name }), c.email && c.email !== c.name ? h("div", { class: "lp-muted lp-email", text: c.email }) : null));
          });
          body.appendChild(people);
        } else {
          body.appendChild(h("p", { class: "lp-muted", text: gettext("No contact matches these criteria.") }));
        }
        (data.perFilter || []).forEach(function (entry) {
          var cell = document.querySelector('.lf-filter[data-group="' + entry.group + '"][data-filter="' + entry.filter + '"] [data-count]');
          if (cell) cell.textContent = interpolate(ngettext("%(count)s matches this filter", "%(count)s match this filter", entry.count), { count: formatCount(entry.count) }, true);
        });
      })
      .catch(function () {
        if (seq !== previewSeq) return;
        body.classList.remove("is-loading");
        body.textContent = "";
        body.appendChild(h("p", { class: "lp-error", text: gettext("The preview could not be computed.") }));
      });
  }

  // --- rename in place --------------------------------------------------------------------------

  function setupRename() {
    var title = document.getElementById("list-title");
    var button = document.getElementById("list-rename");
    var note = document.getElementById("list-rename-note");
    var nameInput = document.getElementById("id_name");
    if (!title || !button || !nameInput) return;
    var nameRow = nameInput.closest(".form-row");
    // The title is the name field; the plain field stays only when it carries an error.
    if (nameRow && !nameRow.querySelector(".errorlist")) nameRow.hidden = true;
    title.textContent = nameInput.value || title.textContent;

    button.addEventListener("click", function () {
      if (title.querySelector("input")) return;
      var previous = nameInput.value;
      var input = h("input", { type: "text", class: "list-title-input", value: previous, maxlength: "255", "aria-label": gettext("Rename") });
      title.textContent = "";
      title.appendChild(input);
      input.focus();
      input.select();
      var done = false;
      function finish(commit) {
        if (done) return;
        done = true;
        var name = input.value.trim();
        if (!commit || !name || name === previous) {
          title.textContent = previous;
          return;
        }
        title.textContent = name;
        nameInput.value = name;
        var url = title.getAttribute("data-rename-url");
        if (!url) return;
        postJSON(url, { name: name }).then(function (result) {
          if (result.data && result.data.ok) {
            title.textContent = result.data.name;
            var crumbs = document.querySelector(".breadcrumbs");
            if (crumbs && crumbs.lastChild && crumbs.lastChild.nodeType === Node.TEXT_NODE) {
              crumbs.lastChild.textContent = " \u203a " + result.data.name + "\n";
            }
            note.textContent = gettext("Renamed.");
            setTimeout(function () { note.textContent = ""; }, 3000);
          } else {
            title.textContent = previous;
            nameInput.value = previous;
            var errors = (result.data && result.data.errors) || [];
            note.textContent = errors.length ? errors[0].message : gettext("The list could not be renamed.");
          }
        }, function () {
          title.textContent = previous;
          nameInput.value = previous;
          note.textContent = gettext("The list could not be renamed.");
        });
      }
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); finish(true); }
        if (event.key === "Escape") { event.preventDefault(); finish(false); }
      });
      input.addEventListener("blur", function () { finish(true); });
    });
  }

  // --- processing status ----------------------------------------------------------------------

  function setupStatus() {
    var box = document.getElementById("list-status");
    if (!box || !box.getAttribute("data-status-url")) return;
    var url = box.getAttribute("data-status-url");
    var delay = 1000;
    function show(data) {
      var pill = document.getElementById("list-status-pill");
      var size = document.getElementById("list-status-size");
      var error = document.getElementById("list-status-error");
      box.setAttribute("data-status", data.status);
      pill.className = "list-pill list-pill-" + String(data.status).toLowerCase();
      pill.textContent = data.status === "PROCESSING" && data.progress
        // Translators: a list's processing status and how far it is, as in "Processing 40%".
        ? interpolate(gettext("%(status)s %(progress)s%"), { status: data.statusLabel, progress: data.progress }, true)
        : data.statusLabel;
      if (data.status === "COMPLETE") {
        size.textContent = interpolate(ngettext("%(count)s contact", "%(count)s contacts", data.size), { count: formatCount(data.size) }, true);
      } else if (data.status === "PROCESSING") {
        size.textContent = gettext("The list may take some time to process.");
      } else {
        size.textContent = "";
      }
      error.textContent = data.status === "FAILED" ? data.error : "";
    }
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          show(data);
          if (data.status === "PROCESSING") {
            delay = Math.min(delay * 1.5, 5000);
            setTimeout(poll, delay);
          }
        }, function () { setTimeout(poll, 5000); });
    }
    if (box.getAttribute("data-status") === "PROCESSING") setTimeout(poll, delay);
  }

  // --- start -------------------------------------------------------------------------------------

  function setupEditor() {
    var editor = document.getElementById("list-editor");
    var configNode = document.getElementById("list-editor-config");
    textarea = document.getElementById("id_filter_branch");
    if (!editor || !configNode || !textarea) return;
    config = JSON.parse(configNode.textContent);
    indexOperators();
    schemaByName = {};
    config.schema.forEach(function (prop) { schemaByName[prop.name] = prop; });

    var parsed = readTextarea();
    var jsonRow = textarea.closest(".form-row");
    var jsonToggle = document.getElementById("list-json-toggle");
    state = parsed || emptyRoot();
    savedJson = JSON.stringify(config.savedFilterBranch || emptyRoot());
    editor.hidden = false;
    // The textarea is the fallback and the "paste from HubSpot" door; shown when it holds
    // something the editor cannot read or carries a server error.
    var showJson = !parsed;
    function applyJsonVisibility() {
      if (jsonRow) jsonRow.hidden = !showJson;
      jsonToggle.textContent = showJson ? gettext("Hide JSON") : gettext("Edit as JSON");
    }
    jsonToggle.addEventListener("click", function () { showJson = !showJson; applyJsonVisibility(); });
    applyJsonVisibility();
    if (jsonRow && jsonRow.querySelector(".errorlist")) {
      // Put the server's refusal where the editor's own errors go too.
      editor.querySelector("#list-editor-errors").appendChild(jsonRow.querySelector(".errorlist").cloneNode(true));
    }
    textarea.addEventListener("input", function () {
      var next = readTextarea();
      var hint = jsonRow && jsonRow.querySelector(".lf-json-hint");
      if (next) {
        state = next;
        if (hint) hint.remove();
        render();
        schedulePreview();
      } else if (jsonRow && !hint) {
        textarea.insertAdjacentElement("afterend", h("p", { class: "errornote lf-json-hint", text: gettext("This is not valid JSON; the editor keeps the last valid criteria.") }));
      }
    });

    var addGroup = document.getElementById("list-add-group");
    addGroup.addEventListener("click", function () {
      openPicker(addGroup, function (item) {
        state.filterBranches.push({ filterBranchType: "AND", filters: [filterFromPick(item)], filterBranches: [] });
        changed(true);
      });
    });

    // On the add page the type can still change: a static list has no criteria to edit.
    var typeInputs = document.querySelectorAll("input[name=processing_type]");
    function applyType() {
      var checked = document.querySelector("input[name=processing_type]:checked");
      var isStatic = checked && checked.value === "MANUAL";
      editor.hidden = !!isStatic;
      if (jsonRow) jsonRow.hidden = isStatic || !showJson;
    }
    typeInputs.forEach(function (input) { input.addEventListener("change", applyType); });
    applyType();

    render();
    runPreview();
  }

  ready(function () {
    setupRename();
    setupEditor();
    setupStatus();
  });
})();
